"""A run's Pareto front and hypervolume, read from its journal (validation numbers; no torch).

>>> with Journal.open("runs/demo", lock=False) as journal:                       # doctest: +SKIP
...     f = front(journal, objectives_of(journal.meta("settings")["objectives"]))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autopeft.objectives import PARAMS, Objective, reference_point, score_objective, to_minimize
from autopeft.pareto import hypervolume, knee_point, pareto_mask
from autopeft.study.classes import at_chance, run_chance
from autopeft.study.journal import Journal, Trial
from autopeft.study.rungs import top_steps

__all__ = ["Front", "front", "front_trials", "hypervolume_curve", "observed"]


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


def front_trials(journal: Journal) -> list[Trial]:
    """The search trials the front is made of: all of them, or in a multi-fidelity search the top rung's
    (:mod:`autopeft.study.asha`; lower rungs are shorter trainings of the same configurations)."""
    trials = journal.trials()
    top = top_steps(journal.recipe)
    return trials if top is None else [t for t in trials if t.fidelity.steps == top]


def front(journal: Journal, objectives: Sequence[Objective]) -> Front:
    rows, values = observed(front_trials(journal), objectives)
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
    p_col = [o.name for o in objectives].index(PARAMS)
    idx.sort(key=lambda i: values[i, p_col])
    reference = reference_point(objectives, total)
    hv = hypervolume(points[mask], reference)
    learned = _above_chance(rows, values, idx, objectives) or idx
    knee = idx.index(learned[int(knee_point(points[learned], reference))]) if idx else None
    return Front([rows[i] for i in idx], values[idx], float(hv), knee)


def _above_chance(rows: Sequence[Trial], values: np.ndarray, idx: list[int],
                  objectives: Sequence[Objective]) -> list[int]:
    """The members of ``idx`` whose score beats always predicting the validation split's majority class: the
    points the knee is chosen from. A point at chance learned nothing, however few parameters it trains; a
    two-point front of chance at 112 parameters and 0.625 at 3,584 had its knee at chance. All of ``idx`` where
    the score has no chance level (generation, ECE, ...) or no trial recorded a confusion matrix."""
    score = score_objective(objectives)
    chance = run_chance(rows, score.name)
    if chance is None:
        return list(idx)
    column = [o.name for o in objectives].index(score.name)
    return [i for i in idx if not at_chance(float(values[i, column]), chance)]


def hypervolume_curve(journal: Journal, objectives: Sequence[Objective]) -> list[tuple[int, float]]:
    """Hypervolume of the front after each trial, in trial order (a multi-fidelity search: of its top rung)."""
    trials = journal.trials()
    rows, values = observed(front_trials(journal), objectives)
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
