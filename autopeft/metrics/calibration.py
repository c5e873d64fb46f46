"""Calibration: reliability bins, ECE, MCE, temperature scaling, and every classification metric at once.

Calibration convention (stated once, used everywhere): a prediction's *confidence* is its largest class
probability and it is *correct* when that class (the first one on ties, as ``argmax``) is the label.
Confidences are put into ``n_bins`` equal-width bins over ``[0, 1]`` (15 by default, :data:`DEFAULT_BINS`);
bin ``i`` is the half-open interval ``(edges[i], edges[i+1]]``, except the first, which also holds 0, so a
confidence of exactly 1.0 falls in the last bin and one on an inner edge falls in the bin below it (with two
bins, 0.5 is in bin 0).

>>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
>>> round(ece(probs, [0, 1, 1]), 4)
0.3
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq, minimize_scalar

from autopeft.metrics._checks import (
    DEFAULT_BINS,
    FloatArray,
    IntArray,
    as_float_2d,
    as_labels,
    check_bins,
    check_lengths,
    check_nonempty,
    check_temperature,
    probs_and_labels,
)
from autopeft.metrics.classification import accuracy, balanced_accuracy, brier, log_softmax, macro_f1, nll, softmax

_GRID_POINTS = 41


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
    n_bins = check_bins(n_bins)
    p, y = probs_and_labels(probs, y_true, "reliability_bins")
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

    NLL is convex in ``1 / T``, hence unimodal in ``log T``: a log-spaced grid brackets the minimum and
    scipy's bounded Brent search refines it. ``T = 1`` is always a candidate, so the fitted ``T`` never has a higher
    NLL than the unscaled logits (when ``low <= 1 <= high``). Empty input, or logits whose NLL does not depend
    on ``T`` (e.g. constant rows), give 1.0 (clipped into ``[low, high]``).

    >>> z = np.array([[4.0, 0.0]] * 4)      # margin 4, and 3 of 4 right: best margin is log 3
    >>> round(fit_temperature(z, [0, 0, 0, 1]), 4), round(4 / math.log(3), 4)
    (3.641, 3.641)
    """
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 < low < high):
        raise ValueError(f"0 < low < high must hold (finite), got low={low!r}, high={high!r}")
    x = as_float_2d(logits, "logits")
    y = as_labels(y_true, "y_true", n_classes=x.shape[1])
    check_lengths(y, x, "y_true", "logits")
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
    # Bounded Brent (scipy) refines the minimum inside the bracket the grid found.
    refined = minimize_scalar(objective, bounds=(a, b), method="bounded", options={"xatol": 1e-9})
    candidates = [(float(values[best]), math.exp(float(grid[best]))), (float(refined.fun), math.exp(float(refined.x)))]
    candidates.append((_mean_nll_at(x, y, default), default))
    _, t_best = min(candidates)
    return float(min(max(t_best, low), high))


def separated(logits: npt.ArrayLike, y_true: npt.ArrayLike) -> bool:
    """Whether every row's label holds the row's one largest logit (every example right, none tied).

    Then ``softmax(logits / T)`` gives each label more probability as ``T`` falls, so the NLL has no minimum:
    its fit runs to the lowest temperature allowed.

    >>> separated([[2.0, 0.0], [0.0, 1.0]], [0, 1]), separated([[2.0, 0.0], [0.0, 1.0]], [0, 0])
    (True, False)
    >>> separated([[1.0, 1.0]], [0])  # a tie: as T falls, the label's probability stays 1/2
    False
    """
    x = as_float_2d(logits, "logits")
    y = as_labels(y_true, "y_true", n_classes=x.shape[1])
    check_lengths(y, x, "y_true", "logits")
    label = x[np.arange(y.shape[0]), y]
    others = np.where(np.arange(x.shape[1]) == y[:, None], -np.inf, x)
    return bool(np.all(label > others.max(axis=1, initial=-np.inf)))


