"""The pool engine: N local worker processes, each loading the model and the task once and serving many trials.

- **CPU**: the cores this process may use are divided among the workers: each gets ``cores // N`` threads (at
  least 1), set before torch starts, and, when they fit, its own cores (CPU affinity), so workers do not
  trade places on the cores and thrash each other's caches.
- **CUDA**: workers are spread over the visible GPUs round-robin, at most ``workers_per_gpu`` on one (default:
  as few per GPU as the count allows); each worker sees only its GPU. A trial that runs out of GPU memory is
  a failed trial with that reason (the runner catches it), not a crash.
- **A worker that dies** (kill -9, the kernel's OOM killer, a segfault) costs only its trial: the trial comes
  back *failed* with the signal or exit code, a new worker takes its place, and the search goes on. It is
  not re-queued: a trial that killed its worker once would most likely do it again. A worker *stopped* from
  outside (SIGTERM or SIGINT, as a batch scheduler sends to a whole process group) is not the trial's fault:
  its trial runs again on the new worker, once. A worker whose CUDA context
  broke (an illegal memory access, a device-side assert) reports its trial failed, exits and is replaced.
- **Ctrl-C / close**: workers ignore SIGINT; the study stops them (``stop``, then SIGTERM, then SIGKILL).
  If the study process itself is killed with -9, each worker notices and exits (see
  :mod:`autopeft.study.engines.process`); the journal still has those trials as running, and ``--resume``
  runs them again.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import Any, TextIO

from autopeft.errors import EngineError
from autopeft.study.engines.base import Finished, Job, WorkerSpec, failed
from autopeft.trial import TrialResult

__all__ = ["DevicePlan", "PoolEngine", "plan_devices"]

#: A worker that dies this many times before it is ready stops the engine (the model cannot be served).
START_ATTEMPTS = 3
#: Seconds a worker gets to stop on its own before SIGTERM, and then before SIGKILL.
STOP_SECONDS = 5.0
#: Seconds of one wait for the workers' messages (the loop around it waits as long as it must).
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class DevicePlan:
    """Where each worker runs: its GPU (a ``CUDA_VISIBLE_DEVICES`` entry, or None on CPU), its CPU threads and,
    when every worker gets cores of its own, those cores."""

    gpus: tuple[str | None, ...]
    threads: int
    notes: tuple[str, ...] = ()
    cores: tuple[tuple[int, ...], ...] | None = None


def _usable_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def plan_devices(device: str, workers: int, workers_per_gpu: int | None = None, *,
                 gpu_count: int | None = None, cores: int | None = None) -> DevicePlan:
    """Spread ``workers`` over the GPUs ``device`` allows (``auto``/``cuda``: the visible ones) or the CPU cores.

    ``gpu_count`` and ``cores`` default to what this machine has (given, they make the plan testable).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise EngineError(f"workers must be an integer >= 1, got {workers!r}")
    if workers_per_gpu is not None and (isinstance(workers_per_gpu, bool) or not isinstance(workers_per_gpu, int)
                                        or workers_per_gpu < 1):
        raise EngineError(f"workers per GPU must be an integer >= 1, got {workers_per_gpu!r}")
    ids = _usable_cores() if cores is None else list(range(cores))
    cores = len(ids)
    threads = max(1, cores // workers)
    own = tuple(tuple(ids[i * threads:(i + 1) * threads]) for i in range(workers)) if workers <= cores else None
    notes: list[str] = []
    if gpu_count is None:
        gpu_count = 0
        if device != "cpu":
            import torch

            gpu_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "cpu" or gpu_count == 0:
        if device == "cuda":
            raise EngineError("training.device is 'cuda' but no CUDA device is visible; allowed here: auto, cpu")
        if workers_per_gpu is not None:
            notes.append(f"--workers-per-gpu {workers_per_gpu} ignored: the workers run on the CPU")
        if workers > cores:
            notes.append(f"{workers} workers share {cores} CPU cores: each gets 1 thread, and they compete")
        return DevicePlan((None,) * workers, threads, tuple(notes), own)
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    gpu_ids = visible[:gpu_count] if len(visible) >= gpu_count else [str(i) for i in range(gpu_count)]
    per_gpu = workers_per_gpu if workers_per_gpu is not None else math.ceil(workers / gpu_count)
    if workers > gpu_count * per_gpu:
        raise EngineError(f"{workers} workers do not fit on {gpu_count} GPU(s) with at most {per_gpu} per GPU; "
                          f"allowed: --workers <= {gpu_count * per_gpu}, or raise --workers-per-gpu")
    return DevicePlan(tuple(gpu_ids[i % gpu_count] for i in range(workers)), threads, tuple(notes), own)


#: What a worker process runs (see :mod:`autopeft.study.engines.process`).
WORKER_CODE = "from autopeft.study.engines.process import main; main()"


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen[bytes]
    conn: Connection
    job: Job | None = None
    ready: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    start_failures: int = 0

    @property
    def where(self) -> str:
        device = self.info.get("device", "?")
        return f"worker {self.index} (pid {self.process.pid}, {device})"


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (killed: by hand, or by the kernel when memory ran out)" if -exitcode == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"it exited with code {exitcode}"


class PoolEngine:
    """See the module docstring. ``log`` gets one line per worker start, death and note."""

    name = "pool"

    def __init__(self, spec: WorkerSpec, *, workers: int, workers_per_gpu: int | None = None,
                 log: TextIO | None = None, plan: DevicePlan | None = None) -> None:
        self.spec, self.log = spec, log if log is not None else sys.stderr
        self.plan = plan or plan_devices(spec.recipe.training.device, workers, workers_per_gpu)
        for note in self.plan.notes:
            self._say(f"note: {note}")
        self._queue: deque[Job] = deque()
        self._finished: deque[Finished] = deque()
        self._slots: list[_Slot] = []
        self._requeued: set[int] = set()       # trials whose worker was stopped from outside: run again once
        try:
            for i in range(len(self.plan.gpus)):
                self._slots.append(self._start(i))
        except BaseException:
            self.close()
            raise

    # ---- the protocol ------------------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        return len(self._slots)

    def submit(self, job: Job) -> None:
        self._queue.append(job)
        self._dispatch()

    def wait(self) -> Finished:
        while not self._finished:
            if not self._queue and not any(s.job for s in self._slots):
                raise EngineError("wait() with no job submitted")
            self._dispatch()
            self._pump()
        return self._finished.popleft()

    def wait_ready(self) -> None:
        """Block until every worker has loaded its model (benchmarks time trials, not start-up, after this)."""
        while not all(slot.ready for slot in self._slots):
            self._pump()

    def _pump(self) -> None:
        """Handle the messages (and deaths) of every worker that has something to say."""
        handles = {slot.conn: slot for slot in self._slots}  # a worker that dies closes its end: EOF
        # in short waits, so that a Ctrl-C (or any signal handler) is acted on at once, whatever the platform
        for ready in wait(list(handles), timeout=POLL_SECONDS):
            slot = handles[ready]  # type: ignore[index]
            if slot is self._slots[slot.index]:
                self._receive(slot)

    def cancel(self, number: int) -> None:
        self._queue = deque(j for j in self._queue if j.number != number)
        for slot in self._slots:
            if slot.job is not None and slot.job.number == number:
                slot.job = None
                self._stop(slot, hard=True)
                self._slots[slot.index] = self._start(slot.index)
        self._finished = deque(f for f in self._finished if f.number != number)

    def close(self) -> None:
        self._queue.clear()
        for slot in self._slots:
            self._stop(slot, hard=False)
        self._slots = []

    def __enter__(self) -> PoolEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def workers(self) -> list[dict[str, Any]]:
        """Each worker's index, pid, device, threads, readiness and running trial (for progress and tests)."""
        return [{"index": s.index, "pid": s.process.pid, "ready": s.ready, "trial": s.job.number if s.job else None,
                 **s.info} for s in self._slots]

    # ---- workers -----------------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.log.write(f"  [pool] {text}\n")
        self.log.flush()

    def _start(self, index: int, start_failures: int = 0) -> _Slot:
        spec = replace(self.spec, gpu=self.plan.gpus[index], threads=self.plan.threads,
                       cores=self.plan.cores[index] if self.plan.cores else None)
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        # the worker imports what this process imports (a source tree, a notebook's path)
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        if spec.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = spec.gpu
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(spec.threads)
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER_CODE, str(theirs.fileno()), str(index), str(os.getpid())],
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL, stdout=_stderr_fd(),
                close_fds=True)
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        with contextlib.suppress(BrokenPipeError, OSError):  # if it died at once, wait() sees the closed socket
            conn.send(spec)
        return _Slot(index, process, conn, start_failures=start_failures)

    def _dispatch(self) -> None:
        for slot in self._slots:
            if slot.ready and slot.job is None and self._queue:
                job = self._queue.popleft()
                slot.job = job
                with contextlib.suppress(BrokenPipeError, OSError):  # if it died, its closed socket fails the job
                    slot.conn.send(("run", job))

    def _receive(self, slot: _Slot) -> None:
        try:
            message = slot.conn.recv()
        except (EOFError, OSError):
            self._died(slot)
            return
        kind = message[0]
        if kind == "ready":
            slot.ready, slot.info = True, dict(message[1])
            self._say(f"{slot.where} ready in {slot.info.get('start_seconds', '?')} s, "
                      f"{slot.info.get('threads', '?')} thread(s)")
        elif kind == "done":
            job, slot.job = slot.job, None
            number = int(message[1])
            if job is not None and job.number == number:
                self._finished.append(Finished(number, TrialResult.from_dict(message[2]), slot.where))
        elif kind == "init_failed":
            text = str(message[1])
            self.close()
            raise EngineError(f"a worker could not start: {text}")
        self._dispatch()

    def _died(self, slot: _Slot) -> None:
        try:
            slot.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:  # its socket closed but it lives on: make sure it is gone
            slot.process.kill()
            slot.process.wait(timeout=STOP_SECONDS)
        reason = _death(slot.process.returncode)
        slot.conn.close()
        stopped = slot.process.returncode in (-signal.SIGTERM, -signal.SIGINT)
        if slot.job is not None and stopped and slot.job.number not in self._requeued:
            # stopped from outside (a SIGTERM to the process group, `kill PID`): not the trial's fault, so it
            # runs again on the new worker, once; when the study itself is being stopped it unwinds first
            job, failures = slot.job, 0
            self._requeued.add(job.number)
            self._queue.appendleft(job)
            self._say(f"{slot.where} was stopped ({reason}) running trial {job.number}; it runs again on a new "
                      "worker")
        elif slot.job is not None:
            job = slot.job
            self._finished.append(Finished(job.number, failed(
                job, f"worker {slot.index} (pid {slot.process.pid}) died while running trial {job.number}: {reason}",
                str(slot.info.get("device", "cpu")).split(":")[0]), slot.where))
            self._say(f"{slot.where} died running trial {job.number}: {reason}; starting a new worker")
            failures = 0
        else:
            failures = slot.start_failures + (0 if slot.ready else 1)
            self._say(f"{slot.where} died {'while starting' if not slot.ready else 'idle'}: {reason}")
            if failures >= START_ATTEMPTS:
                self.close()
                raise EngineError(f"worker {slot.index} died {failures} times before it was ready ({reason}); "
                                  "the model cannot be served here (not enough memory?)")
        self._slots[slot.index] = self._start(slot.index, failures)

    def _stop(self, slot: _Slot, *, hard: bool) -> None:
        process = slot.process
        if process.poll() is None and not hard:
            with contextlib.suppress(BrokenPipeError, OSError):
                slot.conn.send(("stop",))
            _wait(process, STOP_SECONDS if slot.job is None else 0.5)
        if process.poll() is None:
            process.terminate()
            _wait(process, STOP_SECONDS)
        if process.poll() is None:
            process.kill()
            _wait(process, STOP_SECONDS)
        slot.conn.close()


def _wait(process: subprocess.Popen[bytes], seconds: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=seconds)


def _stderr_fd() -> int | None:
    """Workers print to this process's stderr (their stdout too, so ``autopeft ... | tool`` stays clean)."""
    try:
        return sys.__stderr__.fileno() if sys.__stderr__ is not None else None
    except (OSError, ValueError):
        return None
