"""``nni:TPE``, ``nni:Evolution``, ``nni:Anneal``, ``nni:Random``: NNI's own tuners as autopeft controllers.

Each wraps the tuner of that name from NNI 3.0 (``pip install "autopeft[nni]"``; ``nni:Anneal`` also needs
``hyperopt >= 0.3``). NNI is imported when a controller is built, never when this module is, and NNI's other
tuners are not offered (:func:`autopeft.controllers.get_controller` says why when one is asked for).

**One objective.** NNI has no multi-objective tuner: each of the four optimises one objective only, the first
objective that is not the parameter count (:func:`~autopeft.objectives.score_objective`, the number a run is
scored by; the first objective when every one is the parameter count), maximised or minimised as its
:class:`~autopeft.objectives.Objective` says, its raw value in its own units. So listing ``trainable_params``
first does not make a tuner chase the smallest configuration, and the order of the objectives is not a hidden
setting. The other objectives do not steer the tuner; they only decide which of its proposals end on the Pareto
front. Failed trials (values ``None``) and trials missing a value are never reported to the tuner; like every
trial they count as tried, so they are never proposed again.

**How every tuner sees the space**: the same NNI search space for all four, described in
:mod:`autopeft.controllers.nni_space`.

**How a proposal is made** — the same for all four. Each :meth:`Controller.propose` call builds a fresh tuner,
seeded from ``seed`` and ``len(history) + len(pending)`` (Python's and numpy's global generators are seeded for
the call too, and put back after), so a resumed search proposes what the interrupted one would have. The tuner is
given the space and the complete observations, in trial order (see each class for how), then asked for
parameters. Every draw goes through :meth:`Controller.accept`: a draw that is not a member, was tried, is pending
or was already proposed in this call, breaks a constraint, or whose known objective cannot be computed (it does
not build) is discarded, the tuner is told with NNI's ``trial_end(parameter_id, success=False)`` (each tuner
handles that as it handles a trial that did not finish) and asked again. After ``TUNER_DRAWS`` draws per wanted
configuration, or when the tuner says it has nothing left (``NoMoreTrialError``), the rest are uniform draws from
the space (:meth:`Controller.fresh`), as every controller falls back.
"""

from __future__ import annotations

import importlib
import logging
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from autopeft.controllers.base import Controller, Round, register_controller
from autopeft.controllers.nni_space import (
    as_json,
    encode,
    from_params,
    translate,
)
from autopeft.errors import ConfigError
from autopeft.objectives import PARAMS, Objective, score_objective
from autopeft.space import Space

__all__ = [
    "NniAnneal",
    "NniEvolution",
    "NniRandom",
    "NniTpe",
]

#: Draws asked of a tuner per wanted configuration before the rest are uniform draws from the space.
TUNER_DRAWS = 20
#: NNI's loggers (and hyperopt's): their INFO lines ("Using random seed ...") are kept off the terminal.
_LOGGERS = ("nni", "hyperopt", "hyperopt_AutoML")
_INSTALL = 'pip install "autopeft[nni]"'


# ---- the controllers -------------------------------------------------------------------------------------------
def _import(controller: str, module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"controller {controller!r} needs NNI 3.0, which is not installed; {_INSTALL}") from None


