"""The engine seam: where trials run. The study loop submits :class:`Job` s and waits for :class:`Finished` ones.

An engine runs up to :attr:`Engine.slots` trials at once and never touches the journal: the study process is
the journal's only writer, so an engine hands back records (a :class:`~autopeft.trial.TrialResult` per job)
and the loop journals them. A trial that goes wrong inside an engine (an exception, running out of memory, a
worker process that dies) comes back as a *failed* result with the reason, never as an exception; an engine
raises :class:`~autopeft.errors.EngineError` only when it cannot run trials at all.

The lifecycle::

    with make_engine("pool", spec, workers=2) as engine:     # workers start (model loaded once each)
        engine.submit(job)                                   # returns at once
        done = engine.wait()                                 # blocks until some submitted job finishes
        engine.cancel(number)                                # stop one (no Finished comes for it)
    # close(): workers stop; a parent killed with -9 takes them with it

:func:`run_job` is what every engine's worker does with a job: build, train, score, maybe save the adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from autopeft.study.recipe import Recipe
from autopeft.trial import Fidelity, TrialResult

if TYPE_CHECKING:
    from autopeft.runner.worker import Worker
    from autopeft.space import Space, SpaceSpec
    from autopeft.tasks import TaskData

__all__ = ["Engine", "Finished", "Job", "WorkerSpec", "build_worker", "failed", "run_job"]


@dataclass(frozen=True)
class Job:
    """One trial to run: the journal's trial number, what to train, and what else to do with it."""

    number: int
    config: Mapping[str, Any]
    fidelity: Fidelity
    seed: int
    in_space: bool = True          # False for reference points (full fine-tuning is no member of the space)
    test: bool = False             # also score the test split (finalize)
    save_to: str | None = None     # export the trained adapter to this folder (finalize, export)
    #: (fraction of the steps, bar): stop the trial after a partial validation score below its bar (search.prune)
    stop_below: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Finished:
    """A job's outcome, and where it ran (``in-process``, ``worker 2 (pid 4711, cuda:0)``, ...)."""

    number: int
    result: TrialResult
    where: str = ""


@runtime_checkable
class Engine(Protocol):
    """Where trials run; see the module docstring."""

    name: str

    @property
    def slots(self) -> int:
        """How many trials run at once."""
        ...

    def submit(self, job: Job) -> None:
        """Queue ``job``; it starts as soon as a slot is free."""
        ...

    def wait(self) -> Finished:
        """Block until a submitted job finishes; its outcome (a failed result if the trial or its worker died)."""
        ...

    def cancel(self, number: int) -> None:
        """Stop job ``number`` if it is queued or running; nothing is reported for it afterwards."""
        ...

    def close(self) -> None:
        """Stop every worker; jobs still running are abandoned (the journal keeps them as running)."""
        ...


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to serve trials of one study: the recipe (model, task, data, training) and the
    space, parsed; a worker process gets this and nothing else (it is pickled to it)."""

    recipe: Recipe
    space: SpaceSpec
    #: threads for torch in this worker (``None``: torch's default)
    threads: int | None = None
    #: the ``CUDA_VISIBLE_DEVICES`` entry this worker sees as its only GPU (``None``: as the process finds it)
    gpu: str | None = None
    #: the CPU cores this worker runs on (``None``: any)
    cores: tuple[int, ...] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


def build_worker(spec: WorkerSpec, data: TaskData | None = None, space: Space | None = None) -> Worker:
    """Load the model and the task once: a :class:`~autopeft.runner.worker.Worker` that checks configurations
    against the space resolved on its own model."""
    from autopeft.methods.checks import check_space
    from autopeft.runner.worker import Worker

    recipe = spec.recipe
    worker = Worker(recipe.model, data if data is not None else recipe.task_data(), recipe.training)
    worker.space = space if space is not None else check_space(spec.space, worker.graph, recipe.model).space
    return worker


def run_job(worker: Worker, job: Job, spec: WorkerSpec,
            on_partial: Callable[[float, float], None] | None = None) -> TrialResult:
    """Train and score ``job`` on ``worker``; export the adapter when the job asks (a failure to save fails it).

    ``on_partial(fraction, score)`` hears each point of the validation curve as it is scored."""
    on_trained = None
    if job.save_to is not None:
        target = job.save_to

        def on_trained(built: Any) -> None:
            from autopeft.study.export import export

            export(built, target, model_id=spec.recipe.model, configuration=dict(job.config), space=spec.space,
                   overwrite=True, task=worker.task, training=worker.training, tokenizer=worker.tokenizer)

    if job.stop_below:
        from autopeft.runner.worker import StopTrial

        bars, report = dict(job.stop_below), on_partial

        def on_partial(fraction: float, score: float) -> None:
            if report is not None:
                report(fraction, score)
            bar = bars.get(fraction)
            if bar is not None and score < bar:
                raise StopTrial(f"pruned at {fraction:.0%} of the steps: partial score {score:.4f} below the bar "
                                f"{bar:.4f} (it could not reach the front)")

    return worker.run(job.config, job.fidelity, job.seed, test=job.test, in_space=job.in_space,
                      on_trained=on_trained, on_partial=on_partial)


def failed(job: Job, reason: str, device: str = "cpu") -> TrialResult:
    """The record of a job that produced nothing (its worker died, it was never run)."""
    return TrialResult(config=dict(job.config), fidelity=job.fidelity, seed=job.seed, status="failed",
                       error=" ".join(reason.split()), device=device)