def scaling_temperature(logits: npt.ArrayLike, y_true: npt.ArrayLike, low: float = 0.05,
                        high: float = 20.0) -> float:
    """The temperature a trial records from its validation split: :func:`fit_temperature`, except where the split
    is :func:`separated`.

    On a separated split of ``n`` rows the NLL falls without end as ``T`` goes to 0, so its fit stops at ``low``
    only because the range ends there, and claims a certainty no finite split shows: a model that got 30 easy
    validation rows right gave new rows 1 - 6e-38 at ``T = 0.05``. There the temperature is the one whose mean
    confidence on the split is ``(n + 1) / (n + 2)``, the accuracy that ``n`` right of ``n`` supports (Laplace's
    rule of succession), clipped into ``[low, high]``. Each row's confidence falls as ``T`` rises, so there is one
    such ``T``. With two classes and every margin ``m`` it is ``m / log(n + 1)``:

    >>> round(scaling_temperature([[2.0, 0.0], [0.0, 2.0]], [0, 1]), 6), round(2 / math.log(3), 6)
    (1.820478, 1.820478)
    >>> round(fit_temperature([[2.0, 0.0], [0.0, 2.0]], [0, 1]), 6)  # the NLL's fit runs to the bound
    0.05
    """
    x = as_float_2d(logits, "logits")
    n = int(x.shape[0])
    if n == 0 or not separated(x, y_true):  # (no rows: fit_temperature's 1.0)
        return fit_temperature(x, y_true, low, high)
    target = (n + 1) / (n + 2)

    def excess(log_t: float) -> float:
        return float(np.mean(softmax(x, math.exp(log_t)).max(axis=1))) - target

    if excess(math.log(high)) >= 0:
        return float(high)
    if excess(math.log(low)) <= 0:
        return float(low)
    root: float = brentq(excess, math.log(low), math.log(high), xtol=1e-12)
    return math.exp(root)


def classification_metrics(
    logits: npt.ArrayLike,
    y_true: npt.ArrayLike,
    *,
    n_bins: int = DEFAULT_BINS,
    temperature: float | None = None,
) -> dict[str, float]:
    """Accuracy, macro-F1, balanced accuracy, ECE, MCE, Brier and NLL of ``softmax(logits)``; with
    ``temperature``, also the calibration metrics of ``softmax(logits / temperature)`` as ``ece_ts``, ``mce_ts``,
    ``brier_ts``, ``nll_ts`` (and ``temperature`` itself). Fit the temperature on validation data with
    :func:`fit_temperature` and pass it here for the test split.

    >>> m = classification_metrics([[2.0, 0.0], [0.0, 1.0]], [0, 0], temperature=2.0)
    >>> sorted(m)  # doctest: +NORMALIZE_WHITESPACE
    ['accuracy', 'balanced_accuracy', 'brier', 'brier_ts', 'ece', 'ece_ts', 'macro_f1', 'mce', 'mce_ts', 'nll',
     'nll_ts', 'temperature']
    >>> m["accuracy"], round(m["macro_f1"], 4)
    (0.5, 0.3333)
    """
    n_bins = check_bins(n_bins)
    x = as_float_2d(logits, "logits")
    y = as_labels(y_true, "y_true", n_classes=x.shape[1])
    check_lengths(y, x, "y_true", "logits")
    check_nonempty(y.shape[0], "classification_metrics")
    probs = softmax(x)
    out = {
        "accuracy": accuracy(y, probs),
        "macro_f1": macro_f1(y, np.argmax(probs, axis=1), n_classes=x.shape[1]),
        "balanced_accuracy": balanced_accuracy(y, probs),
        "ece": ece(probs, y, n_bins),
        "mce": mce(probs, y, n_bins),
        "brier": brier(probs, y),
        "nll": nll(probs, y),
    }
    if temperature is not None:
        t = check_temperature(temperature)
        scaled = softmax(x, t)
        out.update(temperature=t, ece_ts=ece(scaled, y, n_bins), mce_ts=mce(scaled, y, n_bins),
                   brier_ts=brier(scaled, y), nll_ts=nll(scaled, y))
    return out
