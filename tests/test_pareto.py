"""autopeft.pareto against brute force written here (double loops, union-of-boxes on a compressed grid) and
closed forms."""

from __future__ import annotations

import doctest
import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopeft import pareto
from autopeft.pareto import (
    MAX_INCLUSION_EXCLUSION_POINTS,
    crowding_distance,
    hypervolume,
    hypervolume_improvement,
    knee_point,
    non_dominated_sort,
    pareto_mask,
)

FAST = settings(max_examples=60, deadline=None)


# ------------------------------------------------------------------------------------------ brute force


def brute_dominates(a: np.ndarray, b: np.ndarray) -> bool:
    no_worse = all(x <= y for x, y in zip(a, b, strict=True))
    better = any(x < y for x, y in zip(a, b, strict=True))
    return no_worse and better


def brute_mask(points: np.ndarray) -> list[bool]:
    return [not any(brute_dominates(q, p) for q in points) for p in points]


def brute_fronts(points: np.ndarray) -> list[list[int]]:
    left = list(range(len(points)))
    fronts = []
    while left:
        front = [i for i in left if not any(brute_dominates(points[j], points[i]) for j in left)]
        fronts.append(front)
        left = [i for i in left if i not in front]
    return fronts


def brute_hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact volume of the union of boxes [p, ref]: cut space at every distinct coordinate, count covered cells."""
    inside = np.array([p for p in points if np.all(p < ref)]).reshape(-1, len(ref))
    if inside.shape[0] == 0:
        return 0.0
    axes = [np.unique(np.append(inside[:, k], ref[k])) for k in range(len(ref))]
    lows = np.stack([g.ravel() for g in np.meshgrid(*[a[:-1] for a in axes], indexing="ij")], axis=1)
    sizes = np.stack([g.ravel() for g in np.meshgrid(*[np.diff(a) for a in axes], indexing="ij")], axis=1)
    covered = np.zeros(lows.shape[0], dtype=bool)
    for p in inside:
        covered |= np.all(p <= lows, axis=1)
    return float(np.prod(sizes[covered], axis=1).sum())


# ------------------------------------------------------------------------------------------ strategies


@st.composite
def int_points(draw: st.DrawFn, m: int | None = None, max_n: int = 14, high: int = 5) -> np.ndarray:
    """Small integer grids: ties and exact duplicates are common."""
    m = draw(st.integers(1, 4)) if m is None else m
    n = draw(st.integers(0, max_n))
    rows = draw(st.lists(st.lists(st.integers(0, high), min_size=m, max_size=m), min_size=n, max_size=n))
    return np.array(rows, dtype=float).reshape(n, m)


@st.composite
def float_points(draw: st.DrawFn, m: int, max_n: int = 20) -> np.ndarray:
    n = draw(st.integers(0, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.uniform(0.0, 1.0, size=(n, m))


# ------------------------------------------------------------------------------------------ dominance


@FAST
@given(int_points())
def test_pareto_mask_matches_double_loop(points: np.ndarray) -> None:
    assert pareto_mask(points).tolist() == brute_mask(points)


@FAST
@given(int_points())
def test_non_dominated_sort_matches_peeling(points: np.ndarray) -> None:
    fronts = non_dominated_sort(points)
    assert [f.tolist() for f in fronts] == brute_fronts(points)
    if fronts:
        assert fronts[0].tolist() == np.flatnonzero(pareto_mask(points)).tolist()
    for better, worse in itertools.pairwise(fronts):  # NSGA-II rank: each point beaten from the front above
        assert all(any(brute_dominates(points[i], points[j]) for i in better) for j in worse)


def test_duplicates_are_all_non_dominated() -> None:
    points = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0], [2.0, 2.0], [0.0, 3.0]])
    assert pareto_mask(points).tolist() == [True, True, False, False, True]
    assert [f.tolist() for f in non_dominated_sort(points)] == [[0, 1, 4], [2, 3]]


def test_empty_points() -> None:
    empty = np.empty((0, 2))
    assert pareto_mask(empty).shape == (0,)
    assert non_dominated_sort(empty) == []
    assert crowding_distance(empty).shape == (0,)
    assert hypervolume(empty, [1.0, 1.0]) == 0.0


# ------------------------------------------------------------------------------------------ crowding distance


def test_crowding_distance_hand_example() -> None:
    # objective 0 sorted 0,1,4,5 (range 5); objective 1 sorted 0,1,3,6 (range 6)
    points = np.array([[1.0, 3.0], [5.0, 0.0], [0.0, 6.0], [4.0, 1.0]])
    np.testing.assert_allclose(crowding_distance(points), [(4 - 0) / 5 + (6 - 1) / 6, np.inf, np.inf,
                                                           (5 - 1) / 5 + (3 - 0) / 6])


def test_crowding_distance_small_and_constant() -> None:
    assert np.all(np.isinf(crowding_distance([[0.0, 1.0], [1.0, 0.0]])))
    # the constant objective adds nothing and marks no boundary
    np.testing.assert_allclose(crowding_distance([[0.0, 7.0], [1.0, 7.0], [3.0, 7.0]]), [np.inf, 1.0, np.inf])
    assert crowding_distance([[2.0, 2.0]] * 4).tolist() == [0.0] * 4


@FAST
@given(float_points(m=3, max_n=15), st.integers(0, 2**32 - 1))
def test_crowding_distance_is_permutation_equivariant(points: np.ndarray, seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(points.shape[0])
    np.testing.assert_allclose(crowding_distance(points[perm]), crowding_distance(points)[perm])


# ------------------------------------------------------------------------------------------ hypervolume


@FAST
@given(int_points(m=2, max_n=12), st.lists(st.integers(0, 6), min_size=2, max_size=2))
def test_hypervolume_2d_matches_union_of_boxes(points: np.ndarray, ref: list[int]) -> None:
    assert hypervolume(points, ref) == pytest.approx(brute_hypervolume(points, np.array(ref, float)), abs=1e-9)


@FAST
@given(int_points(m=3, max_n=12), st.lists(st.integers(0, 6), min_size=3, max_size=3))
def test_hypervolume_3d_matches_union_of_boxes(points: np.ndarray, ref: list[int]) -> None:
    assert hypervolume(points, ref) == pytest.approx(brute_hypervolume(points, np.array(ref, float)), abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(int_points(m=4, max_n=8), st.lists(st.integers(0, 6), min_size=4, max_size=4))
def test_hypervolume_4d_inclusion_exclusion_matches_union_of_boxes(points: np.ndarray, ref: list[int]) -> None:
    assert hypervolume(points, ref) == pytest.approx(brute_hypervolume(points, np.array(ref, float)), abs=1e-9)


@FAST
@given(float_points(m=3, max_n=25), st.integers(0, 2**32 - 1))
def test_hypervolume_3d_floats_match_and_ignore_order(points: np.ndarray, seed: int) -> None:
    ref = np.array([1.0, 1.1, 1.2])
    expected = brute_hypervolume(points, ref)
    assert hypervolume(points, ref) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    perm = np.random.default_rng(seed).permutation(points.shape[0])
    assert hypervolume(points[perm], ref) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_hypervolume_single_point_is_a_box(m: int) -> None:
    rng = np.random.default_rng(m)
    p, ref = rng.uniform(0, 1, m), rng.uniform(1, 2, m)
    assert hypervolume(p[None, :], ref) == pytest.approx(float(np.prod(ref - p)))


@pytest.mark.parametrize("k", [1, 2, 5, 40])
def test_hypervolume_points_on_a_line(k: int) -> None:
    # p_i = (i/k, 1 - i/k), reference (1, 1): a staircase under the diagonal of area (k - 1) / (2k)
    i = np.arange(k + 1) / k
    assert hypervolume(np.c_[i, 1 - i], [1.0, 1.0]) == pytest.approx((k - 1) / (2 * k))


def test_hypervolume_two_boxes_3d_closed_form() -> None:
    # boxes [0,2]x[1,2]x[0,2] (vol 4) and [1,2]x[0,2]x[1,2] (vol 2), overlap [1,2]x[1,2]x[1,2] (vol 1)
    assert hypervolume([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]], [2.0, 2.0, 2.0]) == pytest.approx(5.0)


def test_dominated_and_outside_points_add_nothing() -> None:
    front = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    ref = np.array([4.0, 4.0])
    base = hypervolume(front, ref)
    assert base == pytest.approx(6.0)
    extra = [[2.0, 3.0], [3.5, 3.5], [2.0, 2.0],  # dominated, dominated, duplicate
             [0.0, 4.0], [5.0, 0.0], [-1.0, 9.0]]  # on the reference, beyond it
    assert hypervolume(np.vstack([front, extra]), ref) == pytest.approx(base)
    assert hypervolume([[4.0, 0.0], [0.0, 4.0]], ref) == 0.0


def test_hypervolume_1d() -> None:
    assert hypervolume([[3.0], [1.0], [5.0]], [4.0]) == 3.0
    assert hypervolume([[5.0]], [4.0]) == 0.0


def test_hypervolume_many_points_in_4d_is_refused() -> None:
    n = MAX_INCLUSION_EXCLUSION_POINTS + 1
    t = np.linspace(0.0, 1.0, n)
    front = np.c_[t, 1 - t, t, 1 - t]  # all mutually non-dominated
    with pytest.raises(ValueError, match=rf"limited to 12 non-dominated points.*got {n}"):
        hypervolume(front, np.full(4, 2.0))
    # dominated points and copies do not count towards the limit
    crowd = np.vstack([front[:12], front[:12], front[:12] + 0.1])
    assert hypervolume(crowd, np.full(4, 2.0)) == pytest.approx(hypervolume(front[:12], np.full(4, 2.0)))


# ------------------------------------------------------------------------------------------ improvement


@FAST
@given(int_points(m=2, max_n=8), int_points(m=2, max_n=10, high=6), st.lists(st.integers(1, 6), min_size=2,
                                                                              max_size=2))
def test_improvement_2d_is_the_hypervolume_difference(front: np.ndarray, cand: np.ndarray, ref: list[int]) -> None:
    base = brute_hypervolume(front, np.array(ref, float))
    expected = [brute_hypervolume(np.vstack([front, x]), np.array(ref, float)) - base for x in cand]
    np.testing.assert_allclose(hypervolume_improvement(front, cand, ref), expected, atol=1e-9)


@FAST
@given(int_points(m=3, max_n=6), int_points(m=3, max_n=5, high=6), st.lists(st.integers(1, 6), min_size=3,
                                                                             max_size=3))
def test_improvement_3d_is_the_hypervolume_difference(front: np.ndarray, cand: np.ndarray, ref: list[int]) -> None:
    base = brute_hypervolume(front, np.array(ref, float))
    expected = [brute_hypervolume(np.vstack([front, x]), np.array(ref, float)) - base for x in cand]
    np.testing.assert_allclose(hypervolume_improvement(front, cand, ref), expected, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_2d_improvement_matches_the_generic_path(seed: int) -> None:
    # A constant third objective turns the 2-D problem into a 3-D one of equal volume (height 1), which goes
    # through the generic candidate-by-candidate path.
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 1, 30))
    front = np.c_[t, (1 - t) ** 2 + rng.normal(0, 0.05, 30)]
    cand = rng.uniform(-0.2, 1.3, size=(400, 2))
    ref = np.array([1.1, 1.2])
    fast = hypervolume_improvement(front, cand, ref)
    generic = hypervolume_improvement(np.c_[front, np.zeros(30)], np.c_[cand, np.zeros(400)], np.append(ref, 1.0))
    np.testing.assert_allclose(fast, generic, rtol=1e-9, atol=1e-12)
    assert np.all(fast >= 0.0) and np.any(fast > 0.0) and np.any(fast == 0.0)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_improvement_against_an_empty_front_is_the_box(m: int) -> None:
    cand = np.array([np.full(m, 0.5), np.full(m, 2.0)])
    np.testing.assert_allclose(hypervolume_improvement(np.empty((0, m)), cand, np.ones(m)), [0.5**m, 0.0])


def test_improvement_1d() -> None:
    np.testing.assert_allclose(hypervolume_improvement([[2.0], [3.0]], [[1.0], [2.5], [-1.0]], [4.0]),
                               [1.0, 0.0, 3.0])


# ------------------------------------------------------------------------------------------ knee


def test_knee_of_an_l_shaped_front_is_the_corner() -> None:
    vertical = [[0.0, 1.0], [0.02, 0.6], [0.04, 0.2]]  # steep arm down to the corner
    horizontal = [[0.3, 0.04], [0.7, 0.02], [1.0, 0.0]]  # flat arm away from it
    corner = [[0.05, 0.05]]
    points = np.array(horizontal[:2] + vertical + corner + horizontal[2:] + [[0.5, 0.5]])
    assert knee_point(points) == 5


def test_knee_hand_example_with_dominated_points() -> None:
    points = np.array([[5.0, 5.0], [0.0, 10.0], [6.0, 6.0], [3.0, 3.0], [10.0, 0.0], [2.0, 7.0], [8.0, 1.0]])
    # normalised front: (0, 1), (.3, .3), (1, 0), (.2, .7), (.8, .1); distance below x + y = 1 is largest at (.3, .3)
    assert knee_point(points) == 3
    # per-objective affine rescaling does not move it
    assert knee_point(points * [1e-4, 3.0] + [5.0, -2.0]) == 3


def test_knee_small_fronts_pick_the_point_nearest_the_ideal() -> None:
    assert knee_point([[1.0, 1.0]]) == 0
    assert knee_point([[3.0, 3.0], [1.0, 1.0]]) == 1  # the front is one point
    assert knee_point([[0.0, 1.0], [1.0, 0.0]]) == 0  # a tie goes to the lowest index
    assert knee_point([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]) == 0  # distance 1 vs sqrt(2)
    assert knee_point([[2.0], [1.0], [1.0]]) == 1


def test_knee_of_two_points_given_the_reference_dominates_the_most_alone() -> None:
    """Two points normalise to (0, 1) and (1, 0) whatever they are; with the reference the knee is the one whose
    own hypervolume is larger (checked against :func:`hypervolume` of each point alone), whichever comes first."""
    rng = np.random.default_rng(5)
    for _ in range(200):
        m = int(rng.integers(2, 4))
        a = rng.random(m)
        b = a + rng.normal(0.0, 0.3, m)
        b[0], b[1] = a[0] + abs(b[0] - a[0]) + 1e-3, a[1] - abs(b[1] - a[1]) - 1e-3  # a and b do not dominate
        ref = np.maximum(a, b) + rng.random(m)
        alone = [hypervolume(p[None, :], ref) for p in (a, b)]
        assert knee_point(np.array([a, b]), ref) == int(np.argmax(alone))
        assert knee_point(np.array([b, a]), ref) == 1 - int(np.argmax(alone))
        dominated = np.maximum(a, b) + 0.01  # a third point the two dominate does not change the pick
        assert knee_point(np.array([dominated, a, b]), ref) == 1 + int(np.argmax(alone))
    # a near-chance adapter 12x smaller against one that learned: accuracy 0.27 vs 0.64, log10 params 3.3 vs 4.4
    assert knee_point([[-0.27, 3.3], [-0.64, 4.4]]) == 0  # without the reference: the tie, lowest index
    assert knee_point([[-0.27, 3.3], [-0.64, 4.4]], [0.0, 7.4]) == 1
    assert knee_point([[1.0, 1.0], [1.0, 1.0]], [2.0, 2.0]) == 0  # one distinct point
    with pytest.raises(ValueError, match="reference must be 1-D with one value per objective"):
        knee_point([[0.0, 1.0], [1.0, 0.0]], [1.0])


def test_knee_3d() -> None:
    corners = np.eye(3)
    points = np.vstack([corners, [[0.2, 0.2, 0.2], [0.5, 0.4, 0.3], [0.6, 0.6, 0.6]]])
    assert knee_point(points) == 3


def test_knee_3d_uses_the_plane_through_the_extremes() -> None:
    # The plane through these extremes is about 0.21 f1 + 0.71 f2 + 0.67 f3 = const: f1 matters little, so
    # (0.6, 0.05, 0.05) lies furthest below it, while below the plane f1 + f2 + f3 = 1 (0.2, 0.2, 0.2) would win.
    extremes = [[0.0, 0.2, 1.0], [1.0, 0.0, 0.9], [0.5, 1.0, 0.0]]
    points = np.array([*extremes, [0.2, 0.2, 0.2], [0.6, 0.05, 0.05]])
    assert knee_point(points) == 4


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(("call", "match"), [
    pytest.param(lambda: pareto_mask([1.0, 2.0]), r"points must be 2-D \(n points, m objectives\), got shape \(2,\)",
                 id="mask-1d"),
    pytest.param(lambda: pareto_mask(np.empty((3, 0))), "at least 1 objective column", id="mask-no-columns"),
    pytest.param(lambda: non_dominated_sort([[1.0, math.inf]]), r"finite, got \[1.0, inf\] in row 0", id="sort-inf"),
    pytest.param(lambda: crowding_distance([[1.0], [math.nan]]), r"finite, got \[nan\] in row 1", id="crowding-nan"),
    pytest.param(lambda: hypervolume([[1.0, 2.0]], [3.0]), r"one value per objective \(2\), got shape \(1,\)",
                 id="hv-ref-length"),
    pytest.param(lambda: hypervolume([[1.0, 2.0]], [3.0, math.nan]), r"reference must be finite", id="hv-ref-nan"),
    pytest.param(lambda: hypervolume_improvement([[1.0, 2.0]], [[1.0]], [3.0, 3.0]),
                 r"front's 2 objective columns, got shape \(1, 1\)", id="hvi-columns"),
    pytest.param(lambda: hypervolume_improvement([[1.0, 2.0]], [1.0, 1.0], [3.0, 3.0]), r"candidates must be 2-D",
                 id="hvi-1d"),
    pytest.param(lambda: knee_point(np.empty((0, 2))), "needs at least 1 point", id="knee-empty"),
])
def test_bad_inputs_raise_one_line_value_errors(call: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------ module


def test_docstring_examples() -> None:
    result = doctest.testmod(pareto, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
