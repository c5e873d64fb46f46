"""Classification and generation metrics, with calibration: numpy and scipy, no torch, no scikit-learn.

- :mod:`~autopeft.metrics.classification`: softmax, accuracy, macro-F1, balanced accuracy, Brier score, NLL, and
  per class the confusion matrix with precision, recall and F1;
- :mod:`~autopeft.metrics.calibration`: reliability bins, ECE, MCE, temperature scaling (its docstring states
  the binning convention), and :func:`classification_metrics`, all of them at once from logits;
- :mod:`~autopeft.metrics.text`: exact match and ROUGE-L of generated text.

Classification metrics take class probabilities ``probs`` of shape ``(n, k)`` (rows sum to 1) and integer
labels ``y_true`` of shape ``(n,)`` in ``[0, k)``; :func:`classification_metrics` takes unnormalised logits
(log-probabilities are fine) and computes them all, optionally after temperature scaling.

Every function raises :class:`ValueError` with a one-line message naming the bad value and what is allowed:
mismatched lengths, probabilities that are not 2-D or do not sum to 1, labels outside ``[0, k)``, a bin count
below 1, or an empty input where a mean is undefined.
"""

from __future__ import annotations

from autopeft.metrics._checks import DEFAULT_BINS
from autopeft.metrics.calibration import (
    ReliabilityBins,
    classification_metrics,
    ece,
    fit_temperature,
    mce,
    reliability_bins,
    scaling_temperature,
    separated,
)
from autopeft.metrics.classification import (
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
from autopeft.metrics.text import exact_match, rouge_l

__all__ = [
    "DEFAULT_BINS",
    "ReliabilityBins",
    "accuracy",
    "balanced_accuracy",
    "brier",
    "classification_metrics",
    "confusion_matrix",
    "ece",
    "exact_match",
    "fit_temperature",
    "log_softmax",
    "macro_f1",
    "mce",
    "nll",
    "per_class",
    "reliability_bins",
    "rouge_l",
    "scaling_temperature",
    "separated",
    "softmax",
]
