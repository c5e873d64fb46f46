"""A search: the reference points, then the controller's proposals, through an engine, until the budget is spent.

``run_search`` starts a run (checks the recipe against the model, writes the journal) or resumes one
(interrupted trials go back to waiting and run first; nothing completed runs again), then drives
:func:`autopeft.study.loop.run_loop` with the :class:`~autopeft.study.loop.Proposals` scheduler. Trials run
in the engine ``workers`` asks for: in this process for 1, in a pool of worker processes for more. What is
done with the front afterwards (pick, finalize, export) lives in :mod:`autopeft.study.finalize`.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from autopeft.controllers.transfer import Prior
from autopeft.errors import ConfigError, check_count, check_seed
from autopeft.objectives import PARAMS, objectives_of
from autopeft.study.asha import Asha
from autopeft.study.context import SearchContext, make_context, require_weights
from autopeft.study.engines import Finished, Job, check_engine_workers, default_engine
from autopeft.study.journal import Journal, JournalError, Trial
from autopeft.study.loop import LoopState, Proposals, run_loop, search_job
from autopeft.study.progress import Progress
from autopeft.study.provenance import Moved, check_model_folder, portable_path, provenance, run_recipe
from autopeft.study.pruning import check_prune, may_stop, stop_bars
from autopeft.study.recipe import Recipe
from autopeft.study.status import warm_start_lines

if TYPE_CHECKING:
    from autopeft.study.engines.nni.settings import NniSettings

__all__ = ["TrialCallback", "check_search", "default_out", "make_context", "run_search", "start_search"]

#: Called with every trial as it is journaled finished (the Python API's per-trial callback).
TrialCallback = Callable[[Trial], None]
#: Reads a warm start's sources over a search's space (:func:`autopeft.bench.warm_start.load_prior`).
PriorLoader = Callable[[Sequence[str], Any, Sequence[Any]], Prior]


def check_engine(name: str | None) -> None:
    """A one-line error for an engine name that is not registered (before anything is written)."""
    from autopeft.study.engines import engine_names

    if name is not None and name not in engine_names():
        raise ConfigError(f"unknown engine {name!r}; allowed: {', '.join(engine_names())}")


def default_out(recipe_name: str) -> Path:
    """``runs/<recipe>-<date>-<time>``: where a search goes when no folder is given."""
    return Path("runs") / f"{recipe_name}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_search(recipe: Recipe | None, out: Path, *, budget: int | None = None, controller: str | None = None,
               seed: int | None = None, resume: bool = False, stream: TextIO | None = None, workers: int | None = None,
               engine: str | None = None, workers_per_gpu: int | None = None,
               callbacks: tuple[TrialCallback, ...] = (), nni: NniSettings | None = None,
               warm_start: Sequence[str] = (), load_prior: PriorLoader | None = None,
               moved: Moved | None = None) -> Journal:
    """Run (or resume) a search to its budget; returns the (closed) journal.

    ``workers``, ``engine`` and ``workers_per_gpu`` default to the recipe's ``search:`` settings; they say
    where trials run, not what the study is, so a resumed search may change them (``nni``: the NNI
    engine's port, host and training-service file). A resumed search takes its recipe, controller and seed
    from the journal: giving them is refused (:func:`check_resume`); a larger ``budget`` extends it; ``moved`` says
    where its model folder and data file are now, when they moved (:class:`~autopeft.study.provenance.Moved`).

    ``warm_start``: earlier runs or tables whose observations ``bo``'s surrogate starts from (read by
    ``load_prior``, :func:`autopeft.bench.warm_start.load_prior`, which the caller passes in: this floor does
    not read tables). They do not count against the budget; the journal keeps their paths, so a resumed search
    reads them again.
    """
    stream = stream or sys.stderr
    for name, value in (("--budget", budget), ("--workers", workers), ("--workers-per-gpu", workers_per_gpu)):
        check_count(name, value)
    check_engine(engine)
    if not resume and recipe is not None:
        check_placement(recipe, engine=engine, workers=workers, workers_per_gpu=workers_per_gpu, nni=nni)
    if resume:
        check_resume(recipe=recipe is not None, controller=controller, seed=seed, warm_start=bool(warm_start))
        journal = Journal.open(out)
        try:
            recipe = run_recipe(journal, moved)
            if (engine or recipe.search.engine) != "nni":  # NNI's trials may run where the weights are
                check_model_folder(recipe, journal.meta("provenance"))
                require_weights(recipe.model)
            check_placement(recipe, engine=engine, workers=workers, workers_per_gpu=workers_per_gpu, nni=nni)
            settings = journal.meta("settings")
            if budget is not None:
                settings["budget"] = resume_budget(budget, settings, journal)
                journal.set_meta("settings", settings)
            ctx = make_context(recipe)
            prior = read_prior(ctx, settings, load_prior)
        except BaseException:
            journal.close()
            raise
    else:
        if recipe is None:
            raise ConfigError("a new search needs a recipe")
        journal, ctx, settings, prior = start_search(recipe, out, budget=budget, controller=controller, seed=seed,
                                                     warm_start=warm_start, load_prior=load_prior,
                                                     weights_here=(engine or recipe.search.engine) != "nni")
    try:
        with session(journal):
            _search(ctx, journal, settings, stream, workers=workers, engine=engine, workers_per_gpu=workers_per_gpu,
                    callbacks=callbacks, nni=nni, prior=prior)
    finally:
        journal.close()
    return journal


@contextmanager
def session(journal: Journal) -> Iterator[None]:
    """Journal when this process searched (meta ``sessions``: a ``start`` and, unless it was killed, an ``end``
    per search or resume), so that the report's wall time leaves out the time a run sat stopped."""
    sessions, start = list(journal.meta("sessions") or []), time.time()
    journal.set_meta("sessions", [*sessions, {"start": start, "end": None}])
    try:
        yield
    finally:
        with suppress(JournalError):  # never hide why the search stopped
            journal.set_meta("sessions", [*sessions, {"start": start, "end": time.time()}])


