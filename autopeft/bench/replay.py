"""Replay a controller against a table: a search whose trials are answered from stored results.

A replay is a search: the study loop (:func:`autopeft.study.loop.run_loop`) with the search's scheduler, on an
in-memory journal, whose engine (:class:`~autopeft.bench.engine.TableEngine`) answers from the table instead of
training. The controller is the real one (:mod:`autopeft.controllers`), built as a search builds it: the table's space,
the objectives, ``trainable_params`` as a known objective (here read from the table instead of counted), and
the replay seed as its seed. Each proposal is answered with the row of one of the table's training seeds,
drawn by the replay seed, so the search sees real seed-to-seed noise. It is scored, after every trial, by the
hypervolume of the *seed-mean* values of everything tried so far (the noise steers the search but does not
score it, as in NAS-Bench), divided by the hypervolume of the exhaustive front — so the curve never falls,
and reaches exactly 1 once the whole table has been tried.

Controller names are the registry's (``random``, ``bo``, ``evolution``) plus ``bo:<surrogate>`` for each
surrogate (``bo:gp``, ``bo:forest``); :func:`controller_spec` resolves them.

>>> spec = controller_spec("bo:forest")
>>> spec.controller, dict(spec.options)
('bo', {'surrogate': 'forest'})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from autopeft.bench.engine import TableEngine
from autopeft.bench.reference import reference_for
from autopeft.bench.table import Table, TableError
from autopeft.controllers import Controller, controller_names, get_controller
from autopeft.controllers.surrogate import surrogate_names
from autopeft.errors import ConfigError
from autopeft.objectives import Objective, to_minimize
from autopeft.pareto import hypervolume
from autopeft.study.engines.base import Finished
from autopeft.study.journal import Journal, Trial
from autopeft.study.loop import FinishCallback, LoopState, Proposals, Scheduler, run_loop, search_job
from autopeft.trial import Fidelity

__all__ = ["ControllerSpec", "Run", "Scorer", "controller_spec", "drive", "make_controller", "replay", "spec_names"]

FloatArray = npt.NDArray[np.float64]
#: Salt of the generator that draws which training seed answers each trial (kept apart from the controller's).
_NOISE_SALT = 0x5EED


@dataclass(frozen=True)
class ControllerSpec:
    """A controller by registered name with options fixed by its spec name (``bo:forest``)."""

    name: str
    controller: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def warm(self, prior: Any, name: str | None = None, **options: Any) -> ControllerSpec:
        """This spec warm-started from ``prior`` (bo's ``prior`` option), with ``options`` on top; named
        ``name``, by default ``warm:<this name>``."""
        return ControllerSpec(name or f"warm:{self.name}", self.controller, {**self.options, "prior": prior, **options})


def _variants() -> dict[str, ControllerSpec]:
    out = {name: ControllerSpec(name, name) for name in controller_names()}
    for surrogate in surrogate_names():  # one variant per surrogate: the option that matters most for bo
        out[f"bo:{surrogate}"] = ControllerSpec(f"bo:{surrogate}", "bo", {"surrogate": surrogate})
    return out


def spec_names() -> list[str]:
    """Every controller name a replay accepts."""
    return sorted(_variants())


def controller_spec(name: str) -> ControllerSpec:
    """The spec called ``name``; an unknown one is a ConfigError listing the allowed names."""
    variants = _variants()
    if name not in variants:
        raise ConfigError(f"unknown controller {name!r}; allowed: {', '.join(sorted(variants))}")
    return variants[name]


def make_controller(spec: ControllerSpec, table: Table, objectives: Sequence[Objective], seed: int,
                    constraints: Sequence[Callable[[Mapping[str, Any]], bool]] = ()) -> Controller:
    """The controller as a search would build it, with the table's parameter counts as the known objective."""
    return get_controller(spec.controller, table.space, objectives, seed=seed,
                          known={"trainable_params": table.trainable_params}, constraints=constraints,
                          **dict(spec.options))


def noise_generator(seed: int) -> np.random.Generator:
    """The generator that picks, trial by trial, which training seed's row answers (a function of ``seed``)."""
    return np.random.default_rng(np.random.SeedSequence([seed, _NOISE_SALT]))


class Scorer:
    """Hypervolume of the seed-mean values of the configurations tried so far, at one fidelity."""

    def __init__(self, table: Table, fidelity: int, objectives: Sequence[Objective], reference: str = "stated") -> None:
        self.table, self.fidelity, self.objectives = table, fidelity, list(objectives)
        self.reference = reference_for(table, self.objectives, reference)
        self._points: list[FloatArray] = []
        self.value = 0.0

    def add(self, config: Mapping[str, Any]) -> float:
        """Count ``config`` as tried; the new hypervolume."""
        mean = self.table.entry(config, self.fidelity).mean(self.objectives)
        if mean is not None:
            self._points.append(to_minimize([[mean[o.name] for o in self.objectives]], self.objectives)[0])
            self.value = float(hypervolume(np.array(self._points), self.reference))
        return self.value


@dataclass(frozen=True)
class Run:
    """One replayed search: what was tried, and the hypervolume ratio after each unit of cost."""

    strategy: str
    seed: int
    configs: tuple[dict[str, Any], ...]
    #: hypervolume ratio to the exhaustive front once ``k + 1`` units of cost were spent (trials, or
    #: low-fidelity-trial equivalents in a multi-fidelity replay)
    ratio: FloatArray
    hypervolume: FloatArray

    def __post_init__(self) -> None:
        if self.ratio.shape != self.hypervolume.shape or self.ratio.ndim != 1:
            raise ValueError(f"ratio and hypervolume must be 1-D of one length, got {self.ratio.shape} and "
                             f"{self.hypervolume.shape}")


def replay(table: Table, controller: str | ControllerSpec, *, budget: int, seed: int,
           objectives: Sequence[Objective], fidelity: int | None = None, reference: str = "stated") -> Run:
    """Run ``controller`` (a name, or a spec with options) for ``budget`` trials against ``table`` at ``fidelity``
    (default: its main one); the ratio is measured from ``reference`` (:mod:`autopeft.bench.reference`).

    A budget larger than the number of configurations the table can answer is a TableError; so is a
    proposal the table lacks (the message names the configuration and the controller).
    """
    steps = table.check_fidelity(fidelity if fidelity is not None else table.main_fidelity)
    size = len(table.configs(steps))
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError(f"--budget must be an integer >= 1, got {budget!r}")
    if budget > size:
        lost = len(table.unbuildable(steps))
        extra = f", plus {lost} that do not build" if lost else ""
        raise TableError(f"budget {budget} is larger than the table: {table.name!r} has {size} configurations "
                         f"a controller can be answered for at {steps} steps{extra}; allowed: --budget <= {size}")
    spec = controller if isinstance(controller, ControllerSpec) else controller_spec(controller)
    ctl = make_controller(spec, table, objectives, seed)
    scorer = Scorer(table, steps, objectives, reference)
    _, _, exhaustive = table.front(steps, objectives, reference=scorer.reference)
    tried: list[dict[str, Any]] = []
    hv: list[float] = []

    def scored(trial: Trial, done: Finished, state: LoopState) -> None:
        tried.append(trial.config)
        hv.append(scorer.add(trial.config))

    scheduler = Proposals(ctl, objectives, budget=budget, fidelity=Fidelity(steps=steps), seed=seed, origin=spec.name)
    drive(table, scheduler, noise_generator(seed), scored, name=spec.name, seed=seed)
    if scheduler.exhausted is not None:
        raise ConfigError(scheduler.exhausted)
    curve = np.array(hv)
    ratio = curve / exhaustive if exhaustive > 0 else np.zeros(budget)
    return Run(spec.name, seed, tuple(tried), ratio, curve)


def drive(table: Table, scheduler: Scheduler, noise: np.random.Generator, on_finish: FinishCallback, *,
          name: str, seed: int) -> None:
    """Run ``scheduler`` through the study loop on an in-memory journal, the table answering every trial.

    A configuration the table lacks, asked by the controller or by the engine, is a TableError naming the
    controller, the seed and the trial.
    """
    journal = Journal.in_memory()
    try:
        run_loop(journal, TableEngine(table, noise), scheduler, make_job=search_job, on_finish=on_finish)
    except TableError as exc:
        t = sum(1 for t in journal.trials() if t.state != "running") + 1
        raise TableError(f"controller {name!r} (seed {seed}, trial {t}): {exc}") from None
    finally:
        journal.close()
