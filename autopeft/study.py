"""A study: one search run — recipe + journal + controller + worker — and its Pareto front.

``run_search`` evaluates the reference points, then asks the controller for one configuration at a
time until the budget is spent, recording every state change in the journal; ``--resume`` is the
same call on an existing run (interrupted trials are re-run, nothing else is). What is done with the
front afterwards (pick, finalize, export) lives in :mod:`autopeft.finalize`.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from autopeft.errors import ConfigError
from autopeft.journal import Journal, Trial, config_key
from autopeft.pareto import Objective, get_objective, hypervolume, knee_point, pareto_mask, reference_point, to_minimize
from autopeft.recipe import Recipe, parse_recipe, stored_recipe


# ---- objectives and the front --------------------------------------------------------------------------
def objectives_of(names: Sequence[str]) -> list[Objective]:
    try:
        objectives = [get_objective(n) for n in names]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if "trainable_params" not in names or len(names) < 2:
        raise ConfigError(f"objectives {list(names)} must include trainable_params and at least one other; "
                          "allowed: accuracy, trainable_params, ece, macro_f1, nll, brier, rouge_l, exact_match")
    return objectives


def observed(trials: Sequence[Trial], objectives: Sequence[Objective]) -> tuple[list[Trial], np.ndarray]:
    """Complete trials that have every objective, and their objective values (raw, not minimised)."""
    rows, values = [], []
    for t in trials:
        v = t.values
        if t.state == "complete" and all(o.name in v and math.isfinite(v[o.name]) for o in objectives):
            rows.append(t)
            values.append([v[o.name] for o in objectives])
    return rows, np.asarray(values, dtype=float).reshape(len(rows), len(objectives))


@dataclass(frozen=True)
class Front:
    trials: list[Trial]            # the non-dominated complete trials, by trainable parameters
    values: np.ndarray             # their raw objective values
    hypervolume: float
    knee: int | None               # index into ``trials``


def front(journal: Journal, objectives: Sequence[Objective]) -> Front:
    rows, values = observed(journal.trials(), objectives)
    if not rows:
        return Front([], values, 0.0, None)
    total = max(float(t.result.total_params or 1) for t in rows if t.result is not None)
    points = to_minimize(values, objectives)
    mask = pareto_mask(points)
    idx, seen = [], set()
    for i in np.flatnonzero(mask):  # a point reached again (same objective values) is listed once, earliest trial
        key = tuple(np.round(values[i], 12))
        if key not in seen:
            seen.add(key)
            idx.append(int(i))
    p_col = [o.name for o in objectives].index("trainable_params")
    idx.sort(key=lambda i: values[i, p_col])
    hv = hypervolume(points[mask], reference_point(objectives, total))
    knee = int(knee_point(points[idx])) if idx else None
    return Front([rows[i] for i in idx], values[idx], float(hv), knee)


def hypervolume_curve(journal: Journal, objectives: Sequence[Objective]) -> list[tuple[int, float]]:
    """Hypervolume of the front after each trial, in trial order."""
    trials = journal.trials()
    rows, values = observed(trials, objectives)
    if not rows:
        return []
    total = max(float(t.result.total_params or 1) for t in rows if t.result is not None)
    ref = reference_point(objectives, total)
    points = to_minimize(values, objectives)
    out, upto = [], 0
    done = {t.number: i for i, t in enumerate(rows)}
    for t in trials:
        if t.number in done:
            upto = done[t.number] + 1
        out.append((t.number, float(hypervolume(points[:upto], ref)) if upto else 0.0))
    return out


# ---- the search loop ------------------------------------------------------------------------------------
class Progress:
    """One line per trial on stderr: a bar, trial i/N, the configuration, the best accuracy on the front, ETA."""

    def __init__(self, budget: int, stream: TextIO | None = None) -> None:
        self.budget, self.stream, self.times = budget, stream or sys.stderr, list[float]()

    def starting(self, position: int, trial: Trial) -> None:
        """The configuration now training, before its result is known."""
        self.stream.write(f"  running {position}/{self.budget} #{trial.number} {trial.origin} "
                          f"{describe(trial.config)} ...\n")
        self.stream.flush()

    def line(self, done: int, trial: Trial, best: float | None) -> None:
        result = trial.result
        if trial.finished and trial.started:
            self.times.append(trial.finished - trial.started)
        eta = statistics.median(self.times) * (self.budget - done) if self.times else float("nan")
        bar = "#" * round(20 * done / self.budget)
        what = f"acc {result.metrics.get('accuracy', float('nan')):.3f}" if result and result.ok else (
            f"FAILED: {(trial.error or '')[:60]}")
        params = f"{result.trainable_params:,}" if result and result.trainable_params is not None else "?"
        best_text = f"{best:.3f}" if best is not None else "-"
        self.stream.write(f"[{bar:<20}] {done}/{self.budget} #{trial.number} {trial.origin} {describe(trial.config)} "
                          f"| {what} params {params} | front best {best_text} | ETA {_minutes(eta)}\n")
        self.stream.flush()


def _minutes(seconds: float) -> str:
    return "?" if not math.isfinite(seconds) else f"{seconds / 60:.1f} min"


def describe(config: Mapping[str, Any], width: int = 70) -> str:
    """A short one-line summary of a configuration (per-layer dicts shown as their values)."""
    parts: list[str] = []
    for key, value in config.items():
        if key == "method":
            parts.insert(0, str(value))
            continue
        short = key.split(".", 1)[-1]
        if isinstance(value, Mapping):
            value = "/".join(str(v) for v in value.values())
        elif isinstance(value, float):
            value = f"{value:.3g}"
        parts.append(f"{short}={value}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class SearchContext:
    """What a search needs once per process: the recipe, the worker, the space, the counting skeleton."""

    recipe: Recipe
    worker: Any
    space: Any
    references: dict[str, dict[str, Any]]
    count: Callable[[Mapping[str, Any]], float]


def make_context(recipe: Recipe) -> SearchContext:
    from autopeft.checks import check_space
    from autopeft.methods import count_trainable
    from autopeft.models import skeleton
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


__all__ = ["Front", "front", "hypervolume_curve", "make_context", "objectives_of", "run_search"]