#: What a resumed search may change: where its trials run, and how many it has in all.
RESUME_OPTIONS = ("--budget, --workers, --workers-per-gpu, --engine, --nni-port, --nni-host, --nni-config, and "
                  "--model, --data (where a moved model folder and data file are now)")


def check_placement(recipe: Recipe, *, engine: str | None = None, workers: int | None = None,
                    workers_per_gpu: int | None = None, nni: NniSettings | None = None) -> tuple[str, int]:
    """Before anything is written, and in a dry run: where the trials would run. The engine (the command line's,
    else the recipe's, else by the worker count), its worker counts and NNI's options, each refused in one line;
    returns the engine's name and worker count."""
    for flag, value in (("--workers", workers), ("--workers-per-gpu", workers_per_gpu)):
        check_count(flag, value)
    count = recipe.search.workers if workers is None else workers
    name = engine or recipe.search.engine
    check_engine(name)
    check_engine_options(name, nni)
    name = name or default_engine(count)
    check_engine_workers(name, count)
    return name, count


def check_engine_options(engine: str | None, nni: NniSettings | None) -> None:
    """Before anything is written: NNI's options need the NNI engine, and the NNI engine needs nni installed,
    its ``--nni-config`` readable and its port free (each refused in one line)."""
    if engine != "nni":
        if nni is not None:
            raise ConfigError(f"--nni-port, --nni-host and --nni-config need --engine nni (the engine is "
                              f"{engine or 'chosen by --workers'!s}); allowed: add --engine nni, or drop them")
        return
    from autopeft.study.engines.nni import require_nni
    from autopeft.study.engines.nni.settings import NniSettings, check_port, read_nni_config

    require_nni()
    settings = nni or NniSettings()
    if settings.config is not None:
        read_nni_config(settings.config)
    check_port(settings.port, settings.host)


