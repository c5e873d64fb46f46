"""Input checks shared by the metrics: each raises :class:`ValueError` with a one-line message naming the bad
value and what is allowed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

#: Number of equal-width confidence bins for ECE, MCE and reliability diagrams.
DEFAULT_BINS = 15

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Tolerance on row sums of probabilities: loose enough for float32 model outputs, tight enough to catch logits.
_ROW_SUM_TOL = 1e-3

def as_float_2d(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n examples, k classes), got shape {arr.shape}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least 1 class column, got shape {arr.shape}")
    return arr


def as_probs(probs: npt.ArrayLike, name: str = "probs") -> FloatArray:
    arr = as_float_2d(probs, name)
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


def as_labels(labels: npt.ArrayLike, name: str, n_classes: int | None = None) -> IntArray:
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


def check_lengths(a: npt.NDArray[Any], b: npt.NDArray[Any], name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} and {name_b} must have the same length, got {a.shape[0]} and {b.shape[0]}")


def check_nonempty(n: int, what: str) -> None:
    if n == 0:
        raise ValueError(f"{what} of an empty set is undefined; got 0 examples, need at least 1")


def check_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    return int(n_bins)


def check_temperature(temperature: float) -> float:
    t = float(temperature)
    if not (math.isfinite(t) and t > 0.0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return t


def probs_and_labels(probs: npt.ArrayLike, y_true: npt.ArrayLike, what: str) -> tuple[FloatArray, IntArray]:
    p = as_probs(probs)
    y = as_labels(y_true, "y_true", n_classes=p.shape[1])
    check_lengths(y, p, "y_true", "probs")
    check_nonempty(p.shape[0], what)
    return p, y
