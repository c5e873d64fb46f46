"""Everything a report shows about one run, read once from its journal (no training, no weights).

A :class:`RunData` is built by :func:`load_run`; the plots and the page only read it. Pieces that need the
model's shapes (the layer x module heatmap, the surrogate's importance) come from a weight-free skeleton and
are left out, with the reason stated, when the model cannot be loaded here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.errors import AutopeftError, ReportError
from autopeft.objectives import (
    OBJECTIVES,
    PARAMS,
    Objective,
    get_objective,
    objectives_of,
    score_objective,
)
from autopeft.study.classes import class_names, per_class_table, run_chance
from autopeft.study.finalize import finalize_table
from autopeft.study.front import Front, front, hypervolume_curve
from autopeft.study.journal import Journal, Trial
from autopeft.study.rungs import top_steps
from autopeft.study.status import rung_lines, wall_seconds
from autopeft.tasks.adhoc import hub_task_name


@dataclass(frozen=True)
class Placement:
    """Where a run's front adapts the model: per stack, a (role x block) matrix of how often and at which rank."""

    stacks: dict[str, int]                    # stack -> number of blocks, e.g. {"encoder": 6}
    roles: tuple[str, ...]                    # row labels (attn.q, attn.k, ..., ln)
    share: dict[str, np.ndarray]              # stack -> (roles, blocks) fraction of front configs adapting it
    rank_range: dict[str, np.ndarray]         # stack -> (roles, blocks, 2) lowest and highest rank there, else nan
    configs: int                              # front configurations counted


@dataclass(frozen=True)
class Importance:
    """Held-out permutation importance of each space dimension (per block for per-layer ranks) for the run's
    score objective."""

    names: tuple[str, ...]
    values: np.ndarray                        # share of the total (>= 0, sums to 1 unless all are 0)
    r2: float                                 # the surrogate's cross-validated R^2 (how far to trust the bars)
    folds: int
    observations: int


@dataclass(frozen=True)
class RunData:
    folder: Path
    name: str
    recipe: dict[str, Any]
    settings: dict[str, Any]
    objectives: list[Objective]
    score: str                                # the score objective (the first that is not the parameter count)
    trials: list[Trial]                       # search phase, every state
    front: Front
    hv_curve: list[tuple[int, float]]
    finalized: list[dict[str, Any]]
    classes: tuple[str, ...]                  # the task's class names in output order (() for generation)
    per_class: list[dict[str, Any]]           # the finalized points' test scores per class (per_class_table)
    wall_seconds: float
    compute_seconds: float
    space_rows: list[dict[str, str]]
    notes: list[str] = field(default_factory=list)
    placement: Placement | None = None
    importance: Importance | None = None

    @property
    def complete(self) -> list[Trial]:
        return [t for t in self.trials if t.state == "complete"]

    @property
    def chance(self) -> float | None:
        """What always predicting the validation split's majority class scores on the run's score (``None``:
        no chance level for the score, or no class counts recorded)."""
        return run_chance(self.complete, self.score)

    @property
    def top_steps(self) -> int | None:
        """A multi-fidelity run's top rung (its front's steps); ``None`` for a single-fidelity run."""
        return top_steps(self.recipe)

    @property
    def comparable(self) -> list[Trial]:
        """The complete trials the front is made of, which the plot, the references' rivals and the importance
        compare: all of them, or a multi-fidelity run's top-rung ones (lower rungs are shorter trainings)."""
        top = self.top_steps
        return [t for t in self.complete if top is None or t.fidelity.steps == top]

    @property
    def fidelity_notes(self) -> list[str]:
        """A multi-fidelity run's rungs, its trials per rung and their cost, and what pruning stopped."""
        scheduler, top = (self.recipe.get("search") or {}).get("scheduler"), self.top_steps
        if not scheduler or top is None:
            return []
        rungs = sorted({t.fidelity.steps for t in self.trials} | {top})
        notes = [f"ASHA (eta {scheduler.get('eta')}, rungs from {scheduler.get('min_steps')} to {top} steps; "
                 f"trials ran at {', '.join(map(str, rungs))}): the front, its plot and the comparisons use the "
                 f"top rung's {len(self.comparable)} trials only", *rung_lines(self.trials, top)]
        if (self.recipe.get("search") or {}).get("prune"):
            pruned = sum(1 for t in self.trials if t.state == "pruned")
            notes.append(f"pruning on: {pruned} trial(s) stopped early, journaled with their partial scores")
        return notes

    @property
    def failed(self) -> list[Trial]:
        return [t for t in self.trials if t.state == "failed"]

    @property
    def knee(self) -> Trial | None:
        return self.front.trials[self.front.knee] if self.front.knee is not None else None

    @property
    def score_objective(self) -> Objective:
        return get_objective(self.score)

    @property
    def score_label(self) -> str:
        return self.score_objective.label

    def better(self, value: float | None) -> float:
        """``value`` of the score objective as "larger is better" (its sign flipped when it is minimised)."""
        if value is None:
            return -math.inf
        return value if self.score_objective.direction == "max" else -value

    @property
    def best(self) -> Trial | None:
        """The front point with the best score (direction respected; fewest parameters among ties)."""
        if not self.front.trials:
            return None
        return max(self.front.trials, key=lambda t: (self.better(t.values.get(self.score)),
                                                     -t.values.get(PARAMS, math.inf)))

    @property
    def metrics(self) -> list[str]:
        """The run's objectives (not the parameter count) first, then every other registered objective any
        complete trial has: the metric columns of the report's tables."""
        names = [o.name for o in self.objectives if o.name != PARAMS]
        seen = {k for t in self.complete for k in t.values}
        return names + [n for n in OBJECTIVES if n in seen and n not in names and n != PARAMS]

    @property
    def task(self) -> str:
        task = self.recipe.get("task")
        spec = {} if isinstance(task, str) else task or {}
        hub = hub_task_name(str(spec["hub"]), spec.get("config")) if spec.get("hub") else ""
        return task if isinstance(task, str) else str(spec.get("name") or spec.get("file") or hub)

    @property
    def model(self) -> str:
        return str(self.recipe.get("model"))


