"""Engines: where a study's trials run, behind one protocol (:class:`~autopeft.study.engines.base.Engine`).

Registered by name (:func:`make_engine`):

- ``inprocess`` — one trial at a time in the study's process (the default for ``--workers 1``);
- ``pool`` — N local worker processes, each loading the model once (the default for ``--workers N > 1``);
- ``nni`` — an NNI experiment whose tuner is the study (:mod:`autopeft.study.engines.nni`): NNI's training
  services run the trials, NNI's web UI shows them; needs ``pip install "autopeft[nni]"``.

A new engine is a class with ``submit / wait / cancel / close`` and ``slots``, and one
:func:`register_engine` line. Importing this package imports neither torch nor nni.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TextIO

from autopeft.errors import EngineError
from autopeft.study.engines.base import Engine, Finished, Job, WorkerSpec, build_worker, run_job

__all__ = ["Engine", "Finished", "Job", "WorkerSpec", "build_worker", "check_engine_workers", "default_engine",
           "engine_names", "make_engine", "register_engine", "run_job"]

EngineFactory = Callable[..., Engine]
_REGISTRY: dict[str, EngineFactory] = {}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make ``factory(spec, workers=..., workers_per_gpu=..., data=..., space=..., log=..., options=...)``
    available by name; ``options`` holds what only some engines use (the run folder, NNI's settings)."""
    if name in _REGISTRY and _REGISTRY[name] is not factory:
        raise ValueError(f"engine {name!r} is already registered")
    _REGISTRY[name] = factory


def engine_names() -> list[str]:
    return sorted(_REGISTRY)


def default_engine(workers: int) -> str:
    """``inprocess`` for one worker (reproducible as a plain loop), ``pool`` for more."""
    return "inprocess" if workers == 1 else "pool"


def make_engine(name: str | None, spec: WorkerSpec, *, workers: int = 1, workers_per_gpu: int | None = None,
                data: Any = None, space: Any = None, log: TextIO | None = None,
                options: Mapping[str, Any] | None = None) -> Engine:
    """An engine by registered name (``None``: :func:`default_engine`); unknown names list the allowed ones.

    ``options``: ``run`` (the run folder), ``objective`` (the first objective's name) and ``nni``
    (:class:`~autopeft.study.engines.nni.settings.NniSettings`), for the engines that need them."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise EngineError(f"--workers must be an integer >= 1, got {workers!r}")
    name = name or default_engine(workers)
    if name not in _REGISTRY:
        raise EngineError(f"unknown engine {name!r}; allowed: {', '.join(engine_names())}")
    return _REGISTRY[name](spec, workers=workers, workers_per_gpu=workers_per_gpu, data=data, space=space, log=log,
                           options=dict(options or {}))


def check_engine_workers(name: str, workers: int) -> None:
    """A worker count the engine cannot run refused in one line (``inprocess`` runs one trial at a time); called
    before anything is written, and by the engine's factory."""
    if name == "inprocess" and workers != 1:
        raise EngineError(f"engine 'inprocess' runs one trial at a time, got --workers {workers}; allowed: "
                          "--workers 1, or --engine pool")


def _inprocess(spec: WorkerSpec, *, workers: int, workers_per_gpu: int | None, data: Any, space: Any,
               log: TextIO | None, options: Mapping[str, Any]) -> Engine:
    from autopeft.study.engines.inprocess import InProcessEngine

    check_engine_workers("inprocess", workers)
    if workers_per_gpu is not None and log is not None:  # said, as the pool says it on the CPU
        log.write(f"  --workers-per-gpu {workers_per_gpu} ignored: one trial at a time runs in this process "
                  "(--workers N > 1 shares GPUs among N worker processes)\n")
    return InProcessEngine(spec, data=data, space=space)


def _pool(spec: WorkerSpec, *, workers: int, workers_per_gpu: int | None, data: Any, space: Any,
          log: TextIO | None, options: Mapping[str, Any]) -> Engine:
    from autopeft.study.engines.pool import PoolEngine

    return PoolEngine(spec, workers=workers, workers_per_gpu=workers_per_gpu, log=log)


def _nni(spec: WorkerSpec, *, workers: int, workers_per_gpu: int | None, data: Any, space: Any,
         log: TextIO | None, options: Mapping[str, Any]) -> Engine:
    from pathlib import Path

    from autopeft.study.engines.nni import require_nni
    from autopeft.study.engines.nni.settings import NniSettings

    require_nni()
    from autopeft.study.engines.nni.engine import NniEngine

    if options.get("run") is None:
        raise EngineError("engine 'nni' needs the run folder (it keeps NNI's experiment there)")
    objective = str(options.get("objective") or spec.recipe.search.objectives[0])
    return NniEngine(spec, workers=workers, workers_per_gpu=workers_per_gpu, run=Path(options["run"]),
                     settings=options.get("nni") or NniSettings(), objective=objective, log=log)


register_engine("inprocess", _inprocess)
register_engine("pool", _pool)
register_engine("nni", _nni)
