"""Paired comparison of two search strategies over the same replay seeds: counts and significance.

A comparison on 20 seeds reads "ahead on 9, tied on 1, behind on 10"; whether such a split, or "ahead on 16 of
20", is more than seed luck is what a careful reader asks next. :func:`paired_comparison` answers with the two
standard paired tests, both taken from scipy (nothing re-derived here):

- the **sign test** — an exact two-sided binomial test of the seeds ahead against those behind, ties dropped
  (:func:`scipy.stats.binomtest` with p = 1/2). It uses only who is ahead, so one seed far behind counts as
  much as one a hair behind;
- the **Wilcoxon signed-rank test** on the per-seed differences (:func:`scipy.stats.wilcoxon`, zero differences
  dropped, ``zero_method="wilcox"``; exact where scipy can be), which also weighs how far ahead.

Both are two-sided and ``None`` when no seed differs. They assume the seeds are independent replays, which they
are (each seed draws its own answers from the table and its own controller randomness).

>>> c = paired_comparison([0.9, 0.8, 0.7, 0.6, 0.5], [0.5, 0.5, 0.5, 0.5, 0.5])
>>> (c.ahead, c.tied, c.behind), round(c.sign_p, 4)
((4, 1, 0), 0.125)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["TIE", "PairedComparison", "paired_comparison"]

#: Differences within this are ties (the ratios are sums of floating-point hypervolumes).
TIE = 1e-12


@dataclass(frozen=True)
class PairedComparison:
    """``a`` against ``b`` on ``seeds`` paired seeds."""

    ahead: int
    tied: int
    behind: int
    #: Median over seeds of a - b.
    median_difference: float
    #: Two-sided exact sign test (ties dropped); None when every seed is tied.
    sign_p: float | None
    #: Two-sided Wilcoxon signed-rank test (zero differences dropped); None when every seed is tied.
    wilcoxon_p: float | None

    @property
    def seeds(self) -> int:
        return self.ahead + self.tied + self.behind

    def as_dict(self) -> dict[str, Any]:
        return {"ahead": self.ahead, "tied": self.tied, "behind": self.behind, "seeds": self.seeds,
                "median_difference": self.median_difference, "sign_p": self.sign_p, "wilcoxon_p": self.wilcoxon_p}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PairedComparison:
        """The inverse of :meth:`as_dict` (``seeds`` is derived, so it is not read)."""
        return cls(ahead=int(data["ahead"]), tied=int(data["tied"]), behind=int(data["behind"]),
                   median_difference=float(data["median_difference"]), sign_p=data["sign_p"],
                   wilcoxon_p=data["wilcoxon_p"])

    def p_text(self) -> str:
        """The two p-values as a short phrase, e.g. ``sign test p = 0.0004, Wilcoxon p = 0.0001``."""
        if self.sign_p is None or self.wilcoxon_p is None:
            return "every seed tied"
        return f"sign test p = {_p(self.sign_p)}, Wilcoxon p = {_p(self.wilcoxon_p)}"


def paired_comparison(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> PairedComparison:
    """``a[i]`` against ``b[i]`` for each seed ``i`` (larger is better): counts, median difference, p-values."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"paired_comparison needs two 1-D arrays of the same length, got shapes {x.shape} and "
                         f"{y.shape}")
    if x.size == 0:
        raise ValueError("paired_comparison needs at least one paired seed, got none")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("paired_comparison needs finite values")
    diff = x - y
    diff = np.where(np.abs(diff) <= TIE, 0.0, diff)
    ahead, behind = int((diff > 0).sum()), int((diff < 0).sum())
    sign_p = wilcoxon_p = None
    if ahead + behind:
        sign_p = float(stats.binomtest(ahead, ahead + behind, 0.5).pvalue)
        wilcoxon_p = float(stats.wilcoxon(diff[diff != 0], zero_method="wilcox").pvalue)
    return PairedComparison(ahead=ahead, tied=int(x.size - ahead - behind), behind=behind,
                            median_difference=float(np.median(diff)), sign_p=sign_p, wilcoxon_p=wilcoxon_p)


def _p(value: float) -> str:
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"