def load_run(folder: Path, *, details: bool = True) -> RunData:
    """Read a run folder; ``details`` adds the heatmap and importance (they load the model's shapes)."""
    with Journal.open(folder, lock=False) as opened, opened.snapshot() as journal:
        recipe, settings = journal.recipe, dict(journal.meta("settings") or {})
        settings["engine"] = journal.meta("engine")  # where the trials ran (absent in runs made before engines)
        settings["warm_start_sources"] = journal.meta("warm_start") or []  # what a warm start transferred
        settings["warm_start_trials"] = journal.meta("warm_start_trials")  # how many trials its prior guided
        settings["data"] = journal.meta("data")  # the splits as made (absent in runs made before it was kept)
        objectives = objectives_of(settings.get("objectives") or ["accuracy", "trainable_params"])
        trials = journal.trials()
        if not trials:
            raise ReportError(f"run {folder} has no trials yet; allowed: a run with at least one completed trial "
                              f"(start one with `autopeft search`, continue one with `autopeft search --resume`)")
        done = [t for t in trials if t.state == "complete"]
        if not done:
            reasons = sorted({(t.error or t.state).splitlines()[0][:120] for t in trials})
            raise ReportError(f"run {folder} has no completed trial ({len(trials)} trials: "
                              f"{'; '.join(reasons[:3])}); there is nothing to report")
        f = front(journal, objectives)
        curve = hypervolume_curve(journal, objectives)
        finalized = finalize_table(journal)
        classes = class_names(recipe)  # read once: a file task's names come from its data file
        per_class = per_class_table(journal, classes)
        started, sessions = journal.meta("started"), journal.meta("sessions") or []
        settings["sessions"] = len(sessions)  # a search and its resumes (0: journaled before they were counted)
        settings["ended_early"] = journal.meta("ended_early")  # the space had fewer members than the budget
    score = score_objective(objectives).name
    wall = wall_seconds(sessions, trials, float(started) if started else None)
    compute = sum(t.finished - t.started for t in trials if t.finished and t.started)
    data = RunData(folder=folder, name=str(recipe.get("name") or folder.name), recipe=recipe, settings=settings,
                   objectives=objectives, score=score, trials=trials, front=f, hv_curve=curve,
                   finalized=finalized, classes=classes, per_class=per_class, wall_seconds=wall,
                   compute_seconds=compute, space_rows=[], notes=[])
    space_rows, notes = _space_rows(recipe)
    data.notes.extend(notes)
    data.space_rows.extend(space_rows)
    if not details:
        return data
    placement, importance, notes = _model_details(data)
    data.notes.extend(notes)
    return RunData(**{**data.__dict__, "placement": placement, "importance": importance})


def check_comparable(run: RunData, baseline: RunData) -> None:
    """A baseline drawn beside a run must have optimised the same objectives (else its hypervolume curve means
    something else). Runs in their own sections may differ: each section describes its run's front."""
    first, names = [o.name for o in run.objectives], [o.name for o in baseline.objectives]
    if names != first:
        raise ReportError(f"--random {baseline.folder} optimised {names}, but {run.folder} optimised {first}; "
                          "allowed: a baseline over the same objectives as its run")


