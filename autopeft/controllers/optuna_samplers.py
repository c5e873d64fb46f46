"""``optuna:tpe``, ``optuna:nsga2``, ``optuna:gp``, ``optuna:botorch``: Optuna's samplers as autopeft controllers.

Each wraps one sampler of Optuna >= 5 (``optuna:botorch``: optuna-integration's ``BoTorchSampler`` on BoTorch
>= 0.18); ``pip install "autopeft[bench]"``. Optuna is imported when a controller is built, never when this module
is. Optuna's other samplers are not offered (:func:`autopeft.controllers.get_controller` says why when one is
asked for).

**Every objective.** Unlike the ``nni:`` tuners these are multi-objective: the Optuna study has one objective per
objective of the search, maximised or minimised as its :class:`~autopeft.objectives.Objective` says, listed by
name (so the order a recipe lists them in is not a hidden setting). A value is given to Optuna in its own units,
except for an objective compared on a log scale (``log=True``: ``trainable_params``), which is given as its
``log10``, the scale autopeft's own ``bo`` and the hypervolume use (halving 10k and halving 10M parameters are
equally good moves). The parameter count is known exactly before training, but Optuna has no notion of a known
objective: it is told the count like any measured value, and models it (TPE, NSGA-II's ranking and the GPs all
treat it as an outcome).

**How every sampler sees the space**: the same define-by-run space for all four, described in
:mod:`autopeft.controllers.optuna_space` (NNI's nesting, suggested only under the parent value a dimension is
conditioned on). TPE (``multivariate=True, group=True``) models each group of parameters that occur together, so
the parameters of LoRA are modelled on the LoRA trials. NSGA-II, the GP and BoTorch model only Optuna's
*intersection* search space, the parameters present in every complete trial (on a space whose other dimensions
all hang under ``method``: ``method`` alone, once two methods were tried); they draw every other parameter
uniformly (their independent sampler, Optuna's ``RandomSampler``), as Optuna does for any define-by-run space.

**How a proposal is made** — the same for all four. Each :meth:`Controller.propose` call builds a fresh
in-memory study and sampler, seeded from ``seed`` and ``len(history) + len(pending)``, so a resumed search
proposes what the interrupted one would have. The complete observations (every objective a finite number) are
added in trial order as ``COMPLETE`` trials (``optuna.trial.create_trial`` + ``Study.add_trials``); failed
observations and ones missing a value are left out (all four samplers ignore failed trials: adding them as
``FAIL`` would change nothing). Pending configurations are added as ``RUNNING`` trials (TPE's constant liar,
the GP and BoTorch's ``X_pending`` account for them; NSGA-II ignores them). Then the study is asked for a trial,
drawn define-by-run, and the draw goes through :meth:`Controller.accept`:

- a new, feasible member is a proposal; its trial stays ``RUNNING``, so the next draw of a batch sees it as
  pending;
- a repeat of a complete observation is told that observation's values (a cache of the history's values, by
  :func:`~autopeft.trial.config_key`), is not a proposal, and the study is asked again;
- anything else is told ``FAIL`` (which every sampler ignores) and asked again: a draw that is not a member,
  breaks a constraint or does not build (its known objective raises), repeats a pending configuration, a failed
  observation or a proposal of this call.

After ``draws`` draws per wanted configuration (option ``draws``) the rest are uniform draws from the space
(:meth:`Controller.fresh`), as every controller falls back. ``draws`` is 20 for TPE and NSGA-II (as for the
``nni:`` tuners), 5 for the GP and 2 for BoTorch: each of their draws refits the model and optimises the
acquisition — about a second for Optuna's GP, tens of seconds for BoTorch's default (20 restarts picked from 1024
raw samples scored five at a time) on a shared two-core CPU — and a repeat barely moves a GP, whose next draw
from the same data is mostly the same point.

**Where this differs from** ``nni:``: every objective instead of one; repeats of tried configurations are told
their values instead of a failure (NNI tells every rejected draw ``success=False``); failed trials are left out
in both; pending configurations reach every sampler that can use them; NNI's integer and stepped ranges are
Optuna integer distributions here (NNI's space: ``randint``, ``quniform`` or a ``choice``). Optuna's logging
(its INFO lines and warnings about parameters drawn independently) and its ``ExperimentalWarning`` are silenced
during a call, and put back after.
"""

