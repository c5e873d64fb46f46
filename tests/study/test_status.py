"""``status``'s wall time: a run's searches, without the time it sat stopped between a stop and a resume."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from autopeft.study.journal import Journal, Trial
from autopeft.study.status import wall_seconds
from autopeft.trial import Fidelity


def _trial(number: int, started: float, finished: float | None) -> Trial:
    return Trial(number=number, phase="search", state="complete" if finished else "running", config={},
                 fidelity=Fidelity(steps=1), seed=0, origin="random", created=started, started=started,
                 finished=finished)


def test_stopped_time_is_left_out() -> None:
    trials = [_trial(1, 10, 20), _trial(2, 20, 30), _trial(3, 1000, 1010), _trial(4, 1010, 1025)]
    # a search 5..40, stopped, then a resume 995..1030: 35 + 35, not 1030 - 5
    sessions = [{"start": 5, "end": 40}, {"start": 995, "end": 1030}]
    assert wall_seconds(sessions, trials, 0.0) == pytest.approx(70)
    # the first one killed (no end): it counts to its last finished trial, 30
    killed = [{"start": 5, "end": None}, {"start": 995, "end": 1030}]
    assert wall_seconds(killed, trials, 0.0) == pytest.approx(25 + 35)
    # killed before any trial finished: nothing
    assert wall_seconds([{"start": 5, "end": None}], [_trial(1, 10, None)], 0.0) == 0.0
    # journaled before sessions were recorded: from the start to the last finished trial, as before
    assert wall_seconds([], trials, 5.0) == pytest.approx(1020)
    # such a run resumed once sessions are recorded: its old part as before, then the resume
    assert wall_seconds([{"start": 995, "end": 1030}], trials, 5.0) == pytest.approx(25 + 35)


def test_a_search_and_its_resume_are_journaled_as_sessions(tiny_recipe: Path, tmp_path: Path) -> None:
    from autopeft.study.recipe import load_recipe
    from autopeft.study.search import run_search

    out = tmp_path / "run"
    run_search(load_recipe(tiny_recipe), out, budget=1, stream=io.StringIO())
    run_search(None, out, budget=2, resume=True, stream=io.StringIO())
    with Journal.open(out, lock=False) as j:
        sessions, trials = j.meta("sessions"), j.trials()
    assert len(sessions) == 2 and all(s["start"] <= s["end"] for s in sessions)
    assert sessions[0]["end"] <= sessions[1]["start"]
    assert all(s["start"] <= t.started and t.finished <= s["end"]  # type: ignore[operator]
               for s, t in zip(sessions, trials, strict=True))
    wall = wall_seconds(sessions, trials, None)
    assert wall == pytest.approx(sum(s["end"] - s["start"] for s in sessions))


@pytest.mark.parametrize(("scores", "hint"), [([0.0, 0.0], True), ([0.0, 0.25], False)])
def test_a_front_without_volume_says_nothing_was_learned(tmp_path: Path, scores: list[float], hint: bool) -> None:
    """A generation search whose every trial scores ROUGE-L 0 printed "hypervolume 0.0000" and nothing more."""
    from autopeft.study.status import status_text
    from autopeft.trial import TrialResult

    folder = tmp_path / "run"
    with Journal.create(folder, {"name": "gen", "text": "", "source": "gen.yaml", "base": "."}) as journal:
        journal.set_meta("settings", {"objectives": ["rouge_l", "trainable_params"], "budget": 2,
                                      "controller": "random", "seed": 0})
        for i, score in enumerate(scores):
            config = {"method": "ia3", "i": i}
            t = journal.add_trial(config, Fidelity(steps=3), seed=0, origin="random")
            journal.start(t.number)
            journal.finish(t.number, TrialResult(config=config, fidelity=Fidelity(steps=3), seed=0,
                                                 status="complete", metrics={"rouge_l": score},
                                                 trainable_params=100 * (i + 1), total_params=10_000))
    text = status_text(folder)
    assert ("no trial scored better than the reference's rouge_l (0)" in text) is hint
    assert ("fidelity.steps" in text) is hint


def test_trials_at_chance_are_named() -> None:
    """A trial that scores what always predicting the majority class scores learned nothing; status names it."""
    from autopeft.objectives import get_objective
    from autopeft.study.status import chance_lines
    from autopeft.trial import TrialResult

    confusion = {"validation": ((6, 0), (4, 0))}  # 10 examples, 6 in class 0: chance accuracy 0.6

    def trial(number: int, acc: float, state: str = "complete", matrix: bool = True) -> Trial:
        result = TrialResult(config={}, fidelity=Fidelity(steps=1), seed=0, status="complete",
                             metrics={"accuracy": acc}, trainable_params=10,
                             confusion=confusion if matrix else None)
        return Trial(number=number, phase="search", state=state, config={}, fidelity=Fidelity(steps=1), seed=0,
                     origin="random", created=0.0, result=result)

    accuracy = get_objective("accuracy")
    lines = chance_lines([trial(1, 0.6), trial(2, 0.9), trial(3, 0.5), trial(4, 0.1, state="running")], accuracy)
    assert len(lines) == 1
    assert "2 of 3 complete trials score accuracy 0.6000 or less" in lines[0] and "(trials 1, 3)" in lines[0]
    assert chance_lines([trial(1, 0.7), trial(2, 0.9)], accuracy) == []
    assert chance_lines([trial(1, 0.6, matrix=False)], accuracy) == []          # no class counts recorded
    assert chance_lines([trial(1, 0.6)], get_objective("ece")) == []            # no chance level
    many = chance_lines([trial(n, 0.6) for n in range(1, 16)], accuracy)[0]
    assert "(trials 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 3 more)" in many


def test_finalize_seeds_are_counted_and_a_stopped_finalize_says_how_to_go_on(tmp_path: Path) -> None:
    from autopeft.study.status import finalize_lines, status_text
    from autopeft.trial import TrialResult

    folder = tmp_path / "run"
    with Journal.create(folder, {"name": "r", "text": "", "source": "r.yaml", "base": "."}) as journal:
        journal.set_meta("settings", {"objectives": ["accuracy", "trainable_params"], "budget": 1,
                                      "controller": "random", "seed": 0})
        config = {"method": "ia3"}
        t = journal.add_trial(config, Fidelity(steps=3), seed=0, origin="random")
        journal.start(t.number)
        journal.finish(t.number, TrialResult(config=config, fidelity=Fidelity(steps=3), seed=0, status="complete",
                                             metrics={"accuracy": 0.8}, trainable_params=100, total_params=10_000))
        for seed in range(3):
            s = journal.add_trial(config, Fidelity(steps=9), seed=seed, origin=f"finalize:{t.number}",
                                  phase="finalize")
            if seed == 0:
                journal.start(s.number)
                journal.finish(s.number, TrialResult(config=config, fidelity=Fidelity(steps=9), seed=0,
                                                     status="complete", metrics={"accuracy": 0.8},
                                                     test_metrics={"accuracy": 0.7}))
            elif seed == 1:
                journal.start(s.number)  # killed while it ran
    text = status_text(folder)  # no process holds the run: the finalize was stopped
    assert "finalize (seeds by state): trial 1: 1 complete, 1 running, 1 waiting" in text
    assert f"finalize of trial(s) 1 was stopped; `autopeft finalize {folder} --pick trial:1` goes on" in text
    with Journal.open(folder, lock=False) as journal:
        seeds = journal.trials(phase="finalize")
    assert finalize_lines(seeds, folder, live=True) == [
        "finalize (seeds by state): trial 1: 1 complete, 1 running, 1 waiting"]
    assert finalize_lines([], folder, live=False) == []