def check_resume(**given: object) -> None:
    """Refuse, naming it, an option a resumed search cannot apply (the run's recipe, controller and seed
    are journaled; changing them mid-run would make a different study)."""
    for option, value in given.items():
        if value is not None and value is not False:
            flag = "RECIPE" if option == "recipe" else f"--{option.replace('_', '-')}"
            what = "data sizes" if option.startswith("n_") else option.replace("_", " ")
            raise ConfigError(f"{flag} cannot be given with --resume: the run keeps the {what} "
                              f"it started with; allowed with --resume: {RESUME_OPTIONS}")


def resume_budget(budget: int, settings: Mapping[str, Any], journal: Journal) -> int:
    """A resumed search's new budget: at least one, and not below the trials the run already has."""
    check_count("--budget", budget)
    have = len(journal.trials())
    if budget < have:
        raise ConfigError(f"--budget {budget} is below the {have} trials the run already has "
                          f"(its budget is {settings['budget']}); allowed: {have} or more")
    return budget


def start_search(recipe: Recipe, out: Path, *, budget: int | None = None, controller: str | None = None,
                 seed: int | None = None, warm_start: Sequence[str] = (), load_prior: PriorLoader | None = None,
                 weights_here: bool = True) -> tuple[Journal, SearchContext, dict[str, Any], Prior | None]:
    """Check ``recipe`` and write a new run's journal (no trial yet): the open journal, the context, the
    settings and the warm start's prior (``None`` without one).

    The journal holds the recipe resolved (overrides included) with its space text, and the run's
    provenance (:mod:`autopeft.study.provenance`), so the run folder no longer needs the recipe or space file.
    ``weights_here``: refuse a model whose weights this machine cannot load (:func:`require_weights`).
    """
    recipe, ctx, settings, prior, ctl = check_search(recipe, budget=budget, controller=controller, seed=seed,
                                                     warm_start=warm_start, load_prior=load_prior,
                                                     weights_here=weights_here, out=out)
    made_from = provenance(recipe)
    meta = {"provenance": made_from, "settings": settings, "started": time.time(),
            **({"warm_start": prior.describe(), "warm_start_trials": ctl.prior_span} if prior is not None else {})}
    journal = Journal.create(out, recipe.to_dict(), meta=meta)  # one transaction: a kill cannot leave a run half-made
    return journal, ctx, settings, prior


def check_search(recipe: Recipe, *, budget: int | None = None, controller: str | None = None,
                 seed: int | None = None, warm_start: Sequence[str] = (), load_prior: PriorLoader | None = None,
                 weights_here: bool = True, out: Path | None = None) -> tuple[Recipe, SearchContext, dict[str, Any],
                                                                            Prior | None, Any]:
    """Every check a new search makes before it writes anything, and what they build: the recipe as journaled,
    the context, the settings, the warm start's prior and the controller. ``out``: the run folder, refused here
    when it holds a run, before the model loads (``None`` for ``--dry-run``, which writes nothing)."""
    from autopeft.controllers.base import check_controller_name

    settings: dict[str, Any] = {
        "budget": recipe.search.budget if budget is None else budget,
        "controller": controller or recipe.search.controller,
        "seed": recipe.seed if seed is None else seed, "objectives": list(recipe.search.objectives)}
    if warm_start:
        settings["warm_start"] = [portable_path(str(p)) for p in warm_start]
    check_count("--budget", settings["budget"])
    check_seed("--seed", settings["seed"])
    if recipe.search.prune:
        check_prune(objectives_of(settings["objectives"]))
    objectives_of(settings["objectives"])
    check_controller_name(settings["controller"])
    check_engine(recipe.search.engine)
    recipe = portable(recipe.with_space_text())
    if out is not None:
        Journal.check_new(out)  # before the model loads
    ctx = make_context(recipe)  # fails on a space that does not fit the model before anything is written
    if weights_here:  # (not for NNI, whose trials may run on machines that have the weights)
        require_weights(recipe.model, ctx.data.task, recipe.training)
    prior = read_prior(ctx, settings, load_prior)
    ctl = make_controller(ctx, settings, prior)  # fails on bad controller options before anything is written
    return recipe, ctx, settings, prior, ctl