from __future__ import annotations

import importlib
import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, ClassVar

from autopeft.controllers.base import Controller, Round, register_controller
from autopeft.controllers.optuna_space import optuna_distributions, optuna_params, suggest, translate
from autopeft.errors import ConfigError
from autopeft.objectives import Objective
from autopeft.space import Space
from autopeft.trial import config_key

__all__ = ["OPTUNA_DRAWS", "OptunaBoTorch", "OptunaGP", "OptunaNSGA2", "OptunaTPE"]

#: Draws asked of a sampler per wanted configuration before the rest are uniform draws from the space (the
#: samplers that fit a GP per draw get fewer: their own ``draws`` default).
OPTUNA_DRAWS = 20
_INSTALL = 'pip install "autopeft[bench]"'
#: Loggers quietened during a call: Optuna's INFO lines ("Trial 3 finished ...") and independent-sampling warnings.
_LOGGERS = ("optuna", "optuna_integration")


def _import(controller: str, module: str, needs: str = "Optuna >= 5") -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"controller {controller!r} needs {needs}, which is not installed; {_INSTALL}") from None


@contextmanager
def _quiet() -> Iterator[None]:
    """Optuna's loggers at ERROR and its ExperimentalWarning (and BoTorch's fitting warnings) ignored, then back."""
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            from optuna.exceptions import ExperimentalWarning

            warnings.simplefilter("ignore", ExperimentalWarning)
            warnings.filterwarnings("ignore", module=r"(botorch|gpytorch|linear_operator)(\.|$)")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class _OptunaController(Controller):
    """What the four share: the translated space, a fresh seeded study per call, the draw-and-accept loop."""

    #: The modules a controller needs, with what to call them in the message when one is missing.
    needs: ClassVar[tuple[tuple[str, str], ...]] = (("optuna", "Optuna >= 5"),)

    def __init__(self, space: Space, objectives: Sequence[Objective], **kwargs: Any) -> None:
        for module, what in self.needs:
            _import(self.name, module, what)
        super().__init__(space, objectives, **kwargs)
        self._tree = translate(space)
        #: the objectives in the study's order (by name), and the column of each in ``Round.values``
        self._study_columns = sorted(range(len(self.objectives)), key=lambda i: self.objectives[i].name)
        self.study_objectives = [self.objectives[i] for i in self._study_columns]
        self.directions = ["maximize" if o.direction == "max" else "minimize" for o in self.study_objectives]

    def _check_options(self) -> None:
        for name in self.defaults:
            self.integer_option(name, 2 if name == "population_size" else 1)

    def study_values(self, row: Sequence[float]) -> list[float]:
        """One complete observation's values (objectives' own units, their order) as the study is told them."""
        return [math.log10(float(row[i])) if o.log else float(row[i])
                for i, o in zip(self._study_columns, self.study_objectives, strict=True)]

    def _propose(self, state: Round) -> list[dict[str, Any]]:
        optuna = _import(self.name, "optuna")
        seed = int(state.rng.integers(2**31 - 1))
        running, complete, failed = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.COMPLETE,
                                     optuna.trial.TrialState.FAIL)
        out: list[dict[str, Any]] = []
        with _quiet():
            study = optuna.create_study(directions=self.directions, sampler=self._sampler(seed))
            known: dict[str, list[float]] = {}
            trials = []
            for k, (observed, row) in enumerate(zip(state.configs, state.values, strict=True)):
                values = self.study_values(row)
                known[config_key(observed)] = values
                params = optuna_params(self._tree, observed)
                trials.append(optuna.trial.create_trial(
                    params=params, distributions=optuna_distributions(self._tree, params), values=values,
                    state=complete, system_attrs=self._attrs(k)))
            for member in state.pending:
                params = optuna_params(self._tree, member)
                trials.append(optuna.trial.create_trial(
                    params=params, distributions=optuna_distributions(self._tree, params), state=running))
            study.add_trials(trials)
            for _ in range(int(self.options["draws"]) * state.n):
                if len(out) >= state.n:
                    break
                trial = study.ask()
                try:
                    config: dict[str, Any] | None = suggest(trial, self.space, self._tree)
                except ConfigError:
                    config = None
                key = None if config is None else config_key(config)
                if key is not None and key in known:
                    study.tell(trial, known[key])
                elif config is not None and self.accept(state, config):
                    out.append(config)  # its trial stays RUNNING: a pending one for the next draw
                else:
                    study.tell(trial, state=failed)
        if out and len(out) < state.n:
            out += self.fresh(state, state.n - len(out), required=False)
        return out

    # ---- what each sampler does its own way ------------------------------------------------------------------
    def _sampler(self, seed: int) -> Any:
        """A new sampler, seeded with ``seed``."""
        raise NotImplementedError

    def _attrs(self, k: int) -> dict[str, Any]:
        """System attributes of the ``k``-th complete observation's trial (what the sampler would have set)."""
        return {}


