"""Every metric's bad inputs get a one-line ValueError naming the value; the docstring examples run."""

from __future__ import annotations

import doctest
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autopeft.metrics import (
    accuracy,
    brier,
    classification_metrics,
    ece,
    exact_match,
    fit_temperature,
    log_softmax,
    macro_f1,
    mce,
    nll,
    reliability_bins,
    rouge_l,
    softmax,
)

# ------------------------------------------------------------------------------------------ bad inputs

P2 = [[0.7, 0.3], [0.4, 0.6]]

BAD_INPUTS: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any], str]] = [
    ("length-mismatch", ece, (P2, [0, 1, 1]), {}, "same length, got 3 and 2"),
    ("probs-1d", brier, ([0.5, 0.5], [0, 1]), {}, r"probs must be 2-D .* got shape \(2,\)"),
    ("probs-3d", nll, (np.ones((2, 2, 1)), [0, 1]), {}, "probs must be 2-D"),
    ("probs-not-normalised", brier, ([[0.5, 0.5], [0.9, 0.9]], [0, 1]), {}, "must sum to 1, got row 1 summing to 1.8"),
    ("probs-negative", nll, ([[1.5, -0.5]], [0]), {}, r"must lie in \[0, 1\]"),
    ("probs-nan", ece, ([[np.nan, 1.0]], [0]), {}, "must be finite"),
    ("label-too-big", nll, (P2, [0, 2]), {}, r"label 2, allowed: \[0, 2\)"),
    ("label-negative", brier, (P2, [-1, 0]), {}, r"label -1, allowed: \[0, 2\)"),
    ("label-float", accuracy, ([0.5, 1.0], [0, 1]), {}, "integer class indices"),
    ("labels-2d", ece, (P2, [[0], [1]]), {}, r"y_true must be 1-D"),
    ("n-bins-negative", ece, (P2, [0, 1]), {"n_bins": -3}, "n_bins must be an integer >= 1, got -3"),
    ("n-bins-zero", reliability_bins, (P2, [0, 1]), {"n_bins": 0}, "n_bins must be an integer >= 1, got 0"),
    ("n-bins-float", mce, (P2, [0, 1]), {"n_bins": 2.5}, "got 2.5"),
    ("empty-accuracy", accuracy, ([], []), {}, "accuracy of an empty set"),
    ("empty-macro-f1", macro_f1, ([], []), {}, "macro_f1 of an empty set"),
    ("empty-ece", ece, (np.zeros((0, 3)), []), {}, "ece|reliability_bins of an empty set"),
    ("empty-brier", brier, (np.zeros((0, 3)), []), {}, "brier of an empty set"),
    ("empty-nll", nll, (np.zeros((0, 3)), []), {}, "nll of an empty set"),
    ("empty-metrics", classification_metrics, (np.zeros((0, 3)), []), {}, "empty set"),
    ("accuracy-mismatch", accuracy, ([0, 1], [0]), {}, "same length"),
    ("macro-f1-pred-out-of-range", macro_f1, ([0, 1], [0, 3]), {"n_classes": 2}, r"label 3, allowed: \[0, 2\)"),
    ("macro-f1-n-classes", macro_f1, ([0], [0]), {"n_classes": 0}, "n_classes must be an integer >= 1"),
    ("nll-eps", nll, (P2, [0, 1]), {"eps": 0.0}, r"eps must lie in \(0, 1\)"),
    ("temperature-zero", softmax, ([[1.0, 2.0]],), {"temperature": 0.0}, "temperature must be a finite number > 0"),
    ("temperature-ts", classification_metrics, (P2, [0, 1]), {"temperature": -1.0}, "got -1.0"),
    ("logits-nan", log_softmax, ([[np.nan, 0.0]],), {}, "nan or \\+inf"),
    ("logits-all-neg-inf", softmax, ([[-np.inf, -np.inf]],), {}, "row of -inf only"),
    ("fit-bounds", fit_temperature, (P2, [0, 1]), {"low": 2.0, "high": 1.0}, "low < high"),
    ("fit-1d", fit_temperature, ([1.0, 2.0], [0, 1]), {}, "logits must be 2-D"),
    ("texts-length", exact_match, (["a"], ["a", "b"]), {}, "same length, got 1 and 2"),
    ("texts-empty", rouge_l, ([], []), {}, "rouge_l of an empty set"),
    ("texts-bare-string", exact_match, ("abc", "abc"), {}, "single string"),
    ("texts-non-string", rouge_l, ([1], ["a"]), {}, "strings only, got int"),
]


@pytest.mark.parametrize(("func", "args", "kwargs", "match"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_inputs_raise_value_error(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                                      match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        func(*args, **kwargs)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------ module hygiene


@pytest.mark.parametrize("name", ["autopeft.metrics.classification", "autopeft.metrics.calibration",
                                  "autopeft.metrics.text"])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 2
