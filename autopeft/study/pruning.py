"""Stopping a trial early: when its partial validation score cannot reach the current front, it is pruned.

The runner scores validation at fixed fractions of a trial's steps (``training.curve_fractions``: 25, 50,
100 %; the points before the end on a fixed subset of the split). With ``search.prune: true`` each search trial
gets a *bar* per partial fraction when it starts (:func:`stop_bars`), and stops after the first partial point
that falls below its bar. It is journaled ``pruned`` with its partial curve; the controller counts it as tried
and learns nothing from it (as from a failed trial).

**The rule** (measured by ``benchmarks/pruning_rule.py`` on the committed journals). With the complete trials of
the same fidelity so far (at least :data:`MIN_TRIALS`):

- *required*: the best final score among them with at most this trial's trainable parameters. Only a final
  score above it puts the trial on the front of (score, trainable parameters).
- *slack at f*: the largest gain from the partial point at ``f`` to the end that any of them made. It is
  measured, not assumed, so it also covers the subset the partial points are scored on.
- *bar at f*: ``required - slack(f)``. A trial below it would have to gain more after ``f`` than any trial
  before it did, just to tie the front.

A trial with no complete trial at or below its size has no bar: nothing it scores can be dominated yet. The rule
applies to searches whose objectives are the task's score and the trainable-parameter count. With any other
objective (ECE, say) a trial could be on the front for another reason, so :func:`check_prune` refuses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from autopeft.errors import ConfigError
from autopeft.objectives import PARAMS, Objective
from autopeft.study.journal import Trial
from autopeft.study.references import REFERENCE

__all__ = ["MIN_TRIALS", "check_prune", "may_stop", "stop_bars"]

#: Complete trials of the same fidelity needed before any trial is stopped early.
MIN_TRIALS = 8


def check_prune(objectives: Sequence[Objective]) -> None:
    """Pruning needs exactly two objectives: the task's score (maximised) and the parameter count."""
    names = [o.name for o in objectives]
    others = [o for o in objectives if o.name != PARAMS]
    if len(objectives) != 2 or PARAMS not in names or others[0].direction != "max":
        raise ConfigError(f"search.prune needs the objectives [score, trainable_params] with the score maximised "
                          f"(a trial could be on the front for another objective), got {names}; allowed: e.g. "
                          f"[accuracy, trainable_params], or prune: false")


def may_stop(trial: Trial) -> bool:
    """Whether the rule may stop ``trial`` early: a search's own proposals may, the reference points (the
    baselines every report compares against) never are."""
    return not trial.origin.startswith(REFERENCE)


def _curve(trial: Trial) -> dict[float, float] | None:
    result = trial.result
    if trial.state != "complete" or result is None or not result.eval_curve or result.trainable_params is None:
        return None
    curve = {float(f): float(s) for f, s in result.eval_curve}
    return curve if 1.0 in curve and all(math.isfinite(v) for v in curve.values()) else None


def stop_bars(trials: Sequence[Trial], params: float, steps: int, *, min_trials: int = MIN_TRIALS,
              ) -> dict[float, float]:
    """Fraction -> the bar a partial score at it must reach (see the module docstring); empty: no bar yet."""
    done = [(t, c) for t in trials if t.fidelity.steps == steps for c in [_curve(t)] if c is not None]
    if len(done) < min_trials:
        return {}
    smaller = [c[1.0] for t, c in done if float(t.result.trainable_params or math.inf) <= params]  # type: ignore[union-attr]
    if not smaller:
        return {}
    required = max(smaller)
    fractions = sorted({f for _, c in done for f in c if f < 1.0})
    bars = {}
    for f in fractions:
        gains = [c[1.0] - c[f] for _, c in done if f in c]
        if gains:
            bars[f] = required - max(gains)
    return bars


def below(bars: Mapping[float, float], fraction: float, score: float) -> bool:
    """Whether a partial ``score`` at ``fraction`` is under its bar (no bar: never)."""
    bar = bars.get(round(fraction, 6), bars.get(fraction))
    return bar is not None and score < bar
