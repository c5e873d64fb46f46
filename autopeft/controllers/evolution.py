"""``evolution``: NSGA-II style multi-objective evolution over configurations.

The population is the best ``population`` complete observations, ranked by non-dominated sorting and, within
the last front admitted, by crowding distance (NSGA-II's (mu + lambda) survival over everything seen, so a good
old configuration is never forgotten). Each child comes from two parents picked by binary tournament (lower
front first, then larger crowding distance), crossed uniformly dimension by dimension (block by block for a
per-layer dimension), repaired into a member of the space by :func:`repair`, and moved to a random neighbour
with probability ``mutation`` — always when it duplicates a tried configuration or breaks a constraint.
Until ``population`` configurations have been tried, proposals are uniform draws.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from autopeft.controllers.base import Controller, Round, register_controller
from autopeft.errors import ConfigError
from autopeft.pareto import crowding_distance, non_dominated_sort
from autopeft.space import Space

__all__ = ["Evolution", "crossover", "repair"]

#: Children tried per proposal before falling back to a uniform draw; neighbour moves tried per child.
_CHILD_TRIES = 30
_MOVE_TRIES = 10


def repair(space: Space, config: Mapping[str, Any]) -> dict[str, Any]:
    """The member nearest to a spliced ``config``: drop keys whose conditions no longer hold, fill the rest.

    Dimensions are walked in order, so a key is kept exactly when the values kept before it make it active
    (a per-layer rank survives only if the child's method is still one that uses ranks); active dimensions
    with no value get their defaults through :meth:`Space.validate` with ``fill=True``.
    """
    kept: dict[str, Any] = {}
    for dim in space.dimensions:
        if dim.name in config and space.is_active(dim, kept):
            kept[dim.name] = config[dim.name]
    return space.validate(kept, fill=True)


def crossover(space: Space, a: Mapping[str, Any], b: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Uniform crossover: each dimension (each block of a per-layer one) from ``a`` or ``b`` with equal odds.

    A dimension only one parent has is inherited from it, so a child that takes the parent's method also
    takes that method's options; :func:`repair` then drops whatever the child's choices made inactive.
    """
    child: dict[str, Any] = {}
    for dim in space.dimensions:
        in_a, in_b = dim.name in a, dim.name in b
        if in_a and in_b:
            x, y = a[dim.name], b[dim.name]
            if isinstance(x, Mapping) and isinstance(y, Mapping):
                child[dim.name] = {k: (x[k] if rng.random() < 0.5 else y.get(k, x[k])) for k in x}
            else:
                child[dim.name] = x if rng.random() < 0.5 else y
        elif in_a or in_b:
            child[dim.name] = a[dim.name] if in_a else b[dim.name]
    return repair(space, child)


@register_controller
class Evolution(Controller):
    """NSGA-II over configurations; options ``population`` (16) and ``mutation`` (0.5, a probability)."""

    name: ClassVar[str] = "evolution"
    defaults: ClassVar[Mapping[str, Any]] = {"population": 16, "mutation": 0.5}

    def _check_options(self) -> None:
        self.integer_option("population", 2)
        rate = self.options["mutation"]
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= float(rate) <= 1.0:
            raise ConfigError(f"controller 'evolution': option 'mutation' must be a probability in [0, 1], "
                              f"got {rate!r}")

    def _propose(self, state: Round) -> list[dict[str, Any]]:
        size = int(self.options["population"])
        if len(state.configs) < 2 or len(state.tried) < size:
            # The initial population: uniform draws until `population` configurations have been tried.
            return self.fresh(state, state.n)
        parents, rank, crowd = self._population(state, size)
        out: list[dict[str, Any]] = []
        for _ in range(state.n):
            child = self._child(state, parents, rank, crowd)
            if child is None:
                draws = self.fresh(state, 1, required=not out)
                if not draws:
                    break
                child = draws[0]
            out.append(child)
        return out

    def _population(self, state: Round, size: int) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
        """The survivors: whole fronts while they fit, then the most spread-out (then most recent) of the next."""
        points = self.to_min(state.values)
        chosen: list[int] = []
        rank: list[int] = []
        crowd: list[float] = []
        for r, front in enumerate(non_dominated_sort(points)):
            distance = crowding_distance(points[front])
            order = sorted(range(len(front)), key=lambda i: (-distance[i], -int(front[i])))
            for i in order[: size - len(chosen)]:
                chosen.append(int(front[i]))
                rank.append(r)
                crowd.append(float(distance[i]))
            if len(chosen) >= size:
                break
        return [state.configs[i] for i in chosen], np.asarray(rank), np.asarray(crowd)

    def _tournament(self, rng: np.random.Generator, rank: np.ndarray, crowd: np.ndarray) -> int:
        i, j = (int(x) for x in rng.integers(len(rank), size=2))
        if (rank[j], -crowd[j]) < (rank[i], -crowd[i]):
            return j
        return i

    def _child(self, state: Round, parents: list[dict[str, Any]], rank: np.ndarray,
               crowd: np.ndarray) -> dict[str, Any] | None:
        rng = state.rng
        rate = float(self.options["mutation"])
        for _ in range(_CHILD_TRIES):
            a = self._tournament(rng, rank, crowd)
            b = self._tournament(rng, rank, crowd)
            child = crossover(self.space, parents[a], parents[b], rng)
            if rng.random() < rate:
                child = self._mutate(child, rng)
            for _ in range(_MOVE_TRIES):
                if self.accept(state, child):
                    return child
                child = self._mutate(child, rng)  # a duplicate or infeasible child always moves on
        return None

    def _mutate(self, config: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """A uniformly chosen neighbour (one dimension, or one block of a per-layer one, changed)."""
        options = self.space.neighbours(config)
        return options[int(rng.integers(len(options)))] if options else config