def run_space(recipe: Mapping[str, Any]) -> Any:
    """The run's space as the study read it (:meth:`Recipe.load_space` of the journaled recipe): the text the
    journal keeps, so a run reported on another machine or after its space file moved still has it."""
    from autopeft.study.recipe import stored_recipe

    return stored_recipe(recipe).load_space()


def _space_rows(recipe: dict[str, Any]) -> tuple[list[dict[str, str]], list[str]]:
    from autopeft.space.dimensions import show

    try:
        spec = run_space(recipe)
    except AutopeftError as exc:
        return [], [f"the space file could not be read here, so its dimensions are not listed: {exc}"]
    rows = []
    for dim in spec.dimensions:
        d: Any = dim
        if hasattr(d, "choices"):
            values = show(tuple(d.choices))
            if getattr(d, "layers", ()):
                values = f"one of [{values}] per block of {show(tuple(str(s) for s in d.layers))}"
        elif hasattr(d, "low"):
            values = f"{d.low:g} .. {d.high:g}{' (log scale)' if getattr(d, 'log', False) else ''}"
        else:
            values = show((getattr(d, "value", ""),))
        rows.append({"dimension": dim.name, "type": dim.type, "values": values,
                     "when": ", ".join(str(c) for c in dim.when) or "always"})
    return rows, []


def _model_details(run: RunData) -> tuple[Placement | None, Importance | None, list[str]]:
    """Heatmap and importance need the model's module graph (a skeleton on the meta device, no weights)."""
    from autopeft.methods.checks import check_space
    from autopeft.model.graph import ModelGraph
    from autopeft.model.loading import skeleton

    notes: list[str] = []
    try:
        classes = len(run.classes) or None  # a generation task has no classes
        graph = ModelGraph.from_model(skeleton(run.model, num_labels=classes))
    except (AutopeftError, OSError) as exc:
        return None, None, [f"the model's shapes could not be loaded here, so the layer x module heatmap and the "
                            f"importance are left out: {exc}"]
    placement = placement_of(run.front.trials, graph)
    importance = None
    try:
        space = check_space(run_space(run.recipe), graph, run.model).space
        importance = importance_of(run, space)
        if importance is None:
            notes.append("too few completed trials (< 12) to fit the importance surrogate")
    except AutopeftError as exc:
        notes.append(f"the surrogate's importance is left out: {exc}")
    return placement, importance, notes


def placement_of(trials: list[Trial], graph: Any) -> Placement:
    """How often each (role, block) is adapted by ``trials``' configurations, and the median rank there."""
    from autopeft.methods import placements

    info = {m.path: m for m in graph.modules()}
    stacks = dict(graph.layout)
    roles = tuple(r for r in graph.roles)
    hits: dict[tuple[str, int, str], list[float]] = {}
    counted = 0
    for t in trials:
        try:
            placed = placements(t.config, graph)
        except AutopeftError:
            continue
        counted += 1
        seen: dict[tuple[str, int, str], float] = {}
        for path, strength in placed.items():
            m = info.get(path)
            if m is not None:
                key = (m.stack, m.block, m.role)
                seen[key] = max(seen.get(key, 0.0), strength)
        for key, strength in seen.items():
            hits.setdefault(key, []).append(strength)
    share, rank = {}, {}
    for stack, n in stacks.items():
        s = np.zeros((len(roles), n))
        r = np.full((len(roles), n, 2), np.nan)
        for (st, block, role), values in hits.items():
            if st != stack or role not in roles:
                continue
            i = roles.index(role)
            s[i, block] = len(values) / max(counted, 1)
            ranked = [v for v in values if v > 1]
            if ranked:
                r[i, block] = (min(ranked), max(ranked))
        share[stack], rank[stack] = s, r
    return Placement(stacks, roles, share, rank, counted)


def importance_of(run: RunData, space: Any, *, folds: int = 5, repeats: int = 5,
                  seed: int = 0) -> Importance | None:
    from autopeft.report.importance import feature_groups, permutation_importance

    rows = [t for t in run.comparable if run.score in t.values]
    configs, y = [], []
    for t in rows:
        try:
            configs.append(space.encode(t.config))
        except AutopeftError:  # reference points outside the space (full fine-tuning) are not encodable
            continue
        y.append(t.values[run.score])
    if len(y) < 12:
        return None
    groups = feature_groups(space)
    names, values, r2 = permutation_importance(np.array(configs), np.array(y), groups, folds=folds,
                                               repeats=repeats, seed=seed)
    return Importance(tuple(names), values, r2, folds, len(y))
