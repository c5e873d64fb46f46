"""Pareto machinery for multi-objective search on *minimisation* points: pure numpy, no torch.

Every objective is turned into "minimise" once, by :func:`autopeft.objectives.to_minimize`; everything in
this module works on such points, arrays of shape ``(n, m)``: n points, m objectives.

- :func:`pareto_mask`, :func:`non_dominated_sort` (NSGA-II fronts) and :func:`crowding_distance` (NSGA-II,
  columns normalised by their range).
- :func:`hypervolume`: exact; a sort sweep for m <= 2, slices along the last axis with 2-D sweeps for m = 3,
  inclusion-exclusion for m > 3 (at most :data:`MAX_INCLUSION_EXCLUSION_POINTS` non-dominated points).
  Only points strictly better than the reference in every coordinate contribute.
- :func:`hypervolume_improvement`: HV(front with x) - HV(front) for many candidates x at once, vectorised
  for m <= 2 (it sits inside Monte Carlo acquisition loops).
- :func:`knee_point` to pick one point of a front.

Every function raises :class:`ValueError` with a one-line message naming the bad value and what is allowed:
points that are not 2-D or not finite, a reference of the wrong length.

>>> points = [[-0.9, 6.0], [-0.8, 4.0], [-0.7, 5.0]]   # (-accuracy, log10 trainable parameters)
>>> pareto_mask(points)
array([ True,  True, False])
>>> [front.tolist() for front in non_dominated_sort(points)]
[[0, 1], [2]]
>>> round(hypervolume(points, reference=[-0.5, 7.0]), 6)
1.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_INCLUSION_EXCLUSION_POINTS",
    "crowding_distance",
    "hypervolume",
    "hypervolume_improvement",
    "knee_point",
    "non_dominated_sort",
    "pareto_mask",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: Above this many non-dominated points, hypervolume for m > 3 objectives (2**n subsets) is refused.
MAX_INCLUSION_EXCLUSION_POINTS = 12

# Extreme points this close to degenerate do not define a knee hyperplane; sum(f) = 1 is used instead.
_MAX_CONDITION = 1e10


# ----------------------------------------------------------------------------------------------- validation


def _as_points(points: npt.ArrayLike, name: str = "points") -> FloatArray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n points, m objectives), got shape {arr.shape}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least 1 objective column, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        row = int(np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[0])
        raise ValueError(f"{name} must be finite, got {arr[row].tolist()} in row {row}")
    return arr


def _as_reference(reference: npt.ArrayLike, m: int) -> FloatArray:
    ref = np.asarray(reference, dtype=np.float64)
    if ref.ndim != 1 or ref.shape[0] != m:
        raise ValueError(f"reference must be 1-D with one value per objective ({m}), got shape {ref.shape}")
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"reference must be finite, got {ref.tolist()}")
    return ref


# ----------------------------------------------------------------------------------------------- dominance


def pareto_mask(points: npt.ArrayLike) -> BoolArray:
    """Boolean mask of the non-dominated rows of ``points`` (n, m); every copy of a duplicate is kept.

    Each surviving point sweeps away, in one vectorised step, every live point it dominates; points are
    visited by increasing coordinate sum (a dominator has a smaller sum), so dominated points rarely get a
    turn and the cost is about O(m n |front|).
    """
    arr = _as_points(points)
    n = arr.shape[0]
    alive = np.ones(n, dtype=bool)
    for i in np.argsort(arr.sum(axis=1), kind="stable"):
        if not alive[i]:
            continue
        p = arr[i]
        live = np.flatnonzero(alive)
        rest = arr[live]
        beaten = np.all(p <= rest, axis=1) & np.any(p < rest, axis=1)
        alive[live[beaten]] = False
    return alive


def _dominance_matrix(arr: FloatArray) -> BoolArray:
    """``D[i, j]``: row i dominates row j. Built column by column to hold O(n^2) booleans, not O(m n^2)."""
    n, m = arr.shape
    no_worse = np.ones((n, n), dtype=bool)
    better = np.zeros((n, n), dtype=bool)
    for k in range(m):
        column = arr[:, k]
        no_worse &= column[:, None] <= column[None, :]
        better |= column[:, None] < column[None, :]
    return no_worse & better


def non_dominated_sort(points: npt.ArrayLike) -> list[IntArray]:
    """NSGA-II fronts: a list of arrays of row indices (ascending), front 0 (the non-dominated rows) first.

    Vectorised fast non-dominated sort: O(m n^2) time and O(n^2) memory for the dominance matrix.
    """
    arr = _as_points(points)
    n = arr.shape[0]
    if n == 0:
        return []
    dom = _dominance_matrix(arr)
    counts = dom.sum(axis=0)  # how many rows dominate each row
    assigned = np.zeros(n, dtype=bool)
    fronts: list[IntArray] = []
    current = np.flatnonzero(counts == 0)
    while current.size:
        fronts.append(current.astype(np.int64))
        assigned[current] = True
        counts = counts - dom[current].sum(axis=0)
        current = np.flatnonzero((counts == 0) & ~assigned)
    return fronts


def crowding_distance(points: npt.ArrayLike) -> FloatArray:
    """NSGA-II crowding distance of each row of ``points`` (n, m), usually one front.

    Per objective, rows are sorted (stably) and the two boundary rows get ``inf``; an interior row adds
    ``(next - previous) / (max - min)``. An objective whose range is 0 adds nothing (no boundary ``inf``
    either), so only informative objectives mark boundaries. With n <= 2 every row is ``inf``.
    """
    arr = _as_points(points)
    n, m = arr.shape
    distance = np.zeros(n, dtype=np.float64)
    if n <= 2:
        distance[:] = np.inf
        return distance
    order = np.argsort(arr, axis=0, kind="stable")
    for k in range(m):
        column = arr[order[:, k], k]
        span = column[-1] - column[0]
        if span <= 0.0:
            continue
        distance[order[1:-1, k]] += (column[2:] - column[:-2]) / span
        distance[order[0, k]] = np.inf
        distance[order[-1, k]] = np.inf
    return distance


# ----------------------------------------------------------------------------------------------- hypervolume


def _contributing(arr: FloatArray, ref: FloatArray) -> FloatArray:
    """The distinct non-dominated points strictly better than ``ref`` everywhere: the only ones that count."""
    inside = arr[np.all(arr < ref, axis=1)]
    if inside.shape[0] <= 1:
        return inside
    inside = np.unique(inside, axis=0)
    return inside[pareto_mask(inside)]


def _hv2d(arr: FloatArray, ref: FloatArray) -> float:
    """2-D sweep over points already strictly inside ``ref``: each point adds the strip below the best y so far."""
    if arr.shape[0] == 0:
        return 0.0
    order = np.lexsort((arr[:, 1], arr[:, 0]))
    x, y = arr[order, 0], arr[order, 1]
    best_before = np.concatenate(([ref[1]], np.minimum.accumulate(y)[:-1]))
    return float(np.sum((ref[0] - x) * np.clip(best_before - y, 0.0, None)))


def _hv3d(arr: FloatArray, ref: FloatArray) -> float:
    """Slices along the last axis: between consecutive z levels the cross-section is a 2-D hypervolume."""
    n = arr.shape[0]
    if n == 0:
        return 0.0
    arr = arr[np.argsort(arr[:, 2], kind="stable")]
    z = arr[:, 2]
    z_next = np.append(z[1:], ref[2])
    volume = 0.0
    for i in range(n):
        height = z_next[i] - z[i]
        if height > 0.0:
            volume += _hv2d(arr[: i + 1, :2], ref[:2]) * height
    return volume


def _hv_inclusion_exclusion(arr: FloatArray, ref: FloatArray) -> float:
    n, m = arr.shape
    if n > MAX_INCLUSION_EXCLUSION_POINTS:
        raise ValueError(f"exact hypervolume with m={m} > 3 objectives is limited to "
                         f"{MAX_INCLUSION_EXCLUSION_POINTS} non-dominated points inside the reference, got {n}; "
                         f"use at most 3 objectives or fewer points")
    # Row s of `corners` is the lower corner of the intersection of the boxes of subset s (bit i <-> point i).
    corners = np.full((1, m), -np.inf)
    sizes = np.zeros(1, dtype=np.int64)
    for p in arr:
        corners = np.concatenate((corners, np.maximum(corners, p)))
        sizes = np.concatenate((sizes, sizes + 1))
    volumes = np.prod(ref - corners[1:], axis=1)
    signs = np.where(sizes[1:] % 2 == 1, 1.0, -1.0)
    return max(float(np.sum(signs * volumes)), 0.0)


def _hv_inside(arr: FloatArray, ref: FloatArray) -> float:
    """Hypervolume of points that are distinct, non-dominated and strictly inside ``ref``."""
    m = arr.shape[1]
    if arr.shape[0] == 0:
        return 0.0
    if m == 1:
        return float(ref[0] - arr[:, 0].min())
    if m == 2:
        return _hv2d(arr, ref)
    if m == 3:
        return _hv3d(arr, ref)
    return _hv_inclusion_exclusion(arr, ref)


def hypervolume(points: npt.ArrayLike, reference: npt.ArrayLike) -> float:
    """Exact hypervolume (Lebesgue measure) dominated by minimisation ``points`` (n, m) and bounded by ``reference``.

    Points not strictly better than the reference in every coordinate contribute nothing. m <= 2: sort sweep,
    O(n log n); m = 3: slicing along the last axis with 2-D sweeps, O(n^2 log n); m > 3: inclusion-exclusion
    over at most :data:`MAX_INCLUSION_EXCLUSION_POINTS` non-dominated points, otherwise ValueError.

    >>> hypervolume([[1.0, 2.0], [2.0, 1.0]], reference=[3.0, 3.0])
    3.0
    """
    arr = _as_points(points)
    ref = _as_reference(reference, arr.shape[1])
    return _hv_inside(_contributing(arr, ref), ref)


def _hvi2d(front: FloatArray, cand: FloatArray, ref: FloatArray) -> FloatArray:
    """Vectorised 2-D improvement, O((k + c) log k) for a front of k points and c candidates.

    The area the front already dominates above abscissa u starts at the staircase height
    h(u) = min(ref_y, min{p_y : p_x <= u}), non-increasing in u. A candidate (x, y) adds
    the integral of max(0, h(u) - y) for u in [x, ref_x]; the integrand is positive exactly for u below
    u* = the first step where h drops to <= y, so it is H(min(u*, ref_x)) - H(x) - y * (width), with H the
    piecewise-linear antiderivative of h. Coordinates are shifted so the reference is the origin, which
    keeps H's magnitudes (and its cancellation error) at the scale of the front's spread.
    """
    out = np.zeros(cand.shape[0], dtype=np.float64)
    front = front - ref
    cand = cand - ref
    live = np.flatnonzero(np.all(cand < 0.0, axis=1))
    if live.size == 0:
        return out
    x, y = cand[live, 0], cand[live, 1]
    if front.shape[0] == 0:
        out[live] = x * y  # (0 - x) * (0 - y)
        return out
    front = front[np.argsort(front[:, 0])]  # distinct and non-dominated: x strictly up, y strictly down
    s, h = front[:, 0], front[:, 1]
    # H(s_j) with H(s_0) = 0; below s_0 the staircase height is the reference (0 after the shift).
    h_at_knots = np.concatenate(([0.0], np.cumsum(h[:-1] * np.diff(s))))

    def antiderivative(u: FloatArray) -> FloatArray:
        j = np.searchsorted(s, u, side="right") - 1
        jc = np.clip(j, 0, None)
        return np.where(j >= 0, h_at_knots[jc] + h[jc] * (u - s[jc]), 0.0)

    first_low = np.searchsorted(-h, -y, side="left")  # first step with h <= y (h is strictly decreasing)
    u_star = np.where(first_low < s.shape[0], s[np.clip(first_low, 0, s.shape[0] - 1)], 0.0)
    upper = np.minimum(u_star, 0.0)
    width = upper - x
    gain = antiderivative(upper) - antiderivative(x) - y * width
    out[live] = np.where(width > 0.0, np.clip(gain, 0.0, None), 0.0)
    return out


def hypervolume_improvement(front: npt.ArrayLike, candidates: npt.ArrayLike, reference: npt.ArrayLike) -> FloatArray:
    """HV(front ∪ {x}) - HV(front) for every row x of ``candidates`` (c, m); all minimisation points.

    ``front`` may hold dominated points or none at all (shape (0, m)). For m <= 2 all candidates are done at
    once (tens of thousands of Monte Carlo rows in milliseconds); for m >= 3 each candidate that is inside the
    reference and not weakly dominated by the front is added in turn (with the m > 3 limit of
    :func:`hypervolume`).

    >>> hypervolume_improvement([[1.0, 2.0]], [[2.0, 1.0], [1.0, 2.0], [0.0, 0.0]], reference=[3.0, 3.0])
    array([1., 0., 7.])
    """
    base = _as_points(front, "front")
    cand = _as_points(candidates, "candidates")
    m = base.shape[1]
    if cand.shape[1] != m:
        raise ValueError(f"candidates must have the front's {m} objective columns, got shape {cand.shape}")
    ref = _as_reference(reference, m)
    base = _contributing(base, ref)
    if m == 1:
        best = float(base[:, 0].min()) if base.shape[0] else float(ref[0])
        gain: FloatArray = np.maximum(best - cand[:, 0], 0.0)
        return gain
    if m == 2:
        return _hvi2d(base, cand, ref)
    out = np.zeros(cand.shape[0], dtype=np.float64)
    useful = np.all(cand < ref, axis=1)
    for p in base:  # a candidate weakly dominated by the front adds nothing
        useful &= ~np.all(p <= cand, axis=1)
    rows = np.flatnonzero(useful)
    if rows.size == 0:
        return out
    base_hv = _hv_inside(base, ref)
    for i in rows:
        x = cand[i]
        kept = base[~np.all(x <= base, axis=1)]  # drop what x dominates; x itself is not dominated
        out[i] = max(_hv_inside(np.vstack((kept, x)), ref) - base_hv, 0.0)
    return out


# ----------------------------------------------------------------------------------------------- choosing


def knee_point(points: npt.ArrayLike, reference: npt.ArrayLike | None = None) -> int:
    """Index (into ``points``) of the knee of the non-dominated set of minimisation ``points`` (n, m).

    The front is normalised per objective to [0, 1] by its own min and max (a constant objective becomes 0).
    The extreme points are, per objective, the first front point minimising it; the knee is the front point
    with the largest signed perpendicular distance below (on the ideal point's side of) the line (m = 2) or
    hyperplane (m > 2) through them. If the extremes do not span a hyperplane (one point is extreme in two
    objectives) the hyperplane through the normalised unit points, sum(f) = 1, stands in.

    A front of 1 or 2 distinct points has no interior. Normalised by its own span, two points are always (0, 1)
    and (1, 0), equally near the ideal point, so that span cannot choose. Given the hypervolume ``reference``
    point, the point that dominates the most volume on its own wins: the one that gives up less of the box
    between it and the reference, so a much smaller point that learned little no longer wins by the tie.
    Without it the point nearest the ideal point after normalisation wins. Ties go to the lowest index.

    >>> knee_point([[0.0, 1.0], [0.1, 0.1], [1.0, 0.0], [0.5, 0.6]])
    1
    >>> knee_point([[-0.27, 3.3], [-0.64, 4.4]], reference=[0.0, 7.4])  # accuracy 0.27 at 10^3.3 params, ...
    1
    """
    arr = _as_points(points)
    if arr.shape[0] == 0:
        raise ValueError("points is empty; a knee needs at least 1 point")
    ref = None if reference is None else _as_reference(reference, arr.shape[1])
    index = np.flatnonzero(pareto_mask(arr))
    front = arr[index]
    low, high = front.min(axis=0), front.max(axis=0)
    span = high - low
    normed = np.where(span > 0.0, (front - low) / np.where(span > 0.0, span, 1.0), 0.0)
    m = arr.shape[1]
    if np.unique(normed, axis=0).shape[0] <= 2 or m == 1:
        if ref is not None and m > 1:  # the volume each point dominates alone
            return int(index[np.argmax(np.prod(np.clip(ref - front, 0.0, None), axis=1))])
        return int(index[np.argmin(np.linalg.norm(normed, axis=1))])
    extremes = normed[np.argmin(normed, axis=0)]
    normal = np.ones(m)
    if np.linalg.cond(extremes) < _MAX_CONDITION:
        normal = np.linalg.solve(extremes, np.ones(m))
    below = (1.0 - normed @ normal) / np.linalg.norm(normal)
    return int(index[np.argmax(below)])
