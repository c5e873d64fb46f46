"""Replay a controller against a table: a search whose trials are answered from stored results.

The controller is the real one (:mod:`autopeft.controllers`), built as a search builds it: the table's space,
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

from autopeft.bench.table import Table, TableError, reference_point
from autopeft.controllers import Controller, Observation, controller_names, get_controller
from autopeft.controllers.surrogate import surrogate_names
from autopeft.errors import ConfigError
from autopeft.objectives import Objective, to_minimize
from autopeft.pareto import hypervolume

__all__ = ["ControllerSpec", "Run", "Scorer", "controller_spec", "make_controller", "replay", "spec_names"]

FloatArray = npt.NDArray[np.float64]
#: Salt of the generator that draws which training seed answers each trial (kept apart from the controller's).
_NOISE_SALT = 0x5EED


@dataclass(frozen=True)
class ControllerSpec:
    """A controller by registered name with options fixed by its spec name (``bo:forest``)."""

    name: str
    controller: str
    options: Mapping[str, Any] = field(default_factory=dict)


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

    def __init__(self, table: Table, fidelity: int, objectives: Sequence[Objective]) -> None:
        self.table, self.fidelity, self.objectives = table, fidelity, list(objectives)
        self.reference = reference_point(self.objectives, table.total_params)
        self._points: list[FloatArray] = []
        self.value = 0.0

    def add(self, config: Mapping[str, Any]) -> float:
        """Count ``config`` as tried; the new hypervolume."""
        mean = self.table.entry(config, self.fidelity).mean(self.objectives)
        if mean is not None:
            self._points.append(to_minimize([[mean[o.name] for o in self.objectives]], self.objectives)[0])
            self.value = float(hypervolume(np.array(self._points), self.reference))
        return self.value


def answer(table: Table, config: Mapping[str, Any], fidelity: int, objectives: Sequence[Objective],
           noise: np.random.Generator) -> dict[str, float] | None:
    """The values of one training seed's row, drawn by ``noise``; ``None`` when that row failed."""
    entry = table.entry(config, fidelity)
    row = entry.rows[int(noise.integers(len(entry.rows)))]
    return row.values(objectives)


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
           objectives: Sequence[Objective], fidelity: int | None = None) -> Run:
    """Run ``controller`` (a name, or a spec with options) for ``budget`` trials against ``table`` at ``fidelity``
    (default: its main one).

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
    controller = spec.name
    ctl = make_controller(spec, table, objectives, seed)
    noise = noise_generator(seed)
    scorer = Scorer(table, steps, objectives)
    _, _, exhaustive = table.front(steps, objectives)
    history: list[Observation] = []
    tried: list[dict[str, Any]] = []
    hv = np.zeros(budget)
    for t in range(budget):
        try:
            (config,) = ctl.propose(history, 1)
        except TableError as exc:
            raise TableError(f"controller {controller!r} (seed {seed}, trial {t + 1}): {exc}") from None
        try:
            values = answer(table, config, steps, objectives, noise)
        except TableError as exc:
            raise TableError(f"controller {controller!r} (seed {seed}, trial {t + 1}) asked for a configuration "
                             f"the table lacks: {exc}") from None
        history.append(Observation(config, values))
        tried.append(config)
        hv[t] = scorer.add(config)
    ratio = hv / exhaustive if exhaustive > 0 else np.zeros(budget)
    return Run(controller, seed, tuple(tried), ratio, hv)
