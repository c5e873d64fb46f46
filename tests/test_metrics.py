"""autopeft.metrics against scikit-learn, brute-force loops written here, and closed forms."""

from __future__ import annotations

import doctest
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss

from autopeft import metrics
from autopeft.metrics import (
    DEFAULT_BINS,
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

FAST = settings(max_examples=40, deadline=None)


# ------------------------------------------------------------------------------------------ strategies


@st.composite
def labelled_probs(draw: st.DrawFn, max_n: int = 60, max_k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Random (probs, y_true): probabilities from bounded logits, so none is near 0."""
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(2, max_k))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.1, 1.0, 3.0]))
    probs = softmax(rng.normal(scale=scale, size=(n, k)))
    y = rng.integers(0, k, size=n)
    return probs, y


@st.composite
def label_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 50))
    k = draw(st.integers(1, 8))
    y_true = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    y_pred = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    return y_true, y_pred


# ---------------------------------------------------------------------------------- brute-force references


def brute_bin(conf: float, edges: np.ndarray) -> int:
    """The stated convention, one interval at a time: (edges[i], edges[i+1]], and 0 in the first bin."""
    for i in range(len(edges) - 1):
        if edges[i] < conf <= edges[i + 1] or (i == 0 and conf == edges[0]):
            return i
    raise AssertionError(f"confidence {conf} in no bin")


def brute_calibration(probs: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[float, float, list[int]]:
    """ECE, MCE and bin counts by looping over examples and bins."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    members: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
    for row, label in zip(probs, y, strict=True):
        best = 0
        for j in range(len(row)):
            if row[j] > row[best]:
                best = j
        members[brute_bin(float(row[best]), edges)].append((float(row[best]), best == label))
    n = len(y)
    total, worst = 0.0, 0.0
    for items in members:
        if not items:
            continue
        conf = sum(c for c, _ in items) / len(items)
        acc = sum(1.0 for _, ok in items if ok) / len(items)
        total += len(items) / n * abs(acc - conf)
        worst = max(worst, abs(acc - conf))
    return total, worst, [len(items) for items in members]


def brute_brier(probs: np.ndarray, y: np.ndarray) -> float:
    total = 0.0
    for i in range(probs.shape[0]):
        for j in range(probs.shape[1]):
            target = 1.0 if j == y[i] else 0.0
            total += (probs[i, j] - target) ** 2
    return float(total / probs.shape[0])


# -------------------------------------------------------------------------------------------- softmax


@FAST
@given(labelled_probs(), st.floats(-1e3, 1e3))
def test_softmax_rows_sum_to_one_and_ignore_row_constants(data: tuple[np.ndarray, np.ndarray], c: float) -> None:
    logits = np.log(data[0])
    shifts = c * np.arange(logits.shape[0])[:, None]
    p = softmax(logits)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(softmax(logits + shifts), p, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(logits)), p, rtol=1e-12)


def test_softmax_large_logits_no_nan() -> None:
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4, 1e4 - 1.0]])
    p = softmax(logits)
    assert not np.isnan(p).any()
    np.testing.assert_allclose(p[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p[1], [1 / 3] * 3)
    np.testing.assert_allclose(log_softmax(logits)[0], [0.0, -1e4, -2e4])


def test_softmax_temperature_and_neg_inf() -> None:
    z = np.array([[0.0, 2.0 * math.log(3.0)]])
    np.testing.assert_allclose(softmax(z, temperature=2.0), [[0.25, 0.75]])
    np.testing.assert_allclose(softmax([[0.0, -np.inf]]), [[1.0, 0.0]])


# ------------------------------------------------------------------------------------- point metrics


@FAST
@given(label_pairs())
def test_accuracy_and_macro_f1_match_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    y_true, y_pred = pair
    present = np.union1d(y_true, y_pred)
    assert accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    expected = f1_score(y_true, y_pred, average="macro", labels=present, zero_division=0)
    assert macro_f1(y_true, y_pred) == pytest.approx(expected, abs=1e-12)
    assert macro_f1(y_true, y_pred, n_classes=int(present.max()) + 1) == pytest.approx(expected, abs=1e-12)


@FAST
@given(labelled_probs())
def test_accuracy_and_macro_f1_take_scores(data: tuple[np.ndarray, np.ndarray]) -> None:
    probs, y = data
    pred = probs.argmax(axis=1)
    assert accuracy(y, probs) == accuracy(y, pred) == accuracy(y, np.log(probs))
    assert macro_f1(y, probs) == macro_f1(y, pred, n_classes=probs.shape[1])


def test_macro_f1_hand_worked() -> None:
    # class 0: tp 1, fp 0, fn 1 -> 2/3; class 1: tp 1, fp 1 -> 2/3; class 2: 1; class 3 absent -> skipped
    assert macro_f1([0, 0, 1, 2], [0, 1, 1, 2], n_classes=4) == pytest.approx(7 / 9)
    # class 1 true but never predicted -> F1 0, counted
    assert macro_f1([0, 1], [0, 0]) == pytest.approx((2 / 3 + 0.0) / 2)


@FAST
@given(labelled_probs())
def test_brier_matches_double_loop(data: tuple[np.ndarray, np.ndarray]) -> None:
    probs, y = data
    assert brier(probs, y) == pytest.approx(brute_brier(probs, y), rel=1e-12, abs=1e-15)
    assert 0.0 <= brier(probs, y) <= 2.0


@FAST
@given(labelled_probs(max_k=2))
def test_binary_brier_is_twice_sklearn(data: tuple[np.ndarray, np.ndarray]) -> None:
    probs, y = data
    y = np.concatenate([y, [0, 1]])  # both classes present, so sklearn knows the positive label
    probs = np.concatenate([probs, [[0.3, 0.7], [0.6, 0.4]]])
    assert brier(probs, y) == pytest.approx(2.0 * brier_score_loss(y, probs[:, 1]), rel=1e-12)


@FAST
@given(labelled_probs())
def test_nll_matches_sklearn_log_loss(data: tuple[np.ndarray, np.ndarray]) -> None:
    probs, y = data
    expected = log_loss(y, probs, labels=list(range(probs.shape[1])))
    assert nll(probs, y) == pytest.approx(expected, rel=1e-9)


# ------------------------------------------------------------------------------------------ calibration


@FAST
@given(labelled_probs(), st.sampled_from([1, 2, 3, 10, DEFAULT_BINS, 40]))
def test_ece_mce_and_counts_match_brute_force(data: tuple[np.ndarray, np.ndarray], n_bins: int) -> None:
    probs, y = data
    want_ece, want_mce, want_counts = brute_calibration(probs, y, n_bins)
    bins = reliability_bins(probs, y, n_bins)
    assert bins.counts.tolist() == want_counts
    assert int(bins.counts.sum()) == len(y)
    assert ece(probs, y, n_bins) == pytest.approx(want_ece, abs=1e-12)
    assert mce(probs, y, n_bins) == pytest.approx(want_mce, abs=1e-12)
    assert ece(probs, y, n_bins) <= mce(probs, y, n_bins) + 1e-12


@pytest.mark.parametrize("n_bins", [1, 5, DEFAULT_BINS, 20, 100])
def test_edge_confidences_follow_the_stated_convention(n_bins: int) -> None:
    """Confidences exactly on every edge, and 1.0: brute force and the vectorised bins agree."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    conf = np.concatenate([edges[edges >= 0.5], [1.0]])  # max-prob of a 2-class row is >= 0.5
    probs = np.stack([conf, 1.0 - conf], axis=1)
    y = np.zeros(len(conf), dtype=int)
    assert reliability_bins(probs, y, n_bins).counts.tolist() == brute_calibration(probs, y, n_bins)[2]


def test_one_goes_in_last_bin_and_half_in_the_lower_bin() -> None:
    bins = reliability_bins([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], [0, 1, 0], n_bins=2)
    assert bins.edges.tolist() == [0.0, 0.5, 1.0]
    assert bins.counts.tolist() == [1, 2]  # 0.5 is in (0, 0.5]; both 1.0s in (0.5, 1]
    assert bins.accuracy.tolist() == [0.0, 0.5]
    assert reliability_bins([[1.0, 0.0]], [0]).counts[-1] == 1
    assert reliability_bins([[0.5, 0.5]], [0], n_bins=DEFAULT_BINS).counts[7] == 1  # (7/15, 8/15]


def test_reliability_bins_empty_bins_and_json() -> None:
    bins = reliability_bins([[0.9, 0.1], [0.2, 0.8]], [0, 0], n_bins=4)
    assert bins.n_bins == 4 and bins.counts.tolist() == [0, 0, 0, 2]
    assert np.isnan(bins.confidence[:3]).all() and np.isnan(bins.gaps()[:3]).all()
    assert bins.gaps()[3] == pytest.approx(abs(0.5 - 0.85))
    d = bins.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["confidence"][:3] == [None, None, None] and d["counts"] == [0, 0, 0, 2]
    with pytest.raises(ValueError):
        bins.counts[0] = 1  # read-only: the dataclass is frozen and so are its arrays


@pytest.mark.parametrize("n_bins", [1, 10, DEFAULT_BINS])
@pytest.mark.parametrize("conf", [0.8, 0.6, 0.95])
def test_perfectly_calibrated_has_zero_ece_and_mce(conf: float, n_bins: int) -> None:
    n = 100  # a multiple of 20, so exactly conf * n examples are right
    right = round(conf * n)
    probs = np.tile([conf, 1.0 - conf], (n, 1))
    y = np.array([0] * right + [1] * (n - right))
    assert ece(probs, y, n_bins) == pytest.approx(0.0, abs=1e-12)
    assert mce(probs, y, n_bins) == pytest.approx(0.0, abs=1e-12)


def test_perfectly_calibrated_across_several_bins() -> None:
    probs = np.array([[0.6, 0.4]] * 5 + [[0.1, 0.9]] * 10)
    y = np.array([0, 0, 0, 1, 1] + [1] * 9 + [0])  # 3/5 right at 0.6, 9/10 right at 0.9
    assert ece(probs, y) == pytest.approx(0.0, abs=1e-12)
    assert mce(probs, y) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 3, 10])
def test_confident_and_wrong(k: int) -> None:
    n = 7
    probs = np.zeros((n, k))
    probs[:, 1] = 1.0
    y = np.zeros(n, dtype=int)
    assert accuracy(y, probs) == 0.0
    assert ece(probs, y) == 1.0 and mce(probs, y) == 1.0
    assert brier(probs, y) == 2.0
    assert nll(probs, y) == pytest.approx(-math.log(1e-12))
    assert nll(probs, y, eps=1e-6) == pytest.approx(-math.log(1e-6))


@pytest.mark.parametrize("k", [2, 3, 7, 50])
def test_uniform_predictions(k: int) -> None:
    probs = np.full((11, k), 1.0 / k)
    y = np.arange(11) % k
    assert nll(probs, y) == pytest.approx(math.log(k))
    assert brier(probs, y) == pytest.approx(1.0 - 1.0 / k)
    m = classification_metrics(np.zeros((11, k)), y)
    assert m["nll"] == pytest.approx(math.log(k)) and m["brier"] == pytest.approx(1.0 - 1.0 / k)


# ------------------------------------------------------------------------------------------ temperature


def sample_labels(rng: np.random.Generator, logits: np.ndarray, temperature: float) -> np.ndarray:
    p = softmax(logits, temperature)
    u = rng.random((p.shape[0], 1))
    labels: np.ndarray = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), p.shape[1] - 1)
    return labels


@pytest.mark.parametrize("t0", [0.5, 2.0, 4.0])
def test_fit_temperature_recovers_known_temperature(t0: float) -> None:
    rng = np.random.default_rng(int(t0 * 10))
    z = rng.normal(scale=3.0, size=(20_000, 5))
    y = sample_labels(rng, z, t0)
    fitted = fit_temperature(z, y)
    assert fitted == pytest.approx(t0, rel=0.10)
    assert nll(softmax(z, fitted), y) <= nll(softmax(z), y)


@settings(max_examples=30, deadline=None)
@given(labelled_probs(max_n=80), st.floats(0.1, 10.0))
def test_fitted_temperature_never_increases_nll(data: tuple[np.ndarray, np.ndarray], scale: float) -> None:
    probs, y = data
    logits = np.log(probs) * scale
    t = fit_temperature(logits, y)
    assert 0.05 <= t <= 20.0
    assert nll(softmax(logits, t), y) <= nll(softmax(logits), y) + 1e-12
    # and it is (near) the best on a fine grid of the allowed range
    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 400))
    assert nll(softmax(logits, t), y) <= min(nll(softmax(logits, g), y) for g in grid) + 1e-9


def test_fit_temperature_edge_cases() -> None:
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0
    assert fit_temperature(np.zeros((5, 3)), [0, 1, 2, 0, 1]) == 1.0  # NLL does not depend on T
    assert fit_temperature(np.zeros((5, 3)), [0, 1, 2, 0, 1], low=2.0, high=3.0) == 2.0
    separable = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert fit_temperature(separable, [0, 1]) == pytest.approx(0.05, rel=1e-3)  # sharper is always better


def test_classification_metrics_keys_and_values() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(scale=2.0, size=(200, 4))
    y = rng.integers(0, 4, size=200)
    plain = classification_metrics(z, y, n_bins=10)
    assert set(plain) == {"accuracy", "macro_f1", "ece", "mce", "brier", "nll"}
    p = softmax(z)
    assert plain["accuracy"] == accuracy(y, p)
    assert plain["ece"] == ece(p, y, 10) and plain["nll"] == nll(p, y)
    scaled = classification_metrics(z, y, n_bins=10, temperature=3.0)
    assert {k: scaled[k] for k in plain} == plain
    assert scaled["temperature"] == 3.0
    assert scaled["ece_ts"] == ece(softmax(z / 3.0), y, 10)
    assert scaled["brier_ts"] == pytest.approx(brier(softmax(z / 3.0), y))
    assert scaled["nll_ts"] == pytest.approx(nll(softmax(z / 3.0), y))
    assert scaled["mce_ts"] == pytest.approx(mce(softmax(z / 3.0), y, 10))
    # log-probabilities are fine as logits
    assert classification_metrics(np.log(p), y) == pytest.approx(classification_metrics(z, y))


# ------------------------------------------------------------------------------------------ generation


@pytest.mark.parametrize(
    ("predictions", "references", "expected"),
    [
        (["Paris"], ["paris"], 1.0),
        (["  The   Eiffel\tTower. "], ["the eiffel tower"], 1.0),
        (["\"yes!\""], ["Yes"], 1.0),
        (["it's fine"], ["its fine"], 0.0),  # punctuation inside is kept
        (["a b", "c"], ["a  b", "d"], 0.5),
        ([""], ["..."], 1.0),
    ],
    ids=["case", "whitespace-and-end-punctuation", "quotes", "inner-punctuation", "mean", "empty-after-normalising"],
)
def test_exact_match(predictions: list[str], references: list[str], expected: float) -> None:
    assert exact_match(predictions, references) == expected


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("the cat sat", "the cat sat down", 2 * 1.0 * 0.75 / 1.75),  # P = 1, R = 3/4 -> 6/7
        ("The Cat", "the cat", 1.0),
        ("a b c d", "a c e", 2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3)),  # LCS "a c"
        ("x y", "a b", 0.0),
        ("", "", 1.0),
        ("", "a", 0.0),
        ("a", "  ", 0.0),
        ("b a", "a b", 0.5),  # LCS 1: order matters
    ],
)
def test_rouge_l_hand_worked(prediction: str, reference: str, expected: float) -> None:
    assert rouge_l([prediction], [reference]) == pytest.approx(expected)


def test_rouge_l_is_a_mean_and_six_sevenths() -> None:
    assert rouge_l(["the cat sat"], ["the cat sat down"]) == pytest.approx(0.857142857142857)
    assert rouge_l(["a", "b"], ["a", "c"]) == pytest.approx(0.5)


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


def test_docstring_examples() -> None:
    result = doctest.testmod(metrics, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 10