@contextmanager
def _isolated(seed: int) -> Iterator[None]:
    """Seed Python's and numpy's global generators (NNI's tuners draw from them) and quieten NNI's logs, then
    put both back as they were."""
    py_state, np_state = random.getstate(), np.random.get_state()
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [lg.level for lg in loggers]
    random.seed(seed)
    np.random.seed(seed)
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class _NniController(Controller):
    """What the four share: the translated space, a fresh seeded tuner per call, the draw-and-accept loop."""

    #: NNI's name of the tuner (``TPE``); the controller is ``nni:<it>``.
    nni_name: ClassVar[str]

    def __init__(self, space: Space, objectives: Sequence[Objective], **kwargs: Any) -> None:
        _import(self.name, "nni")
        super().__init__(space, objectives, **kwargs)
        self._tree = translate(space)
        self._space_json = as_json(self._tree)
        # the objective the tuner optimises: the search's score (the first that is not the parameter count)
        scored = [o for o in self.objectives if o.name != PARAMS]
        self.target = score_objective(self.objectives) if scored else self.objectives[0]
        self._column = self.objectives.index(self.target)
        self.mode = "maximize" if self.target.direction == "max" else "minimize"

    def _propose(self, state: Round) -> list[dict[str, Any]]:
        seed = int(state.rng.integers(2**31 - 1))
        observed = [(c, float(v)) for c, v in zip(state.configs, state.values[:, self._column], strict=True)]
        out: list[dict[str, Any]] = []
        no_more = _import(self.name, "nni").NoMoreTrialError
        with _isolated(seed):
            tuner = self._tuner(seed)
            self._feed(tuner, observed, state.pending)
            for i in range(TUNER_DRAWS * state.n):
                if len(out) >= state.n:
                    break
                pid = 1_000_000 + i  # the ids of fed trials are strings: no clash
                try:
                    params = self._draw(tuner, pid)
                except no_more:
                    break
                if params is None:
                    break
                try:
                    config: dict[str, Any] | None = from_params(self.space, self._tree, params)
                except ConfigError:
                    config = None
                if config is not None and self.accept(state, config):
                    out.append(config)
                else:
                    tuner.trial_end(pid, False)
        if out and len(out) < state.n:
            out += self.fresh(state, state.n - len(out), required=False)
        return out

    def _params(self, config: Mapping[str, Any], indexed: bool = False) -> dict[str, Any]:
        return encode(self._tree, config, indexed)

    # ---- what each tuner does its own way ------------------------------------------------------------------------
    def _tuner(self, seed: int) -> Any:
        """A new tuner, seeded with ``seed``, that has been given the space."""
        raise NotImplementedError

    def _feed(self, tuner: Any, observed: Sequence[tuple[dict[str, Any], float]],
              pending: Sequence[dict[str, Any]]) -> None:
        """Tell ``tuner`` the complete observations (configuration, optimised objective's value), in trial order."""

    def _draw(self, tuner: Any, pid: int) -> Mapping[str, Any] | None:
        """The tuner's next parameters (None: it has no more)."""
        params: Mapping[str, Any] = tuner.generate_parameters(pid)
        return params


@register_controller
class NniTpe(_NniController):
    """``nni:TPE``: NNI's Tree-structured Parzen Estimator, on one objective only (the first that is not the
    parameter count: NNI has no multi-objective tuner); failed trials are not reported to it.

    History goes in through the tuner's own ``import_data`` (the parameters and the optimised objective's value of
    each complete trial); NNI's import forgets to tell the constant liar, so the imported values are also given to
    it, as ``receive_trial_result`` would. Pending configurations are put among its running parameters, where
    its constant liar (``best``, NNI's default) stands in for their results, exactly as for its own concurrent
    trials; each proposal of a batch joins them. Option ``n_startup_jobs`` (NNI's default 20): trials of a
    parameter drawn at random before TPE models it (a parameter inside a nested choice counts only the trials
    in which it was chosen).
    """

    name: ClassVar[str] = "nni:TPE"
    nni_name: ClassVar[str] = "TPE"
    defaults: ClassVar[Mapping[str, Any]] = {"n_startup_jobs": 20}

    def _check_options(self) -> None:
        self.integer_option("n_startup_jobs", 1)

    def _tuner(self, seed: int) -> Any:
        module = _import(self.name, "nni.algorithms.hpo.tpe_tuner")
        tuner = module.TpeTuner(optimize_mode=self.mode, seed=seed,
                                tpe_args={"n_startup_jobs": int(self.options["n_startup_jobs"])})
        tuner.update_search_space(self._space_json)
        return tuner

    def _feed(self, tuner: Any, observed: Sequence[tuple[dict[str, Any], float]],
              pending: Sequence[dict[str, Any]]) -> None:
        if observed:
            tuner.import_data([{"parameter": self._params(c), "value": v} for c, v in observed])
        if tuner.liar is not None:
            for _, value in observed:
                tuner.liar.update(-value if self.mode == "maximize" else value)
        hpo = _import(self.name, "nni.common.hpo_utils")
        for i, config in enumerate(pending):
            tuner._running_params[f"pending-{i}"] = hpo.format_parameters(self._params(config), tuner.space)