def read_prior(ctx: SearchContext, settings: Mapping[str, Any], load_prior: PriorLoader | None) -> Prior | None:
    """The warm start the settings name, read over the search's space; ``None`` without one."""
    paths = list(settings.get("warm_start") or ())
    if not paths:
        return None
    if settings["controller"] != "bo":
        raise ConfigError(f"--warm-start needs the bo controller (its surrogate takes the prior), got --controller "
                          f"{settings['controller']}; allowed: bo, or no --warm-start")
    if load_prior is None:
        raise ConfigError("this search has a warm start; pass load_prior=autopeft.bench.warm_start.load_prior")
    return load_prior(paths, ctx.space, objectives_of(settings["objectives"]))


def portable(recipe: Recipe) -> Recipe:
    """``recipe`` with its paths relative to the working directory where they lie below it."""
    task = (recipe.task if isinstance(recipe.task, str) or "file" not in recipe.task
            else {**recipe.task, "file": portable_path(recipe.task["file"])})
    return replace(recipe, source=portable_path(recipe.source), space=portable_path(recipe.space), task=task)


def pruning_job(journal: Journal, ctx: SearchContext) -> Callable[[Trial], Job]:
    """``search_job`` with the early-stopping bars of :mod:`autopeft.study.pruning`, taken from the journal when
    the trial starts (reference points are never stopped: they are the baselines)."""

    def make(trial: Trial) -> Job:
        job = search_job(trial)
        if not may_stop(trial):
            return job
        try:
            params = float(ctx.count(trial.config))
        except ConfigError:
            return job
        bars = stop_bars(journal.trials(), params, trial.fidelity.steps)
        return replace(job, stop_below=tuple(sorted(bars.items())))

    return make


def make_controller(ctx: SearchContext, settings: Mapping[str, Any], prior: Prior | None = None) -> Any:
    """The run's controller: its name, seed and objectives from ``settings``, the recipe's options, the exact
    parameter counter as a known objective, ``max_trainable_params`` as a constraint and the warm start."""
    from autopeft.controllers import get_controller

    constraints: list[Callable[[Mapping[str, Any]], bool]] = []
    limit = ctx.recipe.search.max_trainable_params
    if limit is not None:
        constraints.append(lambda c: ctx.count(c) <= limit)
    return get_controller(settings["controller"], ctx.space, objectives_of(settings["objectives"]),
                          seed=int(settings["seed"]), known={PARAMS: ctx.count}, constraints=constraints,
                          **dict(ctx.recipe.search.controller_options),
                          **({"prior": prior} if prior is not None else {}))


def references_note(names: list[str], budget: int, controller: str) -> str:
    """What a budget that the reference points fill leaves: no proposal from the controller, maybe not every
    reference point (``names`` as the search runs them, a learning-rate sweep's points as ``name@lr=...``).
    """
    left = names[budget:]
    out = f", and {', '.join(left)} {'is' if len(left) == 1 else 'are'} left out" if left else ""
    return (f"note: the reference points take {len(names)} trials and the budget is {budget}, so {controller} "
            f"proposes no trial{out} (raise the budget above {len(names)}, or set search.references: false)")