@register_controller
class OptunaTPE(_OptunaController):
    """``optuna:tpe``: Optuna's ``TPESampler(multivariate=True, group=True)`` — multi-objective TPE (MOTPE: the
    good group is the best trials by non-dominated rank, then hypervolume contribution), modelling each group of
    parameters that occur together (the parameters under one ``method`` value). Its constant liar (on by default
    in Optuna 5) stands in for pending configurations and the proposals of a batch. Option ``n_startup_trials``
    (Optuna's default 10): complete trials drawn at random before TPE models them.
    """

    name: ClassVar[str] = "optuna:tpe"
    defaults: ClassVar[Mapping[str, Any]] = {"n_startup_trials": 10, "draws": OPTUNA_DRAWS}

    def _sampler(self, seed: int) -> Any:
        samplers = _import(self.name, "optuna.samplers")
        return samplers.TPESampler(multivariate=True, group=True, seed=seed,
                                   n_startup_trials=int(self.options["n_startup_trials"]))


@register_controller
class OptunaNSGA2(_OptunaController):
    """``optuna:nsga2``: Optuna's ``NSGAIISampler`` — generations of ``population_size`` trials; each child is the
    uniform crossover (probability 0.9) of two tournament-selected parents of the elite (non-dominated sorting,
    then crowding distance) over the intersection search space, every other parameter drawn at random.

    History goes in as NSGA-II's own loop would have written it: the ``k``-th complete observation carries
    generation ``k // population_size``. Option ``population_size``: 16, as autopeft's ``evolution``, not
    Optuna's 50 — with 50 a 50-trial budget would never leave the random first generation. Pending configurations
    do not steer it (Optuna's NSGA-II ignores running trials).
    """

    name: ClassVar[str] = "optuna:nsga2"
    defaults: ClassVar[Mapping[str, Any]] = {"population_size": 16, "draws": OPTUNA_DRAWS}

    def _sampler(self, seed: int) -> Any:
        samplers = _import(self.name, "optuna.samplers")
        return samplers.NSGAIISampler(population_size=int(self.options["population_size"]), seed=seed)

    def _attrs(self, k: int) -> dict[str, Any]:
        samplers = _import(self.name, "optuna.samplers")
        key = samplers.NSGAIISampler._get_generation_key()
        return {key: k // int(self.options["population_size"])}


@register_controller
class OptunaGP(_OptunaController):
    """``optuna:gp``: Optuna's own ``GPSampler`` (a GP per objective in PyTorch, Matérn 5/2 with a Hamming
    kernel for categoricals; multi-objective since Optuna 4.4: log expected hypervolume improvement, its batch
    form qLogEHVI with pending trials). It models the intersection search space only. Option
    ``n_startup_trials`` (Optuna's default 10).
    """

    name: ClassVar[str] = "optuna:gp"
    defaults: ClassVar[Mapping[str, Any]] = {"n_startup_trials": 10, "draws": 5}

    def __init__(self, space: Space, objectives: Sequence[Objective], **kwargs: Any) -> None:
        optuna = _import(self.name, "optuna")
        version = tuple(int(p) if p.isdigit() else 0 for p in str(optuna.__version__).split(".")[:2])
        if len(objectives) > 1 and version < (4, 4):
            raise ConfigError(f"controller {self.name!r}: Optuna {optuna.__version__}'s GPSampler has one objective "
                              f"only (several from Optuna 4.4); {_INSTALL}")
        super().__init__(space, objectives, **kwargs)

    def _sampler(self, seed: int) -> Any:
        samplers = _import(self.name, "optuna.samplers")
        return samplers.GPSampler(seed=seed, n_startup_trials=int(self.options["n_startup_trials"]),
                                  warn_independent_sampling=False)


@register_controller
class OptunaBoTorch(_OptunaController):
    """``optuna:botorch``: optuna-integration's ``BoTorchSampler`` with its default candidates function for two or
    three objectives, ``qehvi_candidates_func``: a ``SingleTaskGP`` (standardised outcomes, one-hot categoricals,
    inputs scaled to the unit cube) and **qLogEHVI** (``qLogExpectedHypervolumeImprovement``, falling back to qEHVI
    when the box decomposition is empty; reference point: the worst value of each objective seen), optimised over
    the relaxed space (20 restarts, 1024 raw samples) and rounded back. Not qNEHVI: that is the non-default
    ``qnehvi_candidates_func``, offered as option ``acquisition: qlognehvi`` (it uses qLogNEHVI). Four or more
    objectives get the sampler's own default for them (EHVI, or qParEGO with pending trials). Pending
    configurations are passed as ``X_pending`` (``consider_running_trials=True``). It models the intersection
    search space only. A SAAS GP is not offered: BoTorch 0.18 fits it by NUTS in NumPyro (JAX), neither of which
    the extra installs, and that is a Markov-chain fit per draw; the default GP is used. Option
    ``n_startup_trials`` (Optuna's default 10).
    """

    name: ClassVar[str] = "optuna:botorch"
    needs: ClassVar[tuple[tuple[str, str], ...]] = (
        ("optuna", "Optuna >= 5"), ("optuna_integration", "optuna-integration >= 5"), ("botorch", "BoTorch >= 0.18"))
    defaults: ClassVar[Mapping[str, Any]] = {"n_startup_trials": 10, "acquisition": "qlogehvi", "draws": 2}
    _ACQUISITIONS: ClassVar[tuple[str, ...]] = ("qlogehvi", "qlognehvi")

    def _check_options(self) -> None:
        value = self.options["acquisition"]
        if value not in self._ACQUISITIONS:
            raise ConfigError(f"controller {self.name!r}: option 'acquisition' must be one of "
                              f"{', '.join(self._ACQUISITIONS)}, got {value!r}")
        for name in ("n_startup_trials", "draws"):
            self.integer_option(name, 1)

    def _sampler(self, seed: int) -> Any:
        integration = _import(self.name, "optuna_integration", "optuna-integration >= 5")
        candidates = None
        if self.options["acquisition"] == "qlognehvi" and len(self.objectives) > 1:
            candidates = integration.botorch.qnehvi_candidates_func
        return integration.BoTorchSampler(seed=seed, n_startup_trials=int(self.options["n_startup_trials"]),
                                          candidates_func=candidates, consider_running_trials=True)
