"""A study: one search run — recipe + journal + controller + worker — and its Pareto front.

``run_search`` evaluates the reference points, then asks the controller for one configuration at a
time until the budget is spent, recording every state change in the journal; ``--resume`` is the
same call on an existing run (interrupted trials are re-run, nothing else is). What is done with the
front afterwards (pick, finalize, export) lives in :mod:`autopeft.study.finalize`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from autopeft.errors import ConfigError
from autopeft.objectives import Objective, objectives_of
from autopeft.study.front import front
from autopeft.study.journal import Journal, Trial
from autopeft.study.progress import Progress
from autopeft.study.recipe import Recipe, parse_recipe, stored_recipe
from autopeft.trial import config_key


# ---- the search loop ------------------------------------------------------------------------------------
@dataclass
class SearchContext:
    """What a search needs once per process: the recipe, the worker, the space, the counting skeleton."""

    recipe: Recipe
    worker: Any
    space: Any
    references: dict[str, dict[str, Any]]
    count: Callable[[Mapping[str, Any]], float]


def make_context(recipe: Recipe) -> SearchContext:
    from autopeft.methods import count_trainable
    from autopeft.methods.checks import check_space
    from autopeft.model.loading import skeleton
    from autopeft.runner import Worker

    spec = recipe.load_space()
    data = recipe.task_data()
    worker = Worker(recipe.model, data, recipe.training)
    check = check_space(spec, worker.graph, recipe.model)
    worker.space = check.space
    counts: dict[str, float] = {}
    meta: dict[str, Any] = {}

    def count(config: Mapping[str, Any]) -> float:
        key = config_key(config)
        if key not in counts:
            try:
                counts[key] = float(count_trainable(config, worker.graph, meta.get("skeleton")))
            except ConfigError:
                if "skeleton" in meta:
                    raise
                num_labels = data.task.n_classes if data.task.kind == "classification" else None
                meta["skeleton"] = skeleton(recipe.model, num_labels=num_labels)
                counts[key] = float(count_trainable(config, worker.graph, meta["skeleton"]))
        return counts[key]

    refs = check.references if recipe.search.references else {}
    return SearchContext(recipe, worker, check.space, refs, count)


def _run_one(ctx: SearchContext, journal: Journal, trial: Trial, *, in_space: bool,
             progress: Progress | None = None) -> Trial:
    if progress is not None:
        progress.starting(len(journal.trials(states=("complete", "failed", "pruned"))) + 1, trial)
    journal.start(trial.number)
    result = ctx.worker.run(trial.config, trial.fidelity, trial.seed, in_space=in_space)
    return journal.finish(trial.number, result)


def run_search(recipe: Recipe, out: Path, *, budget: int | None = None, controller: str | None = None,
               seed: int | None = None, resume: bool = False, stream: TextIO | None = None) -> Journal:
    """Run (or resume) a search to its budget; returns the (closed) journal's folder handle."""
    from autopeft.controllers import Observation, get_controller

    stream = stream or sys.stderr
    if resume:
        journal = Journal.open(out)
        stored = journal.recipe
        recipe = stored_recipe(stored)
        settings = journal.meta("settings")
        if budget is not None and budget != settings["budget"]:
            settings["budget"] = budget
            journal.set_meta("settings", settings)
    else:
        settings = {"budget": budget or recipe.search.budget, "controller": controller or recipe.search.controller,
                    "seed": recipe.seed if seed is None else seed, "objectives": list(recipe.search.objectives)}
        if settings["budget"] < 1:
            raise ConfigError(f"--budget must be >= 1, got {settings['budget']}")
        objectives_of(settings["objectives"])
        from autopeft.controllers import controller_names

        if settings["controller"] not in controller_names():
            allowed = ", ".join(controller_names())
            raise ConfigError(f"unknown controller {settings['controller']!r}; allowed: {allowed}")
        ctx = make_context(recipe)  # fails on a space that does not fit the model before anything is written
        base = str(Path(recipe.source).resolve().parent)
        as_written = parse_recipe(recipe.text, recipe.source, Path(base))
        overrides = {"task": recipe.task} if as_written.task != recipe.task else {}
        journal = Journal.create(out, {"text": recipe.text, "source": recipe.source, "base": base,
                                       "overrides": overrides, **recipe.to_dict()})
        journal.set_meta("settings", settings)
        journal.set_meta("started", time.time())
        return _loop(ctx, journal, settings, stream, get_controller, Observation)
    ctx = make_context(recipe)
    return _loop(ctx, journal, settings, stream, get_controller, Observation)


def _loop(ctx: SearchContext, journal: Journal, settings: dict[str, Any], stream: TextIO,
          get_controller: Callable[..., Any], observation: Callable[..., Any]) -> Journal:
    recipe, budget = ctx.recipe, int(settings["budget"])
    objectives = objectives_of(settings["objectives"])
    progress = Progress(budget, stream)
    requeued = journal.requeue_interrupted()
    if requeued:
        stream.write(f"resuming: trial(s) {', '.join(map(str, requeued))} were interrupted and run again\n")
    constraints: list[Callable[[Mapping[str, Any]], bool]] = []
    limit = recipe.search.max_trainable_params
    if limit is not None:
        constraints.append(lambda c: ctx.count(c) <= limit)
    known = {"trainable_params": ctx.count}
    ctl = get_controller(settings["controller"], ctx.space, objectives, seed=int(settings["seed"]), known=known,
                         constraints=constraints, **dict(recipe.search.controller_options))
    fidelity, seed = recipe.fidelity, int(settings["seed"])

    def best() -> float | None:
        f = front(journal, objectives)
        names = [o.name for o in objectives]
        return float(f.values[:, names.index("accuracy")].max()) if f.trials and "accuracy" in names else None

    def done() -> int:
        return len(journal.trials())

    try:
        for trial in journal.trials(states=("waiting",)):
            trial = _run_one(ctx, journal, trial, in_space=not trial.origin.startswith("reference:"),
                             progress=progress)
            progress.line(done(), trial, best())
        present = {t.origin for t in journal.trials()}
        for name, config in ctx.references.items():
            if done() >= budget:
                break
            if f"reference:{name}" not in present:
                trial = journal.add_trial(config, fidelity, seed=seed, origin=f"reference:{name}")
                trial = _run_one(ctx, journal, trial, in_space=False, progress=progress)
                progress.line(done(), trial, best())
        while done() < budget:
            history = [observation(t.config, _objective_values(t, objectives) if t.state == "complete" else None)
                       for t in journal.trials() if not t.origin.startswith("reference:")]
            (config,) = ctl.propose(history, 1)
            trial = journal.add_trial(config, fidelity, seed=seed, origin=settings["controller"])
            trial = _run_one(ctx, journal, trial, in_space=True, progress=progress)
            progress.line(done(), trial, best())
        journal.set_meta("finished", time.time())
    finally:
        journal.close()
    return journal


def _objective_values(trial: Trial, objectives: Sequence[Objective]) -> dict[str, float] | None:
    v = trial.values
    if not all(o.name in v for o in objectives):
        return None
    return {o.name: v[o.name] for o in objectives}


__all__ = ["SearchContext", "make_context", "run_search"]
