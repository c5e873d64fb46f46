"""Multi-fidelity replays on a table with two fidelities: spend most of the budget cheap, a little expensive.

The target is the **high** fidelity. Only configurations with complete rows at both fidelities (the table's
*paired* subset) can be answered at the high one, so both strategies below search exactly that subset (a
constraint on the controller) and are scored the same way: the hypervolume of the high-fidelity seed-mean
values of every configuration evaluated at the high fidelity so far, over the exhaustive high-fidelity front
of the subset. Cost is counted in **low-fidelity trials**: a low trial costs 1, a high trial costs the table's
measured ratio of mean wall time (training + evaluation) over the paired configurations
(:func:`cost_ratio`; the ratio of steps when the table has no times).

- ``high:<controller>`` — the single-fidelity baseline: the controller proposes, each proposal is trained at
  the high fidelity.
- ``mf:<controller>`` — asynchronous successive halving (ASHA, Li et al. 2020) with two rungs: the
  controller proposes at the low fidelity and learns from the low results only; after each low trial, every
  configuration in the top ``1 / eta`` of the low results so far that has not been promoted yet is
  re-trained at the high fidelity, best first. "Top" is by non-dominated sorting of the observed (noisy,
  one-seed) low values, then crowding distance — promotion by Pareto rank.

Both stop when the subset is used up; their curves then stay flat. The subset may be chosen with the low
results' help (the build script puts the low-fidelity front in it), which makes it an easier space than the
whole table, but the same one for both strategies.

>>> round(fidelity_correlation([0.5, 0.6, 0.7, 0.8], [0.55, 0.65, 0.6, 0.9]), 6)
0.8
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from autopeft.bench.reference import reference_for
from autopeft.bench.replay import Run, Scorer, controller_spec, drive, make_controller, noise_generator
from autopeft.bench.table import Table, TableError
from autopeft.controllers import Controller, Observation
from autopeft.errors import ConfigError
from autopeft.objectives import Objective, to_minimize
from autopeft.study.asha import promotion_order
from autopeft.study.engines.base import Finished
from autopeft.study.journal import Trial
from autopeft.study.loop import LoopState, Planned, Proposals, objective_values
from autopeft.trial import Fidelity, config_key

__all__ = ["DEFAULT_ETA", "MultiFidelity", "Promotion", "cost_ratio", "fidelity_correlation", "replay_high",
           "replay_promotion"]

FloatArray = npt.NDArray[np.float64]
#: ASHA's reduction factor: the top third of the low-fidelity results is promoted.
DEFAULT_ETA = 3


def _ranks(values: npt.ArrayLike) -> FloatArray:
    """Ranks 1..n, ties sharing their mean rank (what Spearman's rho needs)."""
    arr = np.asarray(values, dtype=float)
    order = np.argsort(arr, kind="mergesort")
    ranks = np.empty(len(arr))
    ranks[order] = np.arange(1, len(arr) + 1, dtype=float)
    for value in np.unique(arr):
        tie = arr == value
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return ranks


def fidelity_correlation(low: npt.ArrayLike, high: npt.ArrayLike) -> float:
    """Spearman's rank correlation between paired low- and high-fidelity scores (NaN with < 3 pairs)."""
    a, b = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"low and high must be 1-D of one length, got {a.shape} and {b.shape}")
    if len(a) < 3:
        return math.nan
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def cost_ratio(table: Table, low: int, high: int) -> float:
    """What a high trial costs in low trials: mean measured seconds high / low over the paired configurations."""
    paired = table.paired(low, high)
    lows = [table.entry(c, low).seconds() for c in paired]
    highs = [table.entry(c, high).seconds() for c in paired]
    times = [(a, b) for a, b in zip(lows, highs, strict=True) if a is not None and b is not None]
    if times:
        return float(np.mean([b for _, b in times]) / np.mean([a for a, _ in times]))
    return high / low


