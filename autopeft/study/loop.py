"""The one loop that drives trials: a search, a finalize and a benchmark replay all run through :func:`run_loop`.

A *scheduler* says what to run next (:class:`Scheduler`), an *engine* runs it
(:class:`~autopeft.study.engines.base.Engine`), the *journal* records every state change. The loop keeps
up to ``engine.slots`` trials in flight: it starts the journal's waiting trials first (those a crash
interrupted), then asks the scheduler until the slots are full or it has nothing to offer, waits for one
trial to finish, journals it, tells the scheduler, and goes on; it ends when nothing is in flight and the
scheduler has nothing more. The study process is the journal's only writer: engines return records.

:class:`Proposals` is the search's scheduler: the reference points first, then the controller's
proposals, made with the trials still running as ``pending`` so a batch of parallel proposals is distinct
and spread. With one slot it asks exactly what a sequential search asks, so ``--workers 1`` reproduces
a search trial for trial.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from autopeft.controllers import Controller, Observation
from autopeft.errors import ConfigError
from autopeft.objectives import Objective
from autopeft.study.engines.base import Engine, Finished, Job
from autopeft.study.journal import Journal, Trial
from autopeft.study.references import REFERENCE
from autopeft.trial import Fidelity

__all__ = ["REFERENCE", "LoopState", "Planned", "Proposals", "Scheduler", "objective_values", "run_loop", "search_job"]



@dataclass(frozen=True)
class Planned:
    """A trial a scheduler wants run: it is added to the journal as waiting, then started."""

    config: Mapping[str, Any]
    fidelity: Fidelity
    seed: int
    origin: str


@dataclass
class LoopState:
    """What the loop knows, for schedulers and callbacks: this phase's trials as they stand, and those in flight."""

    trials: list[Trial] = field(default_factory=list)
    running: dict[int, Trial] = field(default_factory=dict)
    slots: int = 1

    def update(self, trial: Trial) -> None:
        for i in range(len(self.trials) - 1, -1, -1):
            if self.trials[i].number == trial.number:
                self.trials[i] = trial
                return
        self.trials.append(trial)

    @property
    def finished(self) -> list[Trial]:
        """Trials that ended (complete, failed or pruned), in number order."""
        return [t for t in self.trials if t.state in ("complete", "failed", "pruned")]


class Scheduler(Protocol):
    """Decides what runs next; never trains and never writes the journal."""

    def next(self, state: LoopState) -> Planned | None:
        """The next trial to start, or ``None`` when there is nothing to start now (the loop ends once nothing
        is in flight either)."""
        ...

    def finished(self, trial: Trial, state: LoopState) -> None:
        """``trial`` has just been journaled as finished."""
        ...


StartCallback = Callable[[Trial, LoopState], None]
FinishCallback = Callable[[Trial, Finished, LoopState], None]


def run_loop(journal: Journal, engine: Engine, scheduler: Scheduler, *, make_job: Callable[[Trial], Job],
             phase: str = "search", on_start: StartCallback | None = None,
             on_finish: FinishCallback | None = None, resume: Callable[[Trial], bool] | None = None) -> LoopState:
    """Run trials until the scheduler has nothing more and none is in flight; see the module docstring.

    ``make_job`` turns a journaled trial into the engine's job (which split to score, where to save);
    ``resume`` picks which of the phase's waiting trials this loop runs (default: all of them). An
    exception (Ctrl-C included) leaves the trials in flight as ``running`` in the journal, which a resume
    runs again; the caller closes the engine.
    """
    state = LoopState(trials=journal.trials(phase=phase), slots=engine.slots)
    waiting = deque(t for t in state.trials if t.state == "waiting" and (resume is None or resume(t)))
    while True:
        while len(state.running) < engine.slots:
            if waiting:
                trial = waiting.popleft()
            else:
                planned = scheduler.next(state)
                if planned is None:
                    break
                trial = journal.add_trial(planned.config, planned.fidelity, seed=planned.seed, origin=planned.origin,
                                          phase=phase)
                state.update(trial)
            if on_start is not None:
                on_start(trial, state)
            trial = journal.start(trial.number)
            state.update(trial)
            state.running[trial.number] = trial
            engine.submit(make_job(trial))
        if not state.running:
            return state
        done = engine.wait()
        trial = journal.finish(done.number, done.result)
        state.running.pop(done.number, None)
        state.update(trial)
        scheduler.finished(trial, state)
        if on_finish is not None:
            on_finish(trial, done, state)


def objective_values(trial: Trial, objectives: Sequence[Objective]) -> dict[str, float] | None:
    """What a controller learns from ``trial``: its objectives' values, or ``None`` when it failed or one of
    them is missing or not finite (the trial still counts as tried, but teaches the models nothing)."""
    if trial.state != "complete":
        return None
    v = trial.values
    if not all(o.name in v and math.isfinite(v[o.name]) for o in objectives):
        return None
    return {o.name: v[o.name] for o in objectives}


def propose_next(controller: Controller, searched: Sequence[Trial], running: Collection[int],
                 objectives: Sequence[Objective]) -> dict[str, Any] | str:
    """The controller's next configuration, given the ``searched`` trials: those finished are its history, those
    ``running`` (trial numbers) its pending proposals. When it has none left to give (a space exhausted, a
    constraint nothing satisfies) its message, as a string, instead."""
    history = [Observation(t.config, objective_values(t, objectives)) for t in searched if t.number not in running]
    pending = [t.config for t in searched if t.number in running]
    try:
        (config,) = controller.propose(history, 1, pending=pending)
    except ConfigError as exc:
        return str(exc)
    return config


def search_job(trial: Trial) -> Job:
    """A search trial as an engine's job: validation only; reference points are not members of the space."""
    return Job(trial.number, trial.config, trial.fidelity, trial.seed, in_space=not trial.origin.startswith(REFERENCE))


class Proposals:
    """The search's scheduler: reference points, then the controller's proposals, up to ``budget`` trials.

    When the controller has nothing left to propose (a finite space tried in full, or constraints nothing
    satisfies) :attr:`exhausted` holds its message and no more trials are planned.
    """

    def __init__(self, controller: Controller, objectives: Sequence[Objective], *, budget: int, fidelity: Fidelity,
                 seed: int, origin: str, references: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.controller, self.objectives = controller, list(objectives)
        self.budget, self.fidelity, self.seed, self.origin = budget, fidelity, seed, origin
        self.references = dict(references or {})
        self.exhausted: str | None = None

    def next(self, state: LoopState) -> Planned | None:
        if len(state.trials) >= self.budget or self.exhausted is not None:
            return None
        present = {t.origin for t in state.trials}
        for name, config in self.references.items():
            if f"{REFERENCE}{name}" not in present:
                return Planned(dict(config), self.fidelity, self.seed, f"{REFERENCE}{name}")
        searched = [t for t in state.trials if not t.origin.startswith(REFERENCE)]
        proposal = propose_next(self.controller, searched, state.running, self.objectives)
        if isinstance(proposal, str):
            self.exhausted = proposal
            return None
        return Planned(proposal, self.fidelity, self.seed, self.origin)

    def finished(self, trial: Trial, state: LoopState) -> None:
        return None
