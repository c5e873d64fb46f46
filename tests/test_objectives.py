"""The objectives registry: directions, log scales, worst values, minimisation, the stated reference point."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from autopeft.errors import ConfigError
from autopeft.objectives import (
    OBJECTIVES,
    Objective,
    get_objective,
    objectives_of,
    reference_from_values,
    reference_point,
    score_objective,
    to_minimize,
)


def test_registered_objectives() -> None:
    assert {name: (o.direction, o.log) for name, o in OBJECTIVES.items()} == {
        "accuracy": ("max", False), "macro_f1": ("max", False), "trainable_params": ("min", True),
        "ece": ("min", False), "nll": ("min", False), "brier": ("min", False),
        "rouge_l": ("max", False), "exact_match": ("max", False), "balanced_accuracy": ("max", False),
    }
    assert all(name == o.name for name, o in OBJECTIVES.items())
    assert get_objective("ece") is OBJECTIVES["ece"]


def test_unknown_objective_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown objective 'f1'; allowed: accuracy, balanced_accuracy, brier, ece"):
        get_objective("f1")


@pytest.mark.parametrize(("kwargs", "match"), [
    pytest.param({"name": "", "direction": "min"}, "name must be a non-empty string", id="empty-name"),
    pytest.param({"name": "acc", "direction": "up"}, "'min' or 'max', got 'up'", id="bad-direction"),
    pytest.param({"name": "acc", "direction": "max", "log": 1}, "must be True or False, got 1", id="log-not-bool"),
])
def test_objective_validates_itself(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Objective(**kwargs)


def test_to_minimize_negates_max_and_logs_log_columns() -> None:
    values = np.array([[0.8, 1e3, 0.05], [0.6, 1e6, 0.10]])
    out = to_minimize(values, [get_objective("accuracy"), "trainable_params", Objective("ece", "min")])
    np.testing.assert_allclose(out, [[-0.8, 3.0, 0.05], [-0.6, 6.0, 0.10]])
    assert values[0, 1] == 1e3  # input untouched
    assert out.dtype == np.float64
    log_max = to_minimize([[100.0]], [Objective("speed", "max", log=True)])
    np.testing.assert_allclose(log_max, [[-2.0]])


@pytest.mark.parametrize(("values", "objectives", "match"), [
    pytest.param([[0.5, 0.0]], ["accuracy", "trainable_params"], r"'trainable_params'.*> 0, got 0.0 in row 0",
                 id="log-of-zero"),
    pytest.param([[0.5, 10.0], [0.5, -1.0]], ["accuracy", "trainable_params"], r"got -1.0 in row 1",
                 id="log-of-negative"),
    pytest.param([[0.5, 1.0]], ["accuracy"], r"2 columns but 1 objectives", id="column-count"),
    pytest.param([0.5, 1.0], ["accuracy", "ece"], r"must be 2-D", id="not-2d"),
    pytest.param([[0.5, math.nan]], ["accuracy", "ece"], r"must be finite, got \[0.5, nan\] in row 0", id="nan"),
    pytest.param([[0.5]], ["top5"], r"unknown objective 'top5'", id="unknown-name"),
])
def test_to_minimize_rejects(values: Any, objectives: list[Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        to_minimize(values, objectives)



def test_objectives_of_needs_the_parameter_count_and_one_more() -> None:
    assert [o.name for o in objectives_of(["rouge_l", "trainable_params"])] == ["rouge_l", "trainable_params"]
    with pytest.raises(ConfigError, match=r"must include trainable_params and at least one other; allowed: accuracy"):
        objectives_of(["accuracy"])
    with pytest.raises(ConfigError, match="unknown objective 'f1'"):
        objectives_of(["f1", "trainable_params"])


def test_score_objective_is_the_first_that_is_not_the_parameter_count() -> None:
    assert score_objective(objectives_of(["trainable_params", "rouge_l"])).name == "rouge_l"
    assert score_objective(objectives_of(["ece", "trainable_params", "accuracy"])).name == "ece"


def test_reference_point_is_each_objectives_worst_value() -> None:
    objectives = objectives_of(["accuracy", "trainable_params", "ece", "nll"])
    np.testing.assert_allclose(reference_point(objectives, 1e6), [-0.0, 6.0, 1.0, 10.0])
    every = [o for o in OBJECTIVES.values() if o.name != "trainable_params"]
    assert all(o.worst is not None and math.isfinite(o.worst) for o in every)  # a new objective needs one


def test_a_reference_given_in_own_units_is_minimised_and_bad_ones_name_the_value() -> None:
    objectives = objectives_of(["accuracy", "trainable_params", "ece"])
    np.testing.assert_allclose(reference_from_values({"accuracy": 0.4, "trainable_params": 1e5, "ece": 0.3},
                                                     objectives, "ref"), [-0.4, 5.0, 0.3])
    for bad, message in (({"accuracy": 0.4}, "ref must map every objective \\(accuracy, trainable_params, ece\\)"),
                         ([0.4, 1e5, 0.3], "must map every objective"),
                         ({"accuracy": 0.4, "trainable_params": True, "ece": 0.3}, "ref values must be finite"),
                         ({"accuracy": 0.4, "trainable_params": 1e5, "ece": math.nan}, "finite numbers"),
                         ({"accuracy": 0.4, "trainable_params": -1.0, "ece": 0.3}, "ref: .*log scale")):
        with pytest.raises(ConfigError, match=message):
            reference_from_values(bad, objectives, "ref")


def test_every_objective_has_a_label() -> None:
    assert all(o.label for o in OBJECTIVES.values())
    assert Objective("speed", "max").label == "speed"
