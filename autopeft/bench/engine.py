"""The table engine: an :class:`~autopeft.study.engines.base.Engine` that answers trials from a PEFT-Bench table.

A replay is a search whose engine is this one: the study loop, the journal (in memory) and the scheduler are
the ones a real search runs; only the training is replaced by a lookup. Each job is answered, at its own
fidelity, by the row of one of the table's training seeds, drawn by ``noise`` when the job is submitted, so
the search sees real seed-to-seed noise.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np

from autopeft.bench.table import Measurement, Table
from autopeft.errors import EngineError
from autopeft.study.engines.base import Finished, Job
from autopeft.trial import TrialResult

__all__ = ["TableEngine", "row_result"]


def row_result(job: Job, row: Measurement) -> TrialResult:
    """A table row as the trial record a worker would have returned."""
    metrics = {k: float(v) for k, v in row.metrics.items()}
    params = None if row.trainable_params is None or not math.isfinite(row.trainable_params) else int(
        row.trainable_params)
    total = None if row.total_params is None or not math.isfinite(row.total_params) else int(row.total_params)
    if row.ok:
        return TrialResult(config=dict(job.config), fidelity=job.fidelity, seed=job.seed, status="complete",
                           metrics=metrics, trainable_params=params, total_params=total, steps=job.fidelity.steps,
                           device="table")
    return TrialResult(config=dict(job.config), fidelity=job.fidelity, seed=job.seed, status="failed",
                       error=row.error or f"the table's row is {row.state}", trainable_params=params,
                       total_params=total, device="table")


class TableEngine:
    """See the module docstring. ``answered(job, row)`` is called for each answer (a hook for scorers)."""

    name = "table"

    def __init__(self, table: Table, noise: np.random.Generator,
                 answered: Callable[[Job, Measurement], None] | None = None) -> None:
        self.table, self.noise, self.answered = table, noise, answered
        self._done: deque[Finished] = deque()

    @property
    def slots(self) -> int:
        return 1

    def submit(self, job: Job) -> None:
        entry = self.table.entry(job.config, job.fidelity.steps)  # a configuration the table lacks: TableError
        row = entry.rows[int(self.noise.integers(len(entry.rows)))]
        if self.answered is not None:
            self.answered(job, row)
        self._done.append(Finished(job.number, row_result(job, row), "table"))

    def wait(self) -> Finished:
        if not self._done:
            raise EngineError("wait() with no job submitted")
        return self._done.popleft()

    def cancel(self, number: int) -> None:
        self._done = deque(f for f in self._done if f.number != number)

    def close(self) -> None:
        self._done.clear()