class MultiFidelity:
    """The two-fidelity setting of one table: the paired subset, the cost ratio and the exhaustive target."""

    def __init__(self, table: Table, objectives: Sequence[Objective], low: int | None = None,
                 high: int | None = None, reference: str = "stated") -> None:
        if len(table.fidelities) < 2:
            raise TableError(f"table {table.name!r} has one fidelity ({table.fidelities[0]} steps); a multi-"
                             f"fidelity replay needs rows at two")
        self.table, self.objectives = table, list(objectives)
        #: the hypervolume's reference point kind (:mod:`autopeft.bench.reference`), for the target and every run
        self.reference = reference
        self.reference_point = reference_for(table, self.objectives, reference)
        self.low = table.check_fidelity(low if low is not None else table.fidelities[0])
        self.high = table.check_fidelity(high if high is not None else table.fidelities[-1])
        if self.low >= self.high:
            raise TableError(f"the low fidelity ({self.low} steps) must be below the high one ({self.high})")
        self.paired = table.paired(self.low, self.high)
        if not self.paired:
            raise TableError(f"table {table.name!r} has no configuration with rows at both {self.low} and "
                             f"{self.high} steps")
        self.keys = {config_key(c) for c in self.paired}
        self.cost = cost_ratio(table, self.low, self.high)
        _, _, self.exhaustive = table.front(self.high, self.objectives, self.paired, reference=self.reference_point)

    def in_subset(self, config: Mapping[str, Any]) -> bool:
        """The controllers' constraint: only the paired configurations can be answered at both fidelities."""
        return config_key(config) in self.keys

    def correlation(self, metric: str = "accuracy") -> float:
        """Spearman's rho of the seed-mean ``metric`` at the low vs the high fidelity over the paired subset."""
        pairs = []
        for config in self.paired:
            lo = [r.metrics.get(metric) for r in self.table.entry(config, self.low).rows if r.ok]
            hi = [r.metrics.get(metric) for r in self.table.entry(config, self.high).rows if r.ok]
            lo_v, hi_v = [v for v in lo if v is not None], [v for v in hi if v is not None]
            if lo_v and hi_v:
                pairs.append((float(np.mean(lo_v)), float(np.mean(hi_v))))
        if not pairs:
            return math.nan
        return fidelity_correlation([a for a, _ in pairs], [b for _, b in pairs])


def _curve(events: Sequence[tuple[float, float]], budget: int) -> FloatArray:
    """Hypervolume after spending at most ``k`` (k = 1..budget), from (cumulative cost, hypervolume) events."""
    out = np.zeros(budget)
    costs = np.array([c for c, _ in events])
    values = np.array([v for _, v in events])
    for k in range(1, budget + 1):
        done = np.flatnonzero(costs <= k + 1e-9)
        out[k - 1] = values[done[-1]] if done.size else 0.0
    return out


def _run(strategy: str, seed: int, configs: list[dict[str, Any]], events: list[tuple[float, float]], budget: int,
         exhaustive: float) -> Run:
    hv = _curve(events, budget)
    return Run(strategy, seed, tuple(configs), hv / exhaustive if exhaustive > 0 else np.zeros(budget), hv)


def _check_budget(budget: int) -> None:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError(f"--budget must be an integer >= 1, got {budget!r}")


def replay_high(mf: MultiFidelity, controller: str, *, budget: int, seed: int) -> Run:
    """``high:<controller>``: every proposal trained at the high fidelity; ``budget`` in low-trial units."""
    _check_budget(budget)
    spec = controller_spec(controller)
    ctl = make_controller(spec, mf.table, mf.objectives, seed, [mf.in_subset])
    scorer = Scorer(mf.table, mf.high, mf.objectives, mf.reference)
    trials, spent = 0, 0.0
    while spent < budget:  # as many high trials as the budget starts (the last may overrun it)
        spent += mf.cost
        trials += 1
    tried: list[dict[str, Any]] = []
    events: list[tuple[float, float]] = []
    cost = [0.0]

    def scored(trial: Trial, done: Finished, state: LoopState) -> None:
        cost[0] += mf.cost
        tried.append(trial.config)
        events.append((cost[0], scorer.add(trial.config)))

    scheduler = Proposals(ctl, mf.objectives, budget=trials, fidelity=Fidelity(steps=mf.high), seed=seed,
                          origin=spec.name)
    drive(mf.table, scheduler, noise_generator(seed), scored, name=spec.name, seed=seed)
    # an exhausted scheduler means the subset is used up: the curve stays flat from there
    return _run(f"high:{controller}", seed, tried, events, budget, mf.exhaustive)


