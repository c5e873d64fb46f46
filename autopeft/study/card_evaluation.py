"""What a model card reports of an evaluation: the metrics' names in the card's order, and one split's metrics per
training seed (:class:`Evaluation`), with their mean and spread."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from autopeft.errors import ExportError

__all__ = ["CALIBRATION", "METRIC_LABELS", "Evaluation"]

#: metric name -> how the card names it, in the order the card lists them (task metrics, then calibration)
METRIC_LABELS: dict[str, str] = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "balanced_accuracy": "balanced accuracy",
    "rouge_l": "ROUGE-L",
    "exact_match": "exact match",
    "ece": "ECE",
    "ece_ts": "ECE after temperature scaling",
    "mce": "MCE",
    "mce_ts": "MCE after temperature scaling",
    "brier": "Brier score",
    "brier_ts": "Brier score after temperature scaling",
    "nll": "NLL",
    "nll_ts": "NLL after temperature scaling",
    "temperature": "temperature (fitted on validation)",
}
#: the calibration metrics (lower is better; ``*_ts`` after temperature scaling)
CALIBRATION = ("ece", "ece_ts", "mce", "mce_ts", "brier", "brier_ts", "nll", "nll_ts", "temperature")
#: metrics a card leaves out: ``score`` repeats the task's primary metric
_HIDDEN = ("score",)


@dataclass(frozen=True)
class Evaluation:
    """One split's metrics: per training seed, after ``steps`` steps on ``train_fraction`` of the training split."""

    split: str
    steps: int
    per_seed: Mapping[int, Mapping[str, float]]
    train_fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.split not in ("validation", "test"):
            raise ExportError(f"card evaluation split {self.split!r} is not allowed; allowed: validation, test")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ExportError(f"card evaluation steps must be an integer >= 1, got {self.steps!r}")
        if not self.per_seed:
            raise ExportError(f"card evaluation of the {self.split} split has no seed")
        object.__setattr__(self, "per_seed", {int(s): {str(k): float(v) for k, v in m.items()}
                                              for s, m in sorted(self.per_seed.items())})

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(self.per_seed)

    def metric_names(self) -> list[str]:
        """The metrics every seed has, in the card's order (known ones first), ``score`` left out."""
        common = set.intersection(*(set(m) for m in self.per_seed.values())) - set(_HIDDEN)
        known = [k for k in METRIC_LABELS if k in common]
        return known + sorted(common - set(known))

    def mean(self, name: str) -> float:
        return statistics.fmean(m[name] for m in self.per_seed.values())

    def std(self, name: str) -> float:
        """Sample standard deviation over seeds (0 for one seed)."""
        values = [m[name] for m in self.per_seed.values()]
        return statistics.stdev(values) if len(values) > 1 else 0.0
