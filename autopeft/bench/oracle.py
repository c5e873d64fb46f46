"""The best any search could do on a table: the largest hypervolume ratio that ``k`` trials can reach.

A search that knew the table would try front members only, and the best ``k`` of them — the ``k``-subset of the
exhaustive front with the largest hypervolume — bound every search's ratio after ``k`` trials (a dominated
configuration never adds hypervolume that a front member would not). So "trials to 0.99" has a floor: a goal
such as "a warm start needs at most half of a cold start's trials" can only be met where half of the cold start
is above that floor.

The subsets are enumerated (:func:`best_subset_volumes`), which is exact and cheap for the fronts of PEFT-Bench
tables (7 points: 127 subsets) and refused beyond :data:`MAX_FRONT` points.

>>> import numpy as np
>>> best_subset_volumes(np.array([[0.0, 0.5], [0.5, 0.0]]), reference=np.array([1.0, 1.0]))
[0.5, 0.75]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from autopeft.errors import ConfigError
from autopeft.objectives import Objective, to_minimize
from autopeft.pareto import hypervolume

if TYPE_CHECKING:
    from autopeft.bench.table import Table

__all__ = ["MAX_FRONT", "best_subset_volumes", "oracle_curve", "oracle_trials"]

FloatArray = npt.NDArray[np.float64]
#: The largest front enumerated (2**16 subsets); a larger one is a ConfigError.
MAX_FRONT = 16


def best_subset_volumes(points: FloatArray, reference: FloatArray) -> list[float]:
    """Entry ``k - 1``: the largest hypervolume (minimisation space, from ``reference``) of any ``k`` of ``points``."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or not len(pts):
        raise ValueError(f"points must be a non-empty (n, m) array, got shape {pts.shape}")
    if len(pts) > MAX_FRONT:
        raise ConfigError(f"the oracle enumerates the subsets of at most {MAX_FRONT} front points, got {len(pts)}")
    out = []
    for k in range(1, len(pts) + 1):
        out.append(max(hypervolume(pts[list(subset)], reference)
                       for subset in itertools.combinations(range(len(pts)), k)))
    return [float(v) for v in out]


def oracle_curve(table: Table, fidelity: int, objectives: Sequence[Objective], reference: FloatArray) -> list[float]:
    """Entry ``k - 1``: the best hypervolume ratio after ``k`` trials on ``table`` at ``fidelity`` (seed means,
    ``reference`` in minimisation space, as a replay is scored); 1.0 from the front's size on."""
    _, values, total = table.front(fidelity, objectives, reference=reference)
    if not len(values) or total <= 0:
        raise ConfigError(f"table {table.name!r} has no front with a positive hypervolume at {fidelity} steps")
    return [v / total for v in best_subset_volumes(to_minimize(values, objectives), reference)]


def oracle_trials(curve: Sequence[float], level: float) -> int:
    """The fewest trials after which ``curve`` (:func:`oracle_curve`) reaches ``level`` (<= 1)."""
    if not 0 < level <= 1:
        raise ValueError(f"level must be in (0, 1], got {level!r}")
    return next(k for k, ratio in enumerate(curve, start=1) if ratio >= level - 1e-12)
