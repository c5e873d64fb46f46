"""The reference points of a run as a report shows them: each tuned over its learning-rate sweep, and how the
search compares with the tuned one (its best trial within as many parameters, and whether it dominates it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from autopeft.objectives import PARAMS, Objective, to_minimize
from autopeft.pareto import pareto_mask
from autopeft.report.collect import RunData
from autopeft.study.journal import Trial
from autopeft.study.references import parse_reference_origin, tuned_references

__all__ = ["ReferencePoint", "SweepPoint", "reference_points"]


@dataclass(frozen=True)
class SweepPoint:
    """One learning rate of a reference point's sweep (``learning_rate`` None: the reference was not swept)."""

    trial: Trial
    learning_rate: float | None

    @property
    def state(self) -> str:
        return self.trial.state


@dataclass(frozen=True)
class ReferencePoint:
    """A reference point tuned over its learning-rate sweep, and how the search compares with the tuned one.

    ``tuned`` is the sweep's best complete trial on the validation score; ``rival`` is the search's best
    trial (not a reference) that trains at most as many parameters as ``tuned`` (``None``: the search has none).
    """

    name: str
    tuned: Trial
    sweep: tuple[SweepPoint, ...]             # every trial of the sweep, by learning rate
    rival: Trial | None
    dominated: bool                           # some search trial is at least as good on every objective, better on one

    @property
    def tuned_lr(self) -> float | None:
        return next(p.learning_rate for p in self.sweep if p.trial.number == self.tuned.number)

    @property
    def edge(self) -> str | None:
        """``"largest"`` or ``"smallest"`` when the tuned rate is that end of a sweep of two or more rates (a
        wider sweep might tune the reference further); ``None`` inside the sweep, or without one."""
        rates = [p.learning_rate for p in self.sweep if p.learning_rate is not None]
        lr = self.tuned_lr
        if len(set(rates)) < 2 or lr is None:
            return None
        return "largest" if lr == max(rates) else "smallest" if lr == min(rates) else None


def reference_points(run: RunData) -> list[ReferencePoint]:
    """Per reference name, in the order the search ran them: its tuned point, its sweep and the comparison
    with the search (made against the tuned point, never against a learning rate that did not suit it)."""
    score = run.score_objective
    tuned = tuned_references(run.trials, score)
    sweeps: dict[str, list[SweepPoint]] = {}
    for t in run.trials:
        parsed = parse_reference_origin(t.origin)
        if parsed is not None:
            sweeps.setdefault(parsed[0], []).append(SweepPoint(t, parsed[1]))
    searched = [t for t in run.comparable if parse_reference_origin(t.origin) is None
                and run.score in t.values and PARAMS in t.values]
    out = []
    for name, best in tuned.items():
        params = best.values.get(PARAMS, math.inf)
        within = [t for t in searched if t.values[PARAMS] <= params]
        rival = max(within, key=lambda t: (run.better(t.values[run.score]), -t.values[PARAMS]), default=None)
        sweep = sorted(sweeps[name], key=lambda p: (p.learning_rate is None, p.learning_rate or 0.0))
        out.append(ReferencePoint(name, best, tuple(sweep), rival, _dominated(best, searched, run.objectives)))
    return out


def _dominated(point: Trial, others: list[Trial], objectives: list[Objective]) -> bool:
    """Whether some trial of ``others`` is at least as good as ``point`` on every objective and better on one."""
    rows = [t for t in (point, *others) if all(o.name in t.values for o in objectives)]
    if len(rows) < 2 or rows[0] is not point:
        return False
    values = [[t.values[o.name] for o in objectives] for t in rows]
    return not bool(pareto_mask(to_minimize(values, objectives))[0])
