"""autopeft.metrics.classification against scikit-learn, brute-force loops and closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss

from autopeft.metrics import (
    accuracy,
    balanced_accuracy,
    brier,
    confusion_matrix,
    log_softmax,
    macro_f1,
    nll,
    per_class,
    softmax,
)
from tests.metrics.strategies import FAST, label_pairs, labelled_probs


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


# ------------------------------------------------------------------------------------------ per class


@FAST
@given(label_pairs())
def test_confusion_matrix_and_per_class_match_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.metrics import confusion_matrix as sk_confusion
    from sklearn.metrics import precision_recall_fscore_support

    y, pred = pair
    k = int(max(y.max(), pred.max())) + 1
    c = confusion_matrix(y, pred, n_classes=k)
    labels = list(range(k))
    with warnings.catch_warnings():  # sklearn warns on a single label even when given every label
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(c, sk_confusion(y, pred, labels=labels))
        p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    got = per_class(c)
    for name, want in (("precision", p), ("recall", r), ("f1", f), ("support", s)):
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-12, err_msg=name)
    present = np.unique(np.concatenate([y, pred]))  # macro-F1 is the mean over the present classes
    assert got["f1"][present].mean() == pytest.approx(macro_f1(y, pred))


def test_confusion_matrix_from_scores_and_its_bad_inputs() -> None:
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    np.testing.assert_array_equal(confusion_matrix([0, 1, 2, 2], scores), [[1, 0, 0], [0, 1, 0], [1, 0, 1]])
    # a class nobody predicted and no example holds still gets its row and column
    np.testing.assert_array_equal(confusion_matrix([0], [0], n_classes=3), [[1, 0, 0], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"y_pred holds label 3, allowed: \[0, 3\)"):
        confusion_matrix([0, 1], [0, 3], n_classes=3)
    with pytest.raises(ValueError, match="does not match the 3 score columns"):
        confusion_matrix([0, 1, 2, 2], scores, n_classes=4)
    with pytest.raises(ValueError, match="n_classes must be an integer >= 1"):
        confusion_matrix([0], [0], n_classes=0)
    with pytest.raises(ValueError, match="must be square"):
        per_class([[1, 2, 3]])
    with pytest.raises(ValueError, match="finite counts >= 0"):
        per_class([[1, -1], [0, 2]])


def test_per_class_of_summed_matrices_pools_the_seeds() -> None:
    """Matrices add over seeds; per-class scores of the sum are those of the pooled predictions."""
    a, b = confusion_matrix([0, 1, 1], [0, 1, 0], n_classes=2), confusion_matrix([0, 0, 1], [1, 0, 1], n_classes=2)
    pooled = confusion_matrix([0, 1, 1, 0, 0, 1], [0, 1, 0, 1, 0, 1], n_classes=2)
    np.testing.assert_array_equal(a + b, pooled)
    np.testing.assert_allclose(per_class(a + b)["f1"], [2 / 3, 2 / 3])


@FAST
@given(label_pairs())
def test_balanced_accuracy_matches_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.metrics import balanced_accuracy_score

    y, pred = pair
    with warnings.catch_warnings():  # sklearn warns when y_pred holds a class y_true lacks, then drops it as we do
        warnings.simplefilter("ignore")
        want = balanced_accuracy_score(y, pred)
    assert balanced_accuracy(y, pred) == pytest.approx(want, abs=1e-12)


def test_balanced_accuracy_weighs_a_lost_rare_class_as_a_whole_class() -> None:
    y = np.array([0] * 8 + [1] * 2)
    assert accuracy(y, np.zeros(10, dtype=int)) == 0.8 and balanced_accuracy(y, np.zeros(10, dtype=int)) == 0.5
    scores = np.eye(2)[[0] * 9 + [1]]  # (n, k) scores: argmax
    assert balanced_accuracy(y, scores) == pytest.approx((1.0 + 0.5) / 2)
    with pytest.raises(ValueError, match="balanced_accuracy"):
        balanced_accuracy([], [])
