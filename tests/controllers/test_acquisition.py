"""Acquisition functions against closed forms and brute-force integration."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import autopeft.controllers.acquisition as acquisition_module
from autopeft.controllers.acquisition import ehvi_monte_carlo, pick_candidate
from autopeft.pareto import hypervolume, hypervolume_improvement

FRONT = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
REFERENCE = np.array([1.5, 1.5])


def test_docstring_examples() -> None:
    result = doctest.testmod(acquisition_module)
    assert result.failed == 0 and result.attempted > 0


def test_certainly_dominated_candidates_gain_nothing() -> None:
    mean = np.array([[0.8], [1.2], [2.0]])  # objective 0 predicted, far behind the front ...
    known = np.array([[0.6], [0.9], [0.1]])  # ... at objective 1 values the front already beats or matches
    gain = ehvi_monte_carlo(mean, np.full((3, 1), 1e-6), known, FRONT, REFERENCE, samples=64, rng=0)
    assert gain.tolist() == [0.0, 0.0, 0.0]


def test_zero_std_gives_the_exact_improvement() -> None:
    rng = np.random.default_rng(0)
    mean, known = rng.uniform(-0.2, 1.4, size=(50, 1)), rng.uniform(-0.2, 1.4, size=(50, 1))
    gain = ehvi_monte_carlo(mean, np.zeros((50, 1)), known, FRONT, REFERENCE, samples=16, rng=1)
    exact = hypervolume_improvement(FRONT, np.hstack((mean, known)), REFERENCE)
    np.testing.assert_array_equal(gain, exact)
    assert (exact > 0).any()


def test_two_uncertain_objectives_and_no_known_ones() -> None:
    mean = np.array([[0.3, 0.3], [0.3, 0.3]])
    std = np.array([[0.0, 0.0], [0.2, 0.2]])
    gain = ehvi_monte_carlo(mean, std, None, FRONT, REFERENCE, samples=2000, rng=0)
    assert gain[0] == pytest.approx(hypervolume_improvement(FRONT, mean[:1], REFERENCE)[0])
    assert gain[1] > gain[0]  # the improvement is convex in the point, so uncertainty adds to its expectation


@pytest.mark.parametrize("std", [0.0, 0.1, 0.5])
def test_gain_increases_with_the_predicted_improvement(std: float) -> None:
    mean = np.linspace(1.4, -0.5, 20).reshape(-1, 1)  # ever better predicted values of objective 0
    known = np.full((20, 1), 0.3)
    gain = ehvi_monte_carlo(mean, np.full((20, 1), std), known, FRONT, REFERENCE, samples=64, rng=3)
    assert (np.diff(gain) >= 0).all() and gain[-1] > gain[0]


def test_monte_carlo_matches_brute_force_integration() -> None:
    mu, sigma, k = 0.4, 0.3, 0.3
    grid = np.linspace(mu - 8 * sigma, mu + 8 * sigma, 40001)
    gains = hypervolume_improvement(FRONT, np.column_stack((grid, np.full_like(grid, k))), REFERENCE)
    density = np.exp(-0.5 * ((grid - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    brute = float(np.sum(gains * density) * (grid[1] - grid[0]))
    estimate = ehvi_monte_carlo([[mu]], [[sigma]], [[k]], FRONT, REFERENCE, samples=20000, rng=0)[0]
    assert brute > 0.01
    assert estimate == pytest.approx(brute, rel=0.02)
    rough = ehvi_monte_carlo([[mu]], [[sigma]], [[k]], FRONT, REFERENCE, rng=0)[0]  # the default 64 draws
    assert rough == pytest.approx(brute, rel=0.25)


def test_an_empty_front_and_three_objectives() -> None:
    empty = np.zeros((0, 3))
    gain = ehvi_monte_carlo([[0.0]], [[0.0]], [[0.0, 0.0]], empty, [1.0, 1.0, 1.0], samples=4, rng=0)
    assert gain[0] == pytest.approx(1.0)
    front = np.array([[0.5, 0.5, 0.5]])
    gain = ehvi_monte_carlo([[0.25]], [[0.1]], [[0.25, 0.25]], front, [1.0, 1.0, 1.0], samples=64, rng=0)
    exact = hypervolume(np.vstack((front, [[0.25, 0.25, 0.25]])), [1.0, 1.0, 1.0]) - 0.125
    assert gain[0] == pytest.approx(exact, rel=0.1)


def test_same_seed_same_estimate_and_bad_input() -> None:
    args = (np.array([[0.4]]), np.array([[0.3]]), np.array([[0.3]]), FRONT, REFERENCE)
    assert ehvi_monte_carlo(*args, rng=5) == ehvi_monte_carlo(*args, rng=5)
    assert ehvi_monte_carlo(np.zeros((0, 1)), np.zeros((0, 1)), np.zeros((0, 1)), FRONT, REFERENCE).shape == (0,)
    with pytest.raises(ValueError, match="std must be >= 0"):
        ehvi_monte_carlo([[0.4]], [[-1.0]], [[0.3]], FRONT, REFERENCE)
    with pytest.raises(ValueError, match="front must have 2 columns"):
        ehvi_monte_carlo([[0.4]], [[0.1]], [[0.3]], np.zeros((2, 3)), REFERENCE)
    with pytest.raises(ValueError, match="one row per candidate"):
        ehvi_monte_carlo([[0.4]], [[0.1]], [[0.3], [0.2]], FRONT, REFERENCE)
    with pytest.raises(ValueError, match="samples"):
        ehvi_monte_carlo([[0.4]], [[0.1]], [[0.3]], FRONT, REFERENCE, samples=0)


def test_pick_candidate_takes_the_best_ehvi_and_falls_back_to_the_least_dominated_optimistic_guess() -> None:
    front, reference = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([2.0, 2.0])
    mean = np.array([[1.5], [0.6], [1.2]])
    std = np.zeros((3, 1))
    known = np.array([[1.5], [0.6], [1.1]])
    assert pick_candidate(np.array([0.1, 0.0, 0.3]), mean, std, known, front, reference) == 2
    # every EHVI is 0: (0.6, 0.6) escapes the front, the other two are dominated
    assert pick_candidate(np.zeros(3), mean, std, known, front, reference) == 1
    # the optimistic guess (mean - 2 std) decides: a wide enough spread lets the first one escape instead
    wide = np.array([[1.0], [0.0], [0.0]])
    assert pick_candidate(np.zeros(3), mean, wide, known, front, reference) == 0
    assert pick_candidate(np.zeros(3), mean, std, known, np.zeros((0, 2)), reference) == 0  # nothing to escape
