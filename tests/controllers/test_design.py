"""The greedy maximin design against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from autopeft.controllers.design import greedy_maximin


def _min_distance(point: np.ndarray, others: np.ndarray) -> float:
    return float(np.min(np.linalg.norm(others - point, axis=1))) if len(others) else np.inf


@pytest.mark.parametrize("seed", range(5))
def test_each_pick_is_the_farthest_from_everything_before_it(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.random((40, 3))
    seen = rng.random((int(seed), 3))
    picks = greedy_maximin(x, seen, 10)
    assert len(picks) == len(set(picks)) == 10
    chosen: list[int] = []
    for i in picks:  # brute force: the pick's distance to seen + earlier picks is the largest among the rest
        before = np.vstack([seen, x[chosen]]) if chosen else seen
        rest = [j for j in range(len(x)) if j not in chosen]
        best = max(_min_distance(x[j], before) for j in rest)
        assert _min_distance(x[i], before) == pytest.approx(best)
        chosen.append(i)
    if not len(seen):
        assert picks[0] == 0  # with nothing seen every row is infinitely far: the first (a uniform draw) wins


def test_k_beyond_the_pool_and_empty_input() -> None:
    x = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert sorted(greedy_maximin(x, np.zeros((0, 2)), 5)) == [0, 1]
    assert greedy_maximin(np.zeros((0, 2)), np.zeros((0, 2)), 3) == []
    assert greedy_maximin(x, np.zeros((0, 2)), 0) == []


def test_bad_shapes_and_k_are_value_errors() -> None:
    with pytest.raises(ValueError, match="same columns"):
        greedy_maximin(np.zeros((3, 2)), np.zeros((1, 3)), 1)
    with pytest.raises(ValueError, match="k must be >= 0"):
        greedy_maximin(np.zeros((3, 2)), np.zeros((0, 2)), -1)
