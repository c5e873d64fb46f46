"""Multi-fidelity search: asynchronous successive halving (ASHA, Li et al. 2020) with promotion by Pareto rank.

A recipe turns it on with ``search.scheduler: {type: asha, min_steps: 20, max_steps: 60, eta: 3}``:

- **Rungs.** Training steps ``min_steps``, ``min_steps * eta``, ``min_steps * eta^2``, ... below ``max_steps``,
  then ``max_steps`` (the top rung); the training fraction is the recipe's.
- **What runs next** (:class:`Asha`, a scheduler of the study loop, so it runs on every engine and resumes from
  the journal): the space's reference points first, at the top rung (they are the baselines the front is
  compared with); then, from the highest rung down, a configuration that has earned a promotion; else the
  controller's next proposal at the bottom rung.
- **Promotion.** At each rung, the top ``1 / eta`` of the complete results there (``floor(n / eta)`` of ``n``)
  are promoted one rung up, best first, each once. "Top" is by Pareto rank of the rung's observed values
  (non-dominated sorting), then crowding distance within a rank: the configurations that spread the rung's
  front go first. A promoted trial is the same configuration and seed trained again, longer, from scratch.
- **The controller learns from the rung it proposes at**, the bottom one: a bottom-rung result is an
  observation, and its longer re-runs are not (they are other numbers for the same configuration).
- **The front is the top rung's** (:func:`top_steps`): ``status``, ``pareto``, ``report`` and ``finalize`` read
  it from the top-rung trials only, and say so; lower rungs are the search's working.
- **Budget** counts trials at every rung; the cost in top-rung trials is what ``status`` adds up.
- **A space smaller than the budget.** Once the controller has nothing new to propose, the budget left goes to
  promotions beyond the ``1 / eta`` quota, best first and top rung first, so the top rung (the front) still fills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autopeft.controllers import Controller
from autopeft.objectives import Objective, to_minimize
from autopeft.pareto import crowding_distance, non_dominated_sort
from autopeft.study.journal import Trial
from autopeft.study.loop import LoopState, Planned, objective_values, propose_next
from autopeft.study.references import REFERENCE
from autopeft.study.rungs import AshaConfig, top_steps
from autopeft.trial import config_key

__all__ = ["PROMOTE", "Asha", "AshaConfig", "promotion_order", "top_steps"]

#: The origin prefix of a promoted trial (``promote:bo``).
PROMOTE = "promote:"
def promotion_order(points: np.ndarray) -> list[int]:
    """Row indices of ``points`` (minimisation values) best first: by Pareto rank, then by crowding distance
    within a rank (larger first; ties keep row order)."""
    order: list[int] = []
    for front in non_dominated_sort(points):
        distance = crowding_distance(points[front])
        order.extend(int(front[i]) for i in sorted(range(len(front)), key=lambda i: -distance[i]))
    return order


class Asha:
    """The multi-fidelity scheduler; see the module docstring. :attr:`exhausted` holds the controller's message
    once it has nothing left to propose (promotions still run)."""

    def __init__(self, controller: Controller, objectives: Sequence[Objective], *, budget: int, config: AshaConfig,
                 train_fraction: float, seed: int, origin: str,
                 references: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.controller, self.objectives = controller, list(objectives)
        self.budget, self.config, self.seed, self.origin = budget, config, seed, origin
        self.rungs = config.rungs(train_fraction)
        self.references = dict(references or {})
        self.exhausted: str | None = None

    def _rung(self, trial: Trial) -> int | None:
        steps = [r.steps for r in self.rungs]
        return steps.index(trial.fidelity.steps) if trial.fidelity.steps in steps else None

    def next(self, state: LoopState) -> Planned | None:
        if len(state.trials) >= self.budget:
            return None
        present = {t.origin for t in state.trials}
        for name, config in self.references.items():
            if f"{REFERENCE}{name}" not in present:
                return Planned(dict(config), self.rungs[-1], self.seed, f"{REFERENCE}{name}")
        searched = [t for t in state.trials if not t.origin.startswith(REFERENCE)]
        promotion = self._promotion(searched)
        if promotion is not None:
            return promotion
        if self.exhausted is None:
            bottom = [t for t in searched if self._rung(t) == 0]
            proposal = propose_next(self.controller, bottom, state.running, self.objectives)
            if not isinstance(proposal, str):
                return Planned(proposal, self.rungs[0], self.seed, self.origin)
            self.exhausted = proposal
        return self._promotion(searched, every=True)  # nothing new to try: the budget left goes to promotions

    def _promotion(self, searched: Sequence[Trial], *, every: bool = False) -> Planned | None:
        """The next promotion, from the highest rung down (``every``: see :meth:`promotable`)."""
        for k in range(len(self.rungs) - 2, -1, -1):
            promoted = self.promotable(searched, k, every=every)
            if promoted is not None:
                return Planned(promoted.config, self.rungs[k + 1], promoted.seed, f"{PROMOTE}{self.origin}")
        return None

    def promotable(self, searched: Sequence[Trial], k: int, *, every: bool = False) -> Trial | None:
        """The best trial of rung ``k`` in its top ``1 / eta`` (``every``: of all of them, once the space is
        exhausted) that has no trial at rung ``k + 1`` yet."""
        at_k = [(t, v) for t in searched if self._rung(t) == k
                for v in [objective_values(t, self.objectives)] if v is not None]
        quota = len(at_k) if every else len(at_k) // self.config.eta
        if quota == 0:
            return None
        above = {config_key(t.config) for t in searched if self._rung(t) == k + 1}
        points = to_minimize([[v[o.name] for o in self.objectives] for _, v in at_k], self.objectives)
        for i in promotion_order(points)[:quota]:
            if config_key(at_k[i][0].config) not in above:
                return at_k[i][0]
        return None

    def finished(self, trial: Trial, state: LoopState) -> None:
        return None