@register_controller
class NniEvolution(_NniController):
    """``nni:Evolution``: NNI's naive evolution (tournament of two, one mutated parameter), on one objective only
    (the first that is not the parameter count: NNI has no multi-objective tuner); failed trials are not reported
    to it.

    NNI's ``import_data`` does nothing for this tuner, so history goes in as NNI's own loop would have made it:
    for each complete trial the tuner generates an individual (taking a slot of its initial random population,
    or mutating the winner of a tournament) and is then sent the trial's configuration and value in its place
    (``receive_trial_result``). Its population (option ``population_size``, NNI's default 32) is drawn from the
    call's seeded generator. Pending configurations are not given to it (NNI's evolution uses running trials for
    nothing but bookkeeping). NNI's mutation of a parameter inside a nested choice copies the whole branch, so
    such a mutation gives back its parent: that draw is a repeat, discarded like any other.
    """

    name: ClassVar[str] = "nni:Evolution"
    nni_name: ClassVar[str] = "Evolution"
    defaults: ClassVar[Mapping[str, Any]] = {"population_size": 32}

    def _check_options(self) -> None:
        self.integer_option("population_size", 2)

    def _tuner(self, seed: int) -> Any:
        module = _import(self.name, "nni.algorithms.hpo.evolution_tuner")
        tuner = module.EvolutionTuner(optimize_mode=self.mode, population_size=int(self.options["population_size"]))
        tuner.update_search_space(self._space_json)
        # update_search_space draws the initial population from an unseeded RandomState: draw it again, seeded
        tuner.random_state = np.random.RandomState(seed)
        tuner.population = []
        for _ in range(tuner.population_size):
            tuner._random_generate_individual()
        return tuner

    def _feed(self, tuner: Any, observed: Sequence[tuple[dict[str, Any], float]],
              pending: Sequence[dict[str, Any]]) -> None:
        module = _import(self.name, "nni.algorithms.hpo.evolution_tuner")
        for i, (config, value) in enumerate(observed):
            pid = f"history-{i}"
            tuner.generate_parameters(pid)
            tuner.running_trials[pid] = module.Individual(config=self._params(config, indexed=True))
            tuner.receive_trial_result(pid, self._params(config), value)

    def _draw(self, tuner: Any, pid: int) -> Mapping[str, Any] | None:
        if not tuner.population:  # every individual is out being tried: NNI would raise RuntimeError
            return None
        return super()._draw(tuner, pid)


@register_controller
class NniAnneal(_NniController):
    """``nni:Anneal``: NNI's wrapper of hyperopt's simulated annealing, on one objective only (the first that is
    not the parameter count: NNI has no multi-objective tuner); failed trials are not reported to it. Needs
    ``hyperopt >= 0.3``: the version NNI pins (0.1.2) uses numpy aliases that numpy 2 removed.

    History goes in as NNI's ``import_data`` means to put it, each complete trial through the tuner's own
    ``receive_trial_result``, but with the parameters in the ``{"_index", "_value"}`` form built here: NNI's
    import cannot read nested choices (its ``_add_index`` knows only an older list form). Pending configurations
    are not given to it (the wrapper is not in parallel mode). hyperopt's generator is seeded from the call's
    seed (the wrapper makes an unseeded one).
    """

    name: ClassVar[str] = "nni:Anneal"
    nni_name: ClassVar[str] = "Anneal"

    def __init__(self, space: Space, objectives: Sequence[Objective], **kwargs: Any) -> None:
        _import(self.name, "nni")
        try:
            hyperopt = importlib.import_module("hyperopt")
        except ImportError:
            raise ConfigError(f"controller {self.name!r} needs hyperopt >= 0.3 (NNI's pin, 0.1.2, fails on numpy 2), "
                              f"which is not installed; pip install \"hyperopt>=0.3\"") from None
        version = str(getattr(hyperopt, "__version__", "0"))
        if _version(version) < (0, 3):
            raise ConfigError(f"controller {self.name!r} needs hyperopt >= 0.3 (older ones fail on numpy 2), "
                              f"got hyperopt {version}; pip install \"hyperopt>=0.3\"")
        super().__init__(space, objectives, **kwargs)

    def _tuner(self, seed: int) -> Any:
        module = _import(self.name, "nni.algorithms.hpo.hyperopt_tuner")
        tuner = module.HyperoptTuner("anneal", optimize_mode=self.mode)
        tuner.update_search_space(self._space_json)
        tuner.rval.rstate = np.random.RandomState(seed)
        return tuner

    def _feed(self, tuner: Any, observed: Sequence[tuple[dict[str, Any], float]],
              pending: Sequence[dict[str, Any]]) -> None:
        for i, (config, value) in enumerate(observed):
            pid = f"history-{i}"
            tuner.total_data[pid] = self._params(config, indexed=True)
            tuner.receive_trial_result(pid, self._params(config), value)


@register_controller
class NniRandom(_NniController):
    """``nni:Random``: NNI's random tuner — uniform draws in NNI's view of the space (a choice uniform at every
    level of the nesting; ``qloguniform`` integers rounded). It learns nothing, so it is given no history; it
    optimises nothing, so which objective the other three optimise does not arise.
    """

    name: ClassVar[str] = "nni:Random"
    nni_name: ClassVar[str] = "Random"

    def _tuner(self, seed: int) -> Any:
        module = _import(self.name, "nni.algorithms.hpo.random_tuner")
        tuner = module.RandomTuner(seed=seed)
        tuner.update_search_space(self._space_json)
        return tuner


def _version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
