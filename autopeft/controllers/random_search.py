"""``random``: uniform draws from the space — the baseline every other controller must beat.

Named ``random_search`` rather than ``random`` so that no tool that puts this folder on ``sys.path`` ever
mistakes it for the standard library's :mod:`random`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from autopeft.controllers.base import Controller, Round, register_controller

__all__ = ["RandomSearch"]


@register_controller
class RandomSearch(Controller):
    """Each proposal is a uniform draw from the space (log-uniform on log ranges), untried and feasible.

    Why keep it: it is the honest baseline for the Pareto-front comparisons, and, unlike model-based
    search, it cannot be fooled by a misleading surrogate. It takes no options.
    """

    name: ClassVar[str] = "random"

    def _propose(self, state: Round) -> list[dict[str, Any]]:
        return self.fresh(state, state.n)
