"""What a search prints as each trial ends (autopeft.study.progress), on records written by hand."""

from __future__ import annotations

import io

import numpy as np
import pytest

from autopeft.objectives import objectives_of
from autopeft.study.front import Front
from autopeft.study.journal import Trial
from autopeft.study.loop import LoopState
from autopeft.study.progress import Progress
from autopeft.trial import Fidelity, TrialResult


def _line(accuracy: float, confusion: tuple[tuple[int, ...], ...] | None) -> str:
    result = TrialResult(config={"method": "ia3"}, fidelity=Fidelity(steps=1), seed=0, status="complete",
                         metrics={"accuracy": accuracy}, trainable_params=10,
                         confusion=None if confusion is None else {"validation": confusion})
    trial = Trial(number=1, phase="search", state="complete", config={"method": "ia3"}, fidelity=Fidelity(steps=1),
                  seed=0, origin="random", created=0.0, started=0.0, finished=1.0, result=result)
    stream = io.StringIO()
    progress = Progress(4, stream, score=objectives_of(["accuracy", "trainable_params"]))
    progress.finished(trial, LoopState(trials=[trial]), Front([], np.zeros((0, 2)), 0.0, None))
    return stream.getvalue()


@pytest.mark.parametrize(("accuracy", "confusion", "said"), [
    (0.6, ((6, 0), (4, 0)), True),    # 6 of 10 in class 0: always predicting it scores 0.6
    (0.5, ((3, 3), (2, 2)), True),    # below chance too
    (0.7, ((6, 0), (1, 3)), False),
    (0.6, None, False),               # no class counts recorded: nothing to compare with
])
def test_a_trial_at_chance_says_so_as_it_ends(accuracy: float, confusion: tuple[tuple[int, ...], ...] | None,
                                              said: bool) -> None:
    line = _line(accuracy, confusion)
    assert f"acc {accuracy:.3f}" in line
    assert ("(chance: the majority class)" in line) is said
