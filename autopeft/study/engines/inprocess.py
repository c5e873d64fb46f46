"""The in-process engine: one trial at a time, in the study's own process (``--workers 1``, the default).

The worker (model and tokenised task) is built at the first trial and kept for the engine's life. Jobs run
in submission order when :meth:`InProcessEngine.wait` is called, so a search with this engine does exactly
what it did before engines existed: same order, same seeds, same numbers.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from autopeft.errors import EngineError
from autopeft.study.engines.base import Finished, Job, WorkerSpec, build_worker, run_job

if TYPE_CHECKING:
    from autopeft.runner.worker import Worker
    from autopeft.space import Space
    from autopeft.tasks import TaskData

__all__ = ["InProcessEngine"]


class InProcessEngine:
    """See the module docstring. ``data`` and ``space``, when the caller already has them, are not loaded again."""

    name = "inprocess"

    def __init__(self, spec: WorkerSpec, *, data: TaskData | None = None, space: Space | None = None,
                 worker: Worker | None = None) -> None:
        self.spec, self._data, self._space, self._worker = spec, data, space, worker
        self._queue: deque[Job] = deque()

    @property
    def slots(self) -> int:
        return 1

    @property
    def worker(self) -> Worker:
        """The worker, built on first use."""
        if self._worker is None:
            self._worker = build_worker(self.spec, self._data, self._space)
        return self._worker

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def wait(self) -> Finished:
        if not self._queue:
            raise EngineError("wait() with no job submitted")
        job = self._queue.popleft()
        worker = self.worker
        return Finished(job.number, run_job(worker, job, self.spec), f"in-process ({worker.device.type})")

    def cancel(self, number: int) -> None:
        self._queue = deque(j for j in self._queue if j.number != number)

    def close(self) -> None:
        self._queue.clear()

    def __enter__(self) -> InProcessEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