def _promotable(observed: list[tuple[dict[str, Any], dict[str, float]]], objectives: Sequence[Objective],
                eta: int, promoted: set[str]) -> list[dict[str, Any]]:
    """The top ``len(observed) // eta`` low results by Pareto rank then crowding, not promoted yet, best first."""
    k = len(observed) // eta
    if k == 0:
        return []
    points = to_minimize([[v[o.name] for o in objectives] for _, v in observed], objectives)
    return [observed[i][0] for i in promotion_order(points)[:k] if config_key(observed[i][0]) not in promoted]


class Promotion:
    """ASHA with two rungs as a scheduler of the study loop (see the module docstring): promote the best low
    results not promoted yet, else ask the controller for a new low-fidelity trial; stop at ``budget``
    (in low-trial units). The controller learns from the low results only."""

    def __init__(self, mf: MultiFidelity, controller: Controller, *, budget: int, seed: int, eta: int,
                 origin: str) -> None:
        self.mf, self.controller, self.budget, self.eta, self.origin = mf, controller, budget, eta, origin
        self.seed = seed
        self.scorer = Scorer(mf.table, mf.high, mf.objectives, mf.reference)
        self.history: list[Observation] = []
        self.observed: list[tuple[dict[str, Any], dict[str, float]]] = []
        self.promoted: set[str] = set()
        self.tried: list[dict[str, Any]] = []
        self.events: list[tuple[float, float]] = []
        self.spent, self.exhausted = 0.0, False

    def next(self, state: LoopState) -> Planned | None:
        if self.spent >= self.budget:
            return None
        queue = _promotable(self.observed, self.mf.objectives, self.eta, self.promoted)
        if queue:
            self.promoted.add(config_key(queue[0]))
            return Planned(queue[0], Fidelity(steps=self.mf.high), self.seed, f"promote:{self.origin}")
        if self.exhausted:
            return None
        try:
            (config,) = self.controller.propose(self.history, 1)
        except ConfigError:
            self.exhausted = True  # the subset is used up: promote what is left to promote, then stop
            return self.next(state)
        return Planned(config, Fidelity(steps=self.mf.low), self.seed, self.origin)

    def finished(self, trial: Trial, state: LoopState) -> None:
        if trial.fidelity.steps == self.mf.high:
            self.spent += self.mf.cost
            self.events.append((self.spent, self.scorer.add(trial.config)))
            return
        values = objective_values(trial, self.mf.objectives)
        self.history.append(Observation(trial.config, values))
        if values is not None:
            self.observed.append((trial.config, values))
        self.tried.append(trial.config)
        self.spent += 1.0
        self.events.append((self.spent, self.scorer.value))


def replay_promotion(mf: MultiFidelity, controller: str, *, budget: int, seed: int, eta: int = DEFAULT_ETA) -> Run:
    """``mf:<controller>``: ASHA with two rungs (see the module docstring); ``budget`` in low-trial units."""
    _check_budget(budget)
    if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
        raise ConfigError(f"eta must be an integer >= 2, got {eta!r}")
    spec = controller_spec(controller)
    ctl = make_controller(spec, mf.table, mf.objectives, seed, [mf.in_subset])
    scheduler = Promotion(mf, ctl, budget=budget, seed=seed, eta=eta, origin=spec.name)
    drive(mf.table, scheduler, noise_generator(seed), lambda *_: None, name=spec.name, seed=seed)
    return _run(f"mf:{controller}", seed, scheduler.tried, scheduler.events, budget, mf.exhaustive)
