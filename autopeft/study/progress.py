"""What a search prints while it runs: each trial as it starts and as it ends, what is in flight, the ETA."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from autopeft.objectives import Objective, score_objective
from autopeft.study.classes import at_chance, chance_score
from autopeft.study.journal import Trial
from autopeft.trial import describe

if TYPE_CHECKING:
    from autopeft.study.front import Front
    from autopeft.study.loop import LoopState

__all__ = ["Progress"]


class Progress:
    """Lines on stderr: the ``header`` above the first trial; ``running i/N #n ...`` when a trial starts; when it
    ends a bar, its score and size, the best score on the front, the ETA and every trial still in flight. With
    ``fidelities`` (a multi-fidelity search) each line says the trial's training steps, since the front's best is
    the top rung's alone."""

    def __init__(self, budget: int, stream: TextIO | None = None, *, score: Sequence[Objective] = (),
                 fidelities: bool = False, header: str | None = None) -> None:
        self.budget, self.stream, self.times = budget, stream or sys.stderr, list[float]()
        self.score = score_objective(score) if score else None
        self.fidelities, self.header = fidelities, header

    def _at(self, trial: Trial) -> str:
        return f" @{trial.fidelity.steps} steps" if self.fidelities else ""

    def starting(self, trial: Trial, state: LoopState) -> None:
        """The configuration now starting, before its result is known."""
        position = len(state.finished) + len(state.running) + 1
        if self.header is not None:  # once, above the first trial
            self.stream.write(f"{self.header}\n")
            self.header = None
        self.stream.write(f"  running {position}/{self.budget} #{trial.number} {trial.origin} "
                          f"{describe(trial.config)}{self._at(trial)} ...\n")
        self.stream.flush()

    def finished(self, trial: Trial, state: LoopState, front: Front, *, where: str = "") -> None:
        result = trial.result
        if trial.finished and trial.started:
            self.times.append(trial.finished - trial.started)
        done = len(state.finished)
        left = max(0, self.budget - done - len(state.running))
        per = statistics.median(self.times) if self.times else math.nan
        eta = per * (left / max(1, state.slots) + (1 if state.running else 0))
        bar = "#" * round(20 * min(done, self.budget) / self.budget)
        name = self.score.name if self.score else "accuracy"
        short = "acc" if name == "accuracy" else name
        what = f"{short} {result.metrics.get(name, math.nan):.3f}" if result and result.ok else (
            f"{'PRUNED' if trial.state == 'pruned' else 'FAILED'}: {(trial.error or '')[:60]}")
        chance = chance_score(result, "validation", name) if result and result.ok else None
        if result is not None and at_chance(result.metrics.get(name), chance):
            what += " (chance: the majority class)"
        params = f"{result.trainable_params:,}" if result and result.trainable_params is not None else "?"
        best = "-"
        if front.trials and self.score is not None:
            values = [t.values.get(name, math.nan) for t in front.trials]
            best = f"{(max(values) if self.score.direction == 'max' else min(values)):.3f}"
        line = (f"[{bar:<20}] {done}/{self.budget} #{trial.number} {trial.origin} {describe(trial.config)}"
                f"{self._at(trial)} | {what} params {params} | front best {best} | ETA {_minutes(eta)}")
        if state.slots > 1:
            line += f" | {where}" if where else ""
            flying = " ".join(f"#{n}" for n in sorted(state.running))
            line += f" | in flight: {flying or 'none'}"
        self.stream.write(line + "\n")
        self.stream.flush()


def _minutes(seconds: float) -> str:
    return "?" if not math.isfinite(seconds) else f"{seconds / 60:.1f} min"

