"""Softmax and the point metrics of a classifier: accuracy, macro-F1, balanced accuracy, Brier score and NLL; per
class, the confusion matrix with precision, recall and F1."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from autopeft.metrics._checks import (
    FloatArray,
    IntArray,
    as_float_2d,
    as_labels,
    check_lengths,
    check_nonempty,
    check_temperature,
    probs_and_labels,
)


def log_softmax(logits: npt.ArrayLike, temperature: float = 1.0) -> FloatArray:
    """Log of :func:`softmax` over the last axis, computed stably (max subtracted before ``exp``).

    Entries may be ``-inf`` (a log-probability of 0) as long as each row has a finite entry.

    >>> np.round(np.exp(log_softmax([[0.0, np.log(3.0)]])), 6)
    array([[0.25, 0.75]])
    """
    t = check_temperature(temperature)
    x = np.asarray(logits, dtype=np.float64)
    if x.ndim < 1:
        raise ValueError(f"logits must have at least 1 dimension (classes on the last axis), got shape {x.shape}")
    if np.any(np.isnan(x)) or np.any(np.isposinf(x)):
        raise ValueError("logits must not contain nan or +inf; -inf (probability 0) is allowed")
    if x.size == 0:
        return x.copy()
    x = x / t
    top = np.max(x, axis=-1, keepdims=True)
    if not np.all(np.isfinite(top)):
        raise ValueError("every row of logits needs at least one finite entry, got a row of -inf only")
    shifted = x - top
    out: FloatArray = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return out


def softmax(logits: npt.ArrayLike, temperature: float = 1.0) -> FloatArray:
    """Class probabilities ``exp(z / T) / sum exp(z / T)`` over the last axis (each row sums to 1).

    Stable for large logits, and unchanged by adding a constant to a row.

    >>> softmax([[1000.0, 1000.0], [0.0, 0.0]])
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    return np.exp(log_softmax(logits, temperature))


# -------------------------------------------------------------------------------------- point metrics


def _predictions(probs_or_pred: npt.ArrayLike, name: str) -> tuple[IntArray, int | None]:
    """Predicted classes, and the class count when scores were given."""
    arr = np.asarray(probs_or_pred)
    if arr.ndim == 2:
        scores = as_float_2d(arr, name)
        if np.any(np.isnan(scores)):
            raise ValueError(f"{name} must not contain nan")
        return np.argmax(scores, axis=1).astype(np.int64), scores.shape[1]
    if arr.ndim == 1:
        return as_labels(arr, name), None
    raise ValueError(f"{name} must be 1-D predictions (n,) or 2-D scores (n, k), got shape {arr.shape}")


def _class_count(k: int | None, n_classes: int | None) -> int | None:
    """The class count: ``n_classes`` when given (it must match ``k``, the score columns, when there are), else
    ``k``."""
    if n_classes is None:
        return k
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be an integer >= 1, got {n_classes!r}")
    if k is not None and k != n_classes:
        raise ValueError(f"n_classes={n_classes} does not match the {k} score columns of y_pred")
    return int(n_classes)


def accuracy(y_true: npt.ArrayLike, probs_or_pred: npt.ArrayLike) -> float:
    """Fraction of examples whose prediction equals the label.

    ``probs_or_pred`` is either ``(n, k)`` probabilities or logits (the prediction is the row's argmax) or
    ``(n,)`` predicted classes.

    >>> accuracy([0, 1, 1], [0, 1, 0])
    0.6666666666666666
    """
    pred, k = _predictions(probs_or_pred, "probs_or_pred")
    y = as_labels(y_true, "y_true", n_classes=k)
    check_lengths(y, pred, "y_true", "probs_or_pred")
    check_nonempty(y.shape[0], "accuracy")
    return float(np.mean(y == pred))


