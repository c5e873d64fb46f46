"""The worker process of the pool engine: load the model and the task once, then serve trials until told to stop.

The pool starts it as a fresh interpreter, ``python -c "...; main()" FD INDEX PARENT_PID``, with one end of a
socket pair as file descriptor FD; it never imports the study's ``__main__`` (so a script or a notebook
without an ``if __name__ == "__main__"`` guard is safe, unlike ``multiprocessing``'s spawn). It ignores
Ctrl-C (the study stops it), it dies with the study (``PR_SET_PDEATHSIG`` on Linux, and a watchdog thread
that notices a new parent anywhere), and it sees only the GPU and the CPU threads the pool gave it, set in
its environment before torch starts.

Messages, pickled over the socket — from the study: the :class:`WorkerSpec` first, then ``("run", Job)``
and ``("stop",)``; to the study: ``("ready", info)``, ``("init_failed", text)``, ``("done", number,
result_as_dict)``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from autopeft.study.engines.base import WorkerSpec, build_worker, run_job

__all__ = ["main", "serve"]

_PR_SET_PDEATHSIG = 1
#: Seconds between the watchdog's looks at the parent.
WATCH_SECONDS = 0.5
#: Errors after which a worker's CUDA context cannot run another trial (out of memory is not one of them).
FATAL = ("CUDA error", "device-side assert", "CUBLAS_STATUS", "cuDNN error")


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # without it, the watchdog below still notices
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="autopeft-parent-watch", daemon=True).start()


def _limit_threads(threads: int | None) -> None:
    if threads is None:
        return
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


def main() -> None:
    """``python -c "from autopeft.study.engines.process import main; main()" FD INDEX PARENT_PID``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd, index, parent_pid = (int(a) for a in sys.argv[1:4])
    _die_with_parent(parent_pid)
    conn = Connection(fd)
    try:
        spec = conn.recv()
    except (EOFError, OSError):
        return
    serve(conn, spec, index)


def serve(conn: Connection, spec: WorkerSpec, index: int) -> None:
    """Load the worker, say ``ready``, then run each job sent until ``stop`` or the study goes away."""
    if spec.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = spec.gpu
    _limit_threads(spec.threads)
    if spec.cores and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, spec.cores)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    start = time.perf_counter()
    try:
        import torch

        if spec.threads is not None:
            torch.set_num_threads(spec.threads)
        worker = build_worker(spec)
    except BaseException as exc:  # whatever stops a worker from starting is reported, in one line
        text = str(exc) if getattr(exc, "__module__", "").startswith("autopeft") else (
            f"{type(exc).__name__}: {exc} ({traceback.extract_tb(exc.__traceback__)[-1].name})")
        _send(conn, ("init_failed", " ".join(text.split())))
        return
    info: dict[str, Any] = {"pid": os.getpid(), "device": str(worker.device), "threads": torch.get_num_threads(),
                            "cores": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                            "gpu": spec.gpu, "start_seconds": round(time.perf_counter() - start, 2)}
    _send(conn, ("ready", info))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the study went away
        if message[0] == "stop":
            return
        job = message[1]
        result = run_job(worker, job, spec)
        if not _send(conn, ("done", job.number, result.to_dict())):
            return
        if result.error and any(mark in result.error for mark in FATAL):
            return  # the CUDA context is broken: end this worker, the pool starts a fresh one


def _send(conn: Connection, message: tuple[Any, ...]) -> bool:
    try:
        conn.send(message)
        return True
    except (BrokenPipeError, EOFError, OSError):
        return False
