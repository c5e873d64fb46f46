"""``random``: dimension-by-dimension uniform draws from the space — the baseline every other controller must beat.

A draw is not uniform over the space's members: the dimensions are drawn one after another, each uniformly among
its values, a conditional one only under its parent. So the method is drawn first and a member's chance depends on
how many siblings it has; on the PEFT-Bench space each of the 2 head-only members gets 1/8 of the draws and each of
the 243 LoRA members 1/972. This is what "random search" means in Optuna, NNI and hyperopt too.

Named ``random_search`` rather than ``random`` so that no tool that puts this folder on ``sys.path`` ever
mistakes it for the standard library's :mod:`random`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from autopeft.controllers.base import Controller, Round, register_controller

__all__ = ["RandomSearch"]


@register_controller
class RandomSearch(Controller):
    """Each proposal is a draw of :meth:`autopeft.space.Space.sample` (each active dimension uniform, log-uniform
    on log ranges; see the module docstring), untried and feasible.

    Why keep it: it is the honest baseline for the Pareto-front comparisons, and, unlike model-based
    search, it cannot be fooled by a misleading surrogate. It takes no options.
    """

    name: ClassVar[str] = "random"

    def _propose(self, state: Round) -> list[dict[str, Any]]:
        return self.fresh(state, state.n)