def macro_f1(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, n_classes: int | None = None) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true`` or ``y_pred``.

    Classes absent from both are skipped (scikit-learn's ``labels=present``); a class that is never predicted
    but occurs in ``y_true`` (or the reverse) has F1 = 0. ``y_pred`` may be ``(n,)`` classes or ``(n, k)``
    scores (argmax). ``n_classes``, when given (or ``k`` from scores), bounds the labels to ``[0, n_classes)``.

    >>> macro_f1([0, 0, 1, 2], [0, 1, 1, 2])  # F1 per class: 2/3, 2/3, 1
    0.7777777777777777
    """
    pred, k = _predictions(y_pred, "y_pred")
    k = _class_count(k, n_classes)
    if k is not None and pred.size and int(pred.max()) >= k:
        raise ValueError(f"y_pred holds label {int(pred.max())}, allowed: [0, {k})")
    y = as_labels(y_true, "y_true", n_classes=k)
    check_lengths(y, pred, "y_true", "y_pred")
    check_nonempty(y.shape[0], "macro_f1")
    present, inverse = np.unique(np.concatenate([y, pred]), return_inverse=True)
    idx_true, idx_pred = inverse[: y.shape[0]], inverse[y.shape[0]:]
    m = present.shape[0]
    tp = np.bincount(idx_true[y == pred], minlength=m)
    n_true = np.bincount(idx_true, minlength=m)
    n_pred = np.bincount(idx_pred, minlength=m)
    # 2TP / (2TP + FP + FN) == 2TP / (n_true + n_pred); the denominator is > 0 for every present class.
    return float(np.mean(2.0 * tp / (n_true + n_pred)))


def balanced_accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, n_classes: int | None = None) -> float:
    """The mean over the classes present in ``y_true`` of each class's recall (scikit-learn's
    ``balanced_accuracy_score``): a classifier that never predicts one of ``k`` classes loses ``1/k`` of it, however
    rare the class, where accuracy loses only the class's share of the examples. ``y_pred`` may be ``(n,)``
    classes or ``(n, k)`` scores (argmax).

    >>> balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0])  # recall 1 on class 0, 0 on class 1; accuracy is 0.75
    0.5
    """
    counts = confusion_matrix(y_true, y_pred, n_classes)
    check_nonempty(int(counts.sum()), "balanced_accuracy")
    present = counts.sum(axis=1) > 0
    return float(np.mean(per_class(counts)["recall"][present]))


def brier(probs: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
    """Multi-class Brier score ``mean_i sum_k (p_ik - onehot_ik)^2``, in ``[0, 2]`` (lower is better).

    For two classes this is twice the binary Brier score on the positive class.

    >>> brier([[0.75, 0.25], [0.5, 0.5]], [0, 1])  # (0.0625 + 0.0625 + 0.25 + 0.25) / 2
    0.3125
    """
    p, y = probs_and_labels(probs, y_true, "brier")
    diff = p.copy()
    diff[np.arange(p.shape[0]), y] -= 1.0
    return float(np.mean(np.sum(diff * diff, axis=1)))


def nll(probs: npt.ArrayLike, y_true: npt.ArrayLike, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood ``mean_i -log p_i,true``, with ``p`` clipped below at ``eps``.

    >>> round(nll([[0.5, 0.5], [0.25, 0.75]], [0, 1]), 6)  # (log 2 + log 4/3) / 2
    0.490415
    """
    if not (math.isfinite(eps) and 0.0 < eps < 1.0):
        raise ValueError(f"eps must lie in (0, 1), got {eps!r}")
    p, y = probs_and_labels(probs, y_true, "nll")
    p_true = np.clip(p[np.arange(p.shape[0]), y], eps, 1.0)
    return float(-np.mean(np.log(p_true)))


# -------------------------------------------------------------------------------------- per class


def confusion_matrix(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, n_classes: int | None = None) -> IntArray:
    """Counts of shape ``(k, k)``: row ``i``, column ``j`` counts the examples of class ``i`` predicted as ``j``
    (scikit-learn's convention). ``y_pred`` may be ``(n,)`` classes or ``(n, k)`` scores (argmax); ``k`` is
    ``n_classes``, else the score columns, else the largest label + 1.

    >>> confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2]).tolist()
    [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    """
    pred, k = _predictions(y_pred, "y_pred")
    k = _class_count(k, n_classes)
    y = as_labels(y_true, "y_true", n_classes=k)
    check_lengths(y, pred, "y_true", "y_pred")
    if k is None:
        k = int(max(y.max(initial=-1), pred.max(initial=-1))) + 1 or 1
    if pred.size and int(pred.max()) >= k:
        raise ValueError(f"y_pred holds label {int(pred.max())}, allowed: [0, {k})")
    counts: IntArray = np.bincount(y * k + pred, minlength=k * k).reshape(k, k).astype(np.int64)
    return counts


def per_class(confusion: npt.ArrayLike) -> dict[str, FloatArray]:
    """Precision, recall and F1 of each class, and its ``support`` (examples of the class), from a confusion
    matrix (rows true, columns predicted). A ratio whose denominator is 0 is 0 (scikit-learn's
    ``zero_division=0``): a class never predicted has precision 0, a class absent from the labels recall 0.

    >>> s = per_class([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    >>> s["precision"].tolist(), s["recall"].tolist(), s["support"].tolist()
    ([1.0, 0.5, 1.0], [0.5, 1.0, 1.0], [2.0, 1.0, 1.0])
    """
    c = np.asarray(confusion)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 1:
        raise ValueError(f"a confusion matrix must be square (k, k) with k >= 1, got shape {c.shape}")
    if not np.issubdtype(c.dtype, np.number) or np.any(~np.isfinite(c)) or np.any(c < 0):
        raise ValueError("a confusion matrix must hold finite counts >= 0")
    c = c.astype(np.float64)
    tp, n_true, n_pred = np.diag(c), c.sum(axis=1), c.sum(axis=0)

    def ratio(num: FloatArray, den: FloatArray) -> FloatArray:
        out: FloatArray = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return out

    return {"precision": ratio(tp, n_pred), "recall": ratio(tp, n_true), "f1": ratio(2.0 * tp, n_true + n_pred),
            "support": n_true}
