"""What a search prints while it runs: every trial as it starts and as it ends, with the ETA."""

from __future__ import annotations

import math
import statistics
import sys
from typing import TextIO

from autopeft.study.journal import Trial
from autopeft.trial import describe

__all__ = ["Progress"]


class Progress:
    """One line per trial on stderr: a bar, trial i/N, the configuration, the best accuracy on the front, ETA."""

    def __init__(self, budget: int, stream: TextIO | None = None) -> None:
        self.budget, self.stream, self.times = budget, stream or sys.stderr, list[float]()

    def starting(self, position: int, trial: Trial) -> None:
        """The configuration now training, before its result is known."""
        self.stream.write(f"  running {position}/{self.budget} #{trial.number} {trial.origin} "
                          f"{describe(trial.config)} ...\n")
        self.stream.flush()

    def line(self, done: int, trial: Trial, best: float | None) -> None:
        result = trial.result
        if trial.finished and trial.started:
            self.times.append(trial.finished - trial.started)
        eta = statistics.median(self.times) * (self.budget - done) if self.times else float("nan")
        bar = "#" * round(20 * done / self.budget)
        what = f"acc {result.metrics.get('accuracy', float('nan')):.3f}" if result and result.ok else (
            f"FAILED: {(trial.error or '')[:60]}")
        params = f"{result.trainable_params:,}" if result and result.trainable_params is not None else "?"
        best_text = f"{best:.3f}" if best is not None else "-"
        self.stream.write(f"[{bar:<20}] {done}/{self.budget} #{trial.number} {trial.origin} {describe(trial.config)} "
                          f"| {what} params {params} | front best {best_text} | ETA {_minutes(eta)}\n")
        self.stream.flush()


def _minutes(seconds: float) -> str:
    return "?" if not math.isfinite(seconds) else f"{seconds / 60:.1f} min"
