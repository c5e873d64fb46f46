"""Classification and generation metrics, with calibration: pure numpy, no torch, no scikit-learn.

Classification metrics take class probabilities ``probs`` of shape ``(n, k)`` (rows sum to 1) and integer
labels ``y_true`` of shape ``(n,)`` in ``[0, k)``; :func:`classification_metrics` takes unnormalised logits
(log-probabilities are fine) and computes them all, optionally after temperature scaling.

Calibration convention (stated once, used everywhere): a prediction's *confidence* is its largest class
probability and it is *correct* when that class (the first one on ties, as ``argmax``) is the label.
Confidences are put into ``n_bins`` equal-width bins over ``[0, 1]`` (15 by default, :data:`DEFAULT_BINS`);
bin ``i`` is the half-open interval ``(edges[i], edges[i+1]]``, except the first, which also holds 0, so a
confidence of exactly 1.0 falls in the last bin and one on an inner edge falls in the bin below it (with two
bins, 0.5 is in bin 0).

Every function raises :class:`ValueError` with a one-line message naming the bad value and what is allowed:
mismatched lengths, probabilities that are not 2-D or do not sum to 1, labels outside ``[0, k)``, a bin count
below 1, or an empty input where a mean is undefined.

>>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
>>> accuracy([0, 1, 1], probs)
0.6666666666666666
>>> round(ece(probs, [0, 1, 1]), 4)
0.3
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_BINS",
    "ReliabilityBins",
    "accuracy",
    "brier",
    "classification_metrics",
    "ece",
    "exact_match",
    "fit_temperature",
    "log_softmax",
    "macro_f1",
    "mce",
    "nll",
    "reliability_bins",
    "rouge_l",
    "softmax",
]

#: Number of equal-width confidence bins for ECE, MCE and reliability diagrams.
DEFAULT_BINS = 15

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Tolerance on row sums of probabilities: loose enough for float32 model outputs, tight enough to catch logits.
_ROW_SUM_TOL = 1e-3
_GRID_POINTS = 41
_GOLDEN_ITERATIONS = 60
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


# ----------------------------------------------------------------------------------------------- validation


def _as_float_2d(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n examples, k classes), got shape {arr.shape}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least 1 class column, got shape {arr.shape}")
    return arr


def _as_probs(probs: npt.ArrayLike, name: str = "probs") -> FloatArray:
    arr = _as_float_2d(probs, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {int(np.sum(~np.isfinite(arr)))} nan/inf entries")
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0 + _ROW_SUM_TOL):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{arr.min():.6g}, {arr.max():.6g}]; "
                         f"pass softmax(logits) for scores")
    if arr.shape[0]:
        sums = arr.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > _ROW_SUM_TOL)
        if bad.size:
            raise ValueError(f"rows of {name} must sum to 1, got row {int(bad[0])} summing to {sums[bad[0]]:.6g}; "
                             f"pass softmax(logits) for scores")
    return arr


def _as_labels(labels: npt.ArrayLike, name: str, n_classes: int | None = None) -> IntArray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n,), got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    integral = arr.dtype.kind in "iu" or (
        arr.dtype.kind == "f" and bool(np.all(np.isfinite(arr))) and bool(np.all(arr == np.round(arr))))
    if not integral:
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype} (e.g. {arr.flat[0]!r})")
    out = arr.astype(np.int64)
    low, high = int(out.min()), int(out.max())
    if low < 0 or (n_classes is not None and high >= n_classes):
        bad = low if low < 0 else high
        allowed = f"[0, {n_classes})" if n_classes is not None else "integers >= 0"
        raise ValueError(f"{name} holds label {bad}, allowed: {allowed}")
    return out


def _check_lengths(a: npt.NDArray[Any], b: npt.NDArray[Any], name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} and {name_b} must have the same length, got {a.shape[0]} and {b.shape[0]}")


def _check_nonempty(n: int, what: str) -> None:
    if n == 0:
        raise ValueError(f"{what} of an empty set is undefined; got 0 examples, need at least 1")


def _check_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    return int(n_bins)


def _check_temperature(temperature: float) -> float:
    t = float(temperature)
    if not (math.isfinite(t) and t > 0.0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return t


def _probs_and_labels(probs: npt.ArrayLike, y_true: npt.ArrayLike, what: str) -> tuple[FloatArray, IntArray]:
    p = _as_probs(probs)
    y = _as_labels(y_true, "y_true", n_classes=p.shape[1])
    _check_lengths(y, p, "y_true", "probs")
    _check_nonempty(p.shape[0], what)
    return p, y


# ---------------------------------------------------------------------------------------------- softmax


def log_softmax(logits: npt.ArrayLike, temperature: float = 1.0) -> FloatArray:
    """Log of :func:`softmax` over the last axis, computed stably (max subtracted before ``exp``).

    Entries may be ``-inf`` (a log-probability of 0) as long as each row has a finite entry.

    >>> np.round(np.exp(log_softmax([[0.0, np.log(3.0)]])), 6)
    array([[0.25, 0.75]])
    """
    t = _check_temperature(temperature)
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
        scores = _as_float_2d(arr, name)
        if np.any(np.isnan(scores)):
            raise ValueError(f"{name} must not contain nan")
        return np.argmax(scores, axis=1).astype(np.int64), scores.shape[1]
    if arr.ndim == 1:
        return _as_labels(arr, name), None
    raise ValueError(f"{name} must be 1-D predictions (n,) or 2-D scores (n, k), got shape {arr.shape}")


def accuracy(y_true: npt.ArrayLike, probs_or_pred: npt.ArrayLike) -> float:
    """Fraction of examples whose prediction equals the label.

    ``probs_or_pred`` is either ``(n, k)`` probabilities or logits (the prediction is the row's argmax) or
    ``(n,)`` predicted classes.

    >>> accuracy([0, 1, 1], [0, 1, 0])
    0.6666666666666666
    """
    pred, k = _predictions(probs_or_pred, "probs_or_pred")
    y = _as_labels(y_true, "y_true", n_classes=k)
    _check_lengths(y, pred, "y_true", "probs_or_pred")
    _check_nonempty(y.shape[0], "accuracy")
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
    if n_classes is not None:
        if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
            raise ValueError(f"n_classes must be an integer >= 1, got {n_classes!r}")
        if k is not None and k != n_classes:
            raise ValueError(f"n_classes={n_classes} does not match the {k} score columns of y_pred")
        k = int(n_classes)
    if k is not None and pred.size and int(pred.max()) >= k:
        raise ValueError(f"y_pred holds label {int(pred.max())}, allowed: [0, {k})")
    y = _as_labels(y_true, "y_true", n_classes=k)
    _check_lengths(y, pred, "y_true", "y_pred")
    _check_nonempty(y.shape[0], "macro_f1")
    present, inverse = np.unique(np.concatenate([y, pred]), return_inverse=True)
    idx_true, idx_pred = inverse[: y.shape[0]], inverse[y.shape[0]:]
    m = present.shape[0]
    tp = np.bincount(idx_true[y == pred], minlength=m)
    n_true = np.bincount(idx_true, minlength=m)
    n_pred = np.bincount(idx_pred, minlength=m)
    # 2TP / (2TP + FP + FN) == 2TP / (n_true + n_pred); the denominator is > 0 for every present class.
    return float(np.mean(2.0 * tp / (n_true + n_pred)))


def brier(probs: npt.ArrayLike, y_true: npt.ArrayLike) -> float:
    """Multi-class Brier score ``mean_i sum_k (p_ik - onehot_ik)^2``, in ``[0, 2]`` (lower is better).

    For two classes this is twice the binary Brier score on the positive class.

    >>> brier([[0.75, 0.25], [0.5, 0.5]], [0, 1])  # (0.0625 + 0.0625 + 0.25 + 0.25) / 2
    0.3125
    """
    p, y = _probs_and_labels(probs, y_true, "brier")
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
    p, y = _probs_and_labels(probs, y_true, "nll")
    p_true = np.clip(p[np.arange(p.shape[0]), y], eps, 1.0)
    return float(-np.mean(np.log(p_true)))


# ---------------------------------------------------------------------------------------- calibration


def _readonly(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    arr.setflags(write=False)
    return arr


def _json_floats(arr: npt.NDArray[Any]) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in arr.tolist()]


@dataclass(frozen=True, eq=False)
class ReliabilityBins:
    """Reliability-diagram data for equal-width confidence bins (see the module docstring for the convention).

    ``edges`` has ``n_bins + 1`` entries from 0 to 1; ``counts``, ``confidence`` (mean confidence) and
    ``accuracy`` (fraction correct) have one entry per bin, with ``nan`` for empty bins. Arrays are read-only.
    """

    edges: FloatArray
    counts: IntArray
    confidence: FloatArray
    accuracy: FloatArray

    @property
    def n_bins(self) -> int:
        return int(self.counts.shape[0])

    def gaps(self) -> FloatArray:
        """``|accuracy - confidence|`` per bin, ``nan`` where the bin is empty."""
        out: FloatArray = np.abs(self.accuracy - self.confidence)
        return out

    def to_dict(self) -> dict[str, Sequence[float | None]]:
        """A JSON-able dict of plain lists; ``nan`` (empty bins) becomes ``None``."""
        return {
            "edges": [float(v) for v in self.edges.tolist()],
            "counts": [int(v) for v in self.counts.tolist()],
            "confidence": _json_floats(self.confidence),
            "accuracy": _json_floats(self.accuracy),
        }


def _bin_index(confidence: FloatArray, edges: FloatArray) -> IntArray:
    # searchsorted(side="left") puts a value equal to edges[i] at i, so it lands in bin i - 1 = (edges[i-1], edges[i]];
    # clipping sends 0 to the first bin. Comparing with the stored edges (not ceil(c * n_bins)) keeps the
    # convention exact where c * n_bins rounds across an integer.
    idx = np.searchsorted(edges, confidence, side="left") - 1
    out: IntArray = np.clip(idx, 0, edges.shape[0] - 2).astype(np.int64)
    return out


def reliability_bins(probs: npt.ArrayLike, y_true: npt.ArrayLike, n_bins: int = DEFAULT_BINS) -> ReliabilityBins:
    """Bin predictions by confidence (max probability) into ``n_bins`` equal-width bins over ``[0, 1]``.

    Bin ``i`` is ``(edges[i], edges[i+1]]``; the first bin also holds 0, so 1.0 is in the last bin.

    >>> bins = reliability_bins([[0.9, 0.1], [0.5, 0.5], [0.3, 0.7]], [0, 1, 1], n_bins=2)
    >>> bins.counts.tolist(), bins.accuracy.tolist()
    ([1, 2], [0.0, 1.0])
    """
    n_bins = _check_bins(n_bins)
    p, y = _probs_and_labels(probs, y_true, "reliability_bins")
    conf = np.clip(np.max(p, axis=1), 0.0, 1.0)
    correct = (np.argmax(p, axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = _bin_index(conf, edges)
    counts = np.bincount(idx, minlength=n_bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / counts
        mean_acc = np.bincount(idx, weights=correct, minlength=n_bins) / counts
    empty = counts == 0
    mean_conf[empty] = np.nan
    mean_acc[empty] = np.nan
    return ReliabilityBins(edges=_readonly(edges), counts=_readonly(counts), confidence=_readonly(mean_conf),
                           accuracy=_readonly(mean_acc))


def ece(probs: npt.ArrayLike, y_true: npt.ArrayLike, n_bins: int = DEFAULT_BINS) -> float:
    """Expected calibration error ``sum_b (n_b / n) |acc_b - conf_b|`` over equal-width confidence bins.

    >>> probs = [[0.8, 0.2]] * 5            # every prediction says class 0 with confidence 0.8
    >>> round(ece(probs, [0, 0, 0, 0, 1]), 12)   # and 4 of 5 are right: perfectly calibrated
    0.0
    >>> round(ece(probs, [0, 0, 1, 1, 1]), 12)   # 2 of 5 right: |0.4 - 0.8|
    0.4
    """
    bins = reliability_bins(probs, y_true, n_bins)
    weights = bins.counts / bins.counts.sum()
    return float(np.sum(weights[bins.counts > 0] * bins.gaps()[bins.counts > 0]))


def mce(probs: npt.ArrayLike, y_true: npt.ArrayLike, n_bins: int = DEFAULT_BINS) -> float:
    """Maximum calibration error: the largest ``|acc_b - conf_b|`` over non-empty bins.

    >>> mce([[0.9, 0.1], [0.6, 0.4]], [0, 1], n_bins=10)
    0.6
    """
    bins = reliability_bins(probs, y_true, n_bins)
    return float(np.max(bins.gaps()[bins.counts > 0]))


def _mean_nll_at(logits: FloatArray, y: IntArray, temperature: float) -> float:
    logp = log_softmax(logits, temperature)
    return float(-np.mean(logp[np.arange(y.shape[0]), y]))


def fit_temperature(logits: npt.ArrayLike, y_true: npt.ArrayLike, low: float = 0.05, high: float = 20.0) -> float:
    """The temperature ``T`` in ``[low, high]`` minimising ``NLL(softmax(logits / T))`` on ``(logits, y_true)``.

    NLL is convex in ``1 / T``, hence unimodal in ``log T``: a log-spaced grid brackets the minimum and a
    golden-section search refines it. ``T = 1`` is always a candidate, so the fitted ``T`` never has a higher
    NLL than the unscaled logits (when ``low <= 1 <= high``). Empty input, or logits whose NLL does not depend
    on ``T`` (e.g. constant rows), give 1.0 (clipped into ``[low, high]``).

    >>> z = np.array([[4.0, 0.0]] * 4)      # margin 4, and 3 of 4 right: best margin is log 3
    >>> round(fit_temperature(z, [0, 0, 0, 1]), 4), round(4 / math.log(3), 4)
    (3.641, 3.641)
    """
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 < low < high):
        raise ValueError(f"0 < low < high must hold (finite), got low={low!r}, high={high!r}")
    x = _as_float_2d(logits, "logits")
    y = _as_labels(y_true, "y_true", n_classes=x.shape[1])
    _check_lengths(y, x, "y_true", "logits")
    default = min(max(1.0, low), high)
    if y.shape[0] == 0:
        return 1.0

    def objective(log_t: float) -> float:
        return _mean_nll_at(x, y, math.exp(log_t))

    grid = np.linspace(math.log(low), math.log(high), _GRID_POINTS)
    values = np.array([objective(float(g)) for g in grid])
    if float(values.max() - values.min()) <= 1e-12 * max(1.0, float(abs(values.min()))):
        return default
    best = int(np.argmin(values))
    a, b = float(grid[max(best - 1, 0)]), float(grid[min(best + 1, _GRID_POINTS - 1)])
    c, d = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    fc, fd = objective(c), objective(d)
    for _ in range(_GOLDEN_ITERATIONS):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - _INV_PHI * (b - a)
            fc = objective(c)
        else:
            a, c, fc = c, d, fd
            d = a + _INV_PHI * (b - a)
            fd = objective(d)
    candidates = [(float(values[best]), math.exp(float(grid[best]))), (fc, math.exp(c)), (fd, math.exp(d))]
    candidates.append((_mean_nll_at(x, y, default), default))
    _, t_best = min(candidates)
    return float(min(max(t_best, low), high))


def classification_metrics(
    logits: npt.ArrayLike,
    y_true: npt.ArrayLike,
    *,
    n_bins: int = DEFAULT_BINS,
    temperature: float | None = None,
) -> dict[str, float]:
    """Accuracy, macro-F1, ECE, MCE, Brier and NLL of ``softmax(logits)``; with ``temperature``, also the
    calibration metrics of ``softmax(logits / temperature)`` as ``ece_ts``, ``mce_ts``, ``brier_ts``,
    ``nll_ts`` (and ``temperature`` itself). Fit the temperature on validation data with
    :func:`fit_temperature` and pass it here for the test split.

    >>> m = classification_metrics([[2.0, 0.0], [0.0, 1.0]], [0, 0], temperature=2.0)
    >>> sorted(m)
    ['accuracy', 'brier', 'brier_ts', 'ece', 'ece_ts', 'macro_f1', 'mce', 'mce_ts', 'nll', 'nll_ts', 'temperature']
    >>> m["accuracy"], round(m["macro_f1"], 4)
    (0.5, 0.3333)
    """
    n_bins = _check_bins(n_bins)
    x = _as_float_2d(logits, "logits")
    y = _as_labels(y_true, "y_true", n_classes=x.shape[1])
    _check_lengths(y, x, "y_true", "logits")
    _check_nonempty(y.shape[0], "classification_metrics")
    probs = softmax(x)
    out = {
        "accuracy": accuracy(y, probs),
        "macro_f1": macro_f1(y, np.argmax(probs, axis=1), n_classes=x.shape[1]),
        "ece": ece(probs, y, n_bins),
        "mce": mce(probs, y, n_bins),
        "brier": brier(probs, y),
        "nll": nll(probs, y),
    }
    if temperature is not None:
        t = _check_temperature(temperature)
        scaled = softmax(x, t)
        out.update(temperature=t, ece_ts=ece(scaled, y, n_bins), mce_ts=mce(scaled, y, n_bins),
                   brier_ts=brier(scaled, y), nll_ts=nll(scaled, y))
    return out


# ----------------------------------------------------------------------------------------- generation

_WHITESPACE = re.compile(r"\s+")
_EDGE_CHARS = string.punctuation + string.whitespace


def _check_texts(predictions: Sequence[str], references: Sequence[str], what: str) -> None:
    for name, texts in (("predictions", predictions), ("references", references)):
        if isinstance(texts, str):
            raise ValueError(f"{name} must be a sequence of strings, got a single string {texts[:40]!r}")
        bad = next((t for t in texts if not isinstance(t, str)), None)
        if bad is not None:
            raise ValueError(f"{name} must hold strings only, got {type(bad).__name__} {bad!r}")
    if len(predictions) != len(references):
        raise ValueError(f"predictions and references must have the same length, "
                         f"got {len(predictions)} and {len(references)}")
    _check_nonempty(len(predictions), what)


def _normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", text.lower()).strip(_EDGE_CHARS)


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of predictions equal to their reference after normalising both: lower-case, collapse
    whitespace, and strip whitespace and punctuation at the ends.

    >>> exact_match(["  Paris.", "the  Cat"], ["paris", "the cat sat"])
    0.5
    """
    _check_texts(predictions, references, "exact_match")
    hits = sum(_normalise(p) == _normalise(r) for p, r in zip(predictions, references, strict=True))
    return hits / len(predictions)


def _lcs_length(a: list[str], b: list[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for tok in a:
        cur = [0] * (len(b) + 1)
        for j, other in enumerate(b, start=1):
            cur[j] = prev[j - 1] + 1 if tok == other else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def _rouge_l_pair(prediction: str, reference: str) -> float:
    pred, ref = prediction.lower().split(), reference.lower().split()
    if not pred and not ref:
        return 1.0
    lcs = _lcs_length(pred, ref) if pred and ref else 0
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2.0 * precision * recall / (precision + recall)


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F1 (beta = 1) over pairs, on lower-cased whitespace tokens, via the longest common
    subsequence. Two empty texts score 1.0; one empty text scores 0.0.

    >>> round(rouge_l(["the cat sat"], ["the cat sat down"]), 6)   # P = 1, R = 3/4
    0.857143
    """
    _check_texts(predictions, references, "rouge_l")
    return sum(_rouge_l_pair(p, r) for p, r in zip(predictions, references, strict=True)) / len(predictions)
