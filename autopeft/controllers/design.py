"""Space-filling designs: which of a pool of encoded candidates to try before any model is fit.

:func:`greedy_maximin` picks, one at a time, the candidate farthest from everything tried and picked so far
(Euclidean distance in the encoded space), so the first trials spread over the space instead of clustering
where uniform draws happen to fall.

>>> import numpy as np
>>> greedy_maximin(np.array([[0.0], [0.1], [1.0], [0.6]]), np.zeros((0, 1)), 3)
[0, 2, 3]
>>> greedy_maximin(np.array([[0.0], [0.1], [1.0]]), np.array([[0.9]]), 1)
[0]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["greedy_maximin"]

FloatArray = npt.NDArray[np.float64]


def greedy_maximin(x: FloatArray, seen: FloatArray, k: int) -> list[int]:
    """Indices of up to ``k`` rows of ``x``, each the row farthest from every row of ``seen`` and every earlier
    pick (ties go to the lowest index; with nothing seen, the first pick is row 0)."""
    pool = np.asarray(x, dtype=float)
    tried = np.asarray(seen, dtype=float)
    if pool.ndim != 2 or tried.ndim != 2 or (len(tried) and tried.shape[1] != pool.shape[1]):
        raise ValueError(f"x and seen must be 2-d with the same columns, got shapes {pool.shape} and {tried.shape}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    nearest = np.full(len(pool), np.inf)
    for row in tried:
        nearest = np.minimum(nearest, np.linalg.norm(pool - row, axis=1))
    out: list[int] = []
    for _ in range(min(k, len(pool))):
        i = int(np.argmax(nearest))
        out.append(i)
        nearest = np.minimum(nearest, np.linalg.norm(pool - pool[i], axis=1))
        nearest[i] = -np.inf
    return out
