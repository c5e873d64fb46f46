"""autopeft.bench.oracle: the best ratio k trials can reach, against closed forms and random subsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autopeft.bench.oracle import MAX_FRONT, best_subset_volumes, oracle_curve, oracle_trials
from autopeft.bench.reference import reference_for
from autopeft.bench.table import load_table, objectives_from
from autopeft.errors import ConfigError
from tests.bench import synthetic

OBJECTIVES = objectives_from(["accuracy", "trainable_params"])


def test_two_and_three_points_against_the_closed_form() -> None:
    ref = np.array([1.0, 1.0])
    assert best_subset_volumes(np.array([[0.0, 0.5], [0.5, 0.0]]), ref) == pytest.approx([0.5, 0.75])
    # a staircase: alone, the middle point is best (0.6 x 0.6); any two: the outer pair or middle + one end
    pts = np.array([[0.0, 0.8], [0.4, 0.4], [0.8, 0.0]])
    alone = [0.2, 0.36, 0.2]
    pairs = [0.2 + 0.2 - 0.2 * 0.2, 0.36 + 0.2 - 0.6 * 0.2, 0.36 + 0.2 - 0.6 * 0.2]
    three = 0.2 + 0.36 + 0.2 - 0.6 * 0.2 - 0.6 * 0.2 + 0.0
    assert best_subset_volumes(pts, ref) == pytest.approx([max(alone), max(pairs), three])


def test_the_oracle_bounds_every_subset_of_the_table(tmp_path: Path) -> None:
    """No set of k configurations (front or not) beats the oracle's k-th ratio; the curve rises to 1."""
    table = load_table(synthetic.write_sharp(tmp_path))
    fidelity = table.main_fidelity
    reference = reference_for(table, OBJECTIVES, "sharp")
    curve = oracle_curve(table, fidelity, OBJECTIVES, reference)
    configs = table.configs(fidelity)
    total = table.hypervolume(configs, fidelity, OBJECTIVES, reference)
    assert np.all(np.diff(curve) >= -1e-12) and curve[-1] == pytest.approx(1.0)
    assert curve[0] == pytest.approx(max(table.hypervolume([c], fidelity, OBJECTIVES, reference) for c in configs)
                                     / total)
    gen = np.random.default_rng(0)
    for _ in range(200):
        k = int(gen.integers(1, len(curve) + 1))
        subset = [configs[int(i)] for i in gen.choice(len(configs), size=k, replace=False)]
        assert table.hypervolume(subset, fidelity, OBJECTIVES, reference) / total <= curve[k - 1] + 1e-12
    level = curve[1] + (curve[2] - curve[1]) / 2 if len(curve) > 2 else 1.0
    assert oracle_trials(curve, level) == (3 if len(curve) > 2 else len(curve))
    assert oracle_trials(curve, 1.0) <= len(curve)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=f"at most {MAX_FRONT}"):
        best_subset_volumes(np.random.default_rng(0).uniform(size=(MAX_FRONT + 1, 2)), np.array([2.0, 2.0]))
    with pytest.raises(ValueError, match="non-empty"):
        best_subset_volumes(np.zeros((0, 2)), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\]"):
        oracle_trials([0.5, 1.0], 1.5)
