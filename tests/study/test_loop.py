"""The study loop against a fake engine: slots kept full, pending proposals distinct, the journal consistent."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import pytest

from autopeft.controllers import get_controller
from autopeft.objectives import objectives_of
from autopeft.space import parse_space
from autopeft.study.engines import Finished, Job
from autopeft.study.journal import Journal, Trial
from autopeft.study.loop import LoopState, Planned, Proposals, run_loop, search_job
from autopeft.trial import Fidelity, TrialResult, config_key

SPACE = parse_space("""name: toy
dimensions:
  - {name: method, type: categorical, choices: [lora, ia3]}
  - {name: lora.r, type: categorical, choices: [1, 2, 4, 8, 16, 32], when: {method: lora}}
  - {name: lora.learning_rate, type: float, low: 1.0e-4, high: 1.0e-1, log: true, when: {method: lora}}
""").resolve({})
OBJECTIVES = objectives_of(["accuracy", "trainable_params"])


def params(config: Mapping[str, Any]) -> float:
    return 1000.0 * config.get("lora.r", 0.1)


class FakeEngine:
    """Runs nothing: answers from a formula, finishing the *newest* job first (out of order, as real pools do)."""

    name = "fake"

    def __init__(self, slots: int) -> None:
        self._slots, self.queue, self.most = slots, deque[Job](), 0
        self.fail = set[int]()

    @property
    def slots(self) -> int:
        return self._slots

    def submit(self, job: Job) -> None:
        self.queue.append(job)
        self.most = max(self.most, len(self.queue))

    def wait(self) -> Finished:
        job = self.queue.pop()
        c = job.config
        if job.number in self.fail:
            return Finished(job.number, TrialResult(config=c, fidelity=job.fidelity, seed=job.seed, status="failed",
                                                    error="boom"))
        acc = 0.5 + 0.1 * (c.get("method") == "lora") + 0.01 * float(c.get("lora.r", 0))
        return Finished(job.number, TrialResult(config=c, fidelity=job.fidelity, seed=job.seed, status="complete",
                                                metrics={"accuracy": acc}, trainable_params=int(params(c))))

    def cancel(self, number: int) -> None:
        self.queue = deque(j for j in self.queue if j.number != number)

    def close(self) -> None:
        self.queue.clear()


def _proposals(name: str, budget: int, references: dict[str, Any] | None = None) -> Proposals:
    ctl = get_controller(name, SPACE, OBJECTIVES, seed=3, known={"trainable_params": params})
    return Proposals(ctl, OBJECTIVES, budget=budget, fidelity=Fidelity(steps=5), seed=0, origin=name,
                     references=references)


@pytest.mark.parametrize("name", ["random", "evolution", "bo"])
def test_slots_stay_full_and_parallel_proposals_are_distinct(name: str) -> None:
    engine, journal = FakeEngine(slots=4), Journal.in_memory()
    seen_pending: list[int] = []
    scheduler = _proposals(name, budget=14)
    propose = scheduler.controller.propose

    def spy(history: Any, n: int = 1, pending: Any = ()) -> Any:
        seen_pending.append(len(pending))
        keys = {config_key(o.config) for o in history} | {config_key(p) for p in pending}
        out = propose(history, n, pending=pending)
        assert not {config_key(c) for c in out} & keys  # never what is tried or in flight
        return out

    scheduler.controller.propose = spy  # type: ignore[method-assign]
    starts: list[int] = []
    state = run_loop(journal, engine, scheduler, make_job=search_job,
                     on_start=lambda t, s: starts.append(len(s.running)))
    trials = journal.trials()
    assert [t.number for t in trials] == list(range(1, 15)) and all(t.state == "complete" for t in trials)
    assert len({config_key(t.config) for t in trials}) == 14
    assert engine.most == 4 and max(starts) == 3  # four in flight at once, never more
    assert max(seen_pending) == 3 and seen_pending[:4] == [0, 1, 2, 3]
    assert not state.running


def test_one_slot_asks_what_a_sequential_search_asks() -> None:
    """With one slot the controller sees every earlier trial in history and nothing pending."""
    journal = Journal.in_memory()
    run_loop(journal, FakeEngine(slots=1), _proposals("bo", budget=8), make_job=search_job)
    ctl = get_controller("bo", SPACE, OBJECTIVES, seed=3, known={"trainable_params": params})
    from autopeft.controllers import Observation

    history: list[Observation] = []
    for trial in journal.trials():
        (expected,) = ctl.propose(history, 1)
        assert config_key(expected) == config_key(trial.config)
        history.append(Observation(trial.config, {"accuracy": trial.values["accuracy"],
                                                  "trainable_params": trial.values["trainable_params"]}))


def test_references_first_then_proposals_and_failures_are_journaled() -> None:
    engine, journal = FakeEngine(slots=2), Journal.in_memory()
    engine.fail = {3}
    refs = {"big": {"method": "lora", "lora.r": 32, "lora.learning_rate": 0.01}}
    finished: list[int] = []
    run_loop(journal, engine, _proposals("random", 5, refs), make_job=search_job,
             on_finish=lambda t, d, s: finished.append(t.number))
    trials = journal.trials()
    assert trials[0].origin == "reference:big" and search_job(trials[0]).in_space is False
    assert [t.state for t in trials].count("failed") == 1 and journal.trial(3).error == "boom"
    assert sorted(finished) == [1, 2, 3, 4, 5]


def test_waiting_trials_run_first_and_an_interrupt_leaves_them_running() -> None:
    journal = Journal.in_memory()
    kept = journal.add_trial({"method": "ia3"}, Fidelity(steps=5), seed=0, origin="random")
    other = journal.add_trial({"method": "lora", "lora.r": 2, "lora.learning_rate": 0.01}, Fidelity(steps=5), seed=0,
                              origin="elsewhere")

    class Interrupting(FakeEngine):
        def wait(self) -> Finished:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_loop(journal, Interrupting(slots=2), _proposals("random", 4), make_job=search_job,
                 resume=lambda t: t.origin == "random")
    assert journal.trial(kept.number).state == "running"     # a resume runs it again
    assert journal.trial(other.number).state == "waiting"    # not this loop's to run
    assert journal.trial(3).state == "running" and len(journal.trials()) == 3


def test_a_scheduler_that_plans_after_results() -> None:
    """A scheduler may have nothing now and more once a trial ends (promotions); the loop waits for it."""

    class Promoting:
        def __init__(self) -> None:
            self.todo = deque([Planned({"method": "ia3"}, Fidelity(steps=1), 0, "low")])

        def next(self, state: LoopState) -> Planned | None:
            return self.todo.popleft() if self.todo else None

        def finished(self, trial: Trial, state: LoopState) -> None:
            if trial.fidelity.steps == 1:  # promote it
                self.todo.append(Planned(trial.config, Fidelity(steps=2), 0, "high"))

    journal = Journal.in_memory()
    state = run_loop(journal, FakeEngine(slots=3), Promoting(), make_job=search_job)
    assert [(t.origin, t.fidelity.steps, t.state) for t in state.trials] == [("low", 1, "complete"),
                                                                             ("high", 2, "complete")]