def _search(ctx: SearchContext, journal: Journal, settings: dict[str, Any], stream: TextIO, *, workers: int | None,
            engine: str | None, workers_per_gpu: int | None, callbacks: tuple[TrialCallback, ...],
            nni: NniSettings | None = None, prior: Prior | None = None) -> None:
    from autopeft.study.front import front

    recipe, budget = ctx.recipe, int(settings["budget"])
    objectives = objectives_of(settings["objectives"])
    requeued = journal.requeue_interrupted("search")
    journal.set_meta("ended_early", None)  # said again below if this session ends early too
    if requeued:
        stream.write(f"resuming: trial(s) {', '.join(map(str, requeued))} were interrupted and run again\n")
    ctl = make_controller(ctx, settings, prior)
    if ctx.over_limit:
        named = {name.partition("@")[0]: n for name, n in ctx.over_limit.items()}  # a sweep's points once
        over = ", ".join(f"{name} ({n:,.0f} trainable)" for name, n in named.items())
        stream.write(f"reference points over search.max_trainable_params ({recipe.search.max_trainable_params:,}) "
                     f"are left out: {over}\n")
    journal.set_meta("data", ctx.data.summary())  # the splits as made: sizes, classes, rows left out and why
    stream.writelines(f"note: {line}\n" for line in ctx.data.notes())
    if len(ctx.references) >= budget:
        stream.write(f"{references_note(list(ctx.references), budget, settings['controller'])}\n")
    if prior is not None:
        stream.writelines(f"{line}\n" for line in warm_start_lines(prior.describe(), ctl.prior_span))
    scheduler: Proposals | Asha
    if recipe.search.scheduler is not None:
        scheduler = Asha(ctl, objectives, budget=budget, config=recipe.search.scheduler, seed=int(settings["seed"]),
                         train_fraction=recipe.fidelity.train_fraction, origin=settings["controller"],
                         references=ctx.references)
        stream.write(f"multi-fidelity (ASHA): rungs {', '.join(str(r.steps) for r in scheduler.rungs)} steps, "
                     f"eta {recipe.search.scheduler.eta}; the front is the top rung's\n")
    else:
        scheduler = Proposals(ctl, objectives, budget=budget, fidelity=recipe.fidelity, seed=int(settings["seed"]),
                              origin=settings["controller"], references=ctx.references)
    where = shlex.quote(str(journal.folder))
    progress = Progress(budget, stream, score=objectives, fidelities=isinstance(scheduler, Asha),
                        header=f"search {where}: budget {budget}, controller {settings['controller']} "
                               f"(`autopeft status {where}` from another shell)")

    def finished(trial: Trial, done: Finished, state: LoopState) -> None:
        progress.finished(trial, state, front(journal, objectives), where=done.where)
        for callback in callbacks:
            callback(trial)

    runner = ctx.engine(workers=recipe.search.workers if workers is None else workers,
                        name=engine or recipe.search.engine,
                        workers_per_gpu=(recipe.search.workers_per_gpu if workers_per_gpu is None
                                         else workers_per_gpu), log=stream,
                        options={"run": journal.folder, "objective": objectives[0].name, "nni": nni},
                        jobs=budget - len(journal.trials(states=("complete", "failed", "pruned"))))
    try:
        about: dict[str, Any] = {"name": runner.name, "workers": runner.slots, "at": time.time()}
        if runner.name == "nni":
            about["nni"] = {"experiment": getattr(runner, "experiment_id", None),
                            **(nni.to_dict() if nni is not None else {}),
                            "folder": portable_path(getattr(runner, "folder", ""))}
            previous = journal.meta("nni_experiments") or []
            journal.set_meta("nni_experiments", [*previous, about["nni"]])
        journal.set_meta("engine", about)
        make_job = pruning_job(journal, ctx) if recipe.search.prune else search_job
        run_loop(journal, runner, scheduler, make_job=make_job, on_start=progress.starting, on_finish=finished)
    finally:
        runner.close()
    if scheduler.exhausted is not None:
        limit = recipe.search.max_trainable_params
        why = scheduler.exhausted + ("" if limit is None else
                                     f" (the recipe's search.max_trainable_params is {limit:,})")
        ran = len(journal.trials())
        if not ran:  # nothing to search at all: the recipe must change
            raise ConfigError(why)
        if ran < budget:  # (a multi-fidelity search may spend what is left on promotions)
            note = f"the search ended at {ran} of its {budget} trials: {why}"
            journal.set_meta("ended_early", note)  # status says so instead of offering a --resume
            stream.write(f"{note}\n")
    journal.set_meta("finished", time.time())
