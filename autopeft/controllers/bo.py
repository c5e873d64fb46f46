"""``bo`` (the default): multi-objective Bayesian optimisation with expected hypervolume improvement.

1. **Initial design** — the first ``n_initial`` proposals (and any proposal while fewer than two trials have
   values) are space-filling: greedy maximin, in the encoded space, over a few hundred uniform draws, away
   from everything already tried or pending.
2. **Surrogates** — one per objective that is not ``known`` (:mod:`autopeft.controllers.surrogate`, ``gp`` or
   ``forest``), fit on the encoded configurations against the objective in minimisation space (so a ``log``
   objective is modelled on its log scale). Known objectives (``trainable_params``) are computed exactly.
3. **Candidates** — ``n_candidates`` uniform draws plus every neighbour of the configurations on the current
   front (a local search around what works), untried, feasible, de-duplicated.
4. **Acquisition** — expected hypervolume improvement over the observed front by Monte Carlo
   (:func:`autopeft.controllers.acquisition.ehvi_monte_carlo`, ``mc_samples`` seeded draws per candidate).
5. **Interleaved uniform draws** (option ``random_fraction``, off by default) — past the design, each proposal
   is, with that probability, a uniform draw instead of the EHVI pick: SMAC's random interleaving (its
   ``ProbabilityRandomDesign``), coverage that a surrogate confident about a region never spends a trial on.
6. **Batches** — the Kriging believer: each chosen candidate joins the data with its predicted mean as if
   observed, the surrogates are refit, and the next one is chosen. Pending trials are believed the same way,
   so parallel workers do not all get the same proposal.

The reference point is the option ``reference`` (a value per objective, in the objectives' own units), or
else, per objective, the worst value seen plus 10 % of the range — where, for a known objective, "seen" also
covers the candidates and a fixed sample of the space, so that the reference does not keep a candidate with
more trainable parameters than anything tried out of the hypervolume.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from autopeft.controllers.acquisition import ehvi_monte_carlo, pick_candidate
from autopeft.controllers.base import Controller, FloatArray, Round, register_controller
from autopeft.controllers.bo_options import check_bo_options
from autopeft.controllers.cover import root_columns, untried_filter
from autopeft.controllers.design import greedy_maximin
from autopeft.controllers.surrogate import Surrogate, make_surrogate
from autopeft.controllers.transfer import (
    LEVEL_SHRINK,
    PriorModel,
    TransferSurrogate,
    check_warm_options,
    fit_prior_model,
)
from autopeft.objectives import reference_from_values, to_minimize
from autopeft.pareto import pareto_mask
from autopeft.trial import config_key

__all__ = ["BayesianOptimization"]

#: Uniform draws the initial design chooses from (at least; 4 per wanted point beyond that).
_DESIGN_POOL = 256
#: Space members the default reference of a known objective is taken over (with the candidates), seeded.
_REFERENCE_SAMPLE = 128
_MARGIN = 0.1


@register_controller
class BayesianOptimization(Controller):
    """Expected-hypervolume-improvement Bayesian optimisation; see the module docstring for the steps, and
    :mod:`autopeft.controllers.bo_options` for every option, its default and what was measured of it."""

    name: ClassVar[str] = "bo"
    defaults: ClassVar[Mapping[str, Any]] = {
        "surrogate": "gp", "n_initial": 8, "n_candidates": 512, "mc_samples": 64, "reference": None,
        "min_distance": 0.05, "incumbent": "observed", "known_inputs": False, "kernel": "matern52",
        "std": "predictive", "prior": None, "prior_trials": None, "prior_std": "residual",
        "prior_transform": "standard", "prior_cover": True, "prior_levels": True,
        "prior_level_shrink": LEVEL_SHRINK, "random_fraction": 0.0,
    }

    def _check_options(self) -> None:
        opts = self.options
        check_bo_options(opts, self.defaults)
        for key in ("n_initial", "n_candidates", "mc_samples"):
            self.integer_option(key, 1)
        check_warm_options(opts, [o.name for o in self.objectives])
        self._prior_on = False
        self._cover: Callable[[Mapping[str, Any]], bool] | None = None
        self._prior_models: dict[int, PriorModel | None] | None = None
        self._reference: FloatArray | None = None
        self._fixed_known: FloatArray | None = None
        if opts["reference"] is not None:
            self._reference = reference_from_values(opts["reference"], self.objectives,
                                                    "controller 'bo': option 'reference'")

    # ---- the two phases -----------------------------------------------------------------------------------
    @property
    def prior_span(self) -> int:
        """How many trials a warm start's prior guides (0 without one); the journal records it for ``status``."""
        if self.options["prior"] is None:
            return 0
        guided = self.options["prior_trials"]
        return int(self.options["n_initial"] if guided is None else guided)

    def _propose(self, state: Round) -> list[dict[str, Any]]:
        self._prior_on = len(state.configs) < self.prior_span
        if self._prior_on:  # the prior replaces the space-filling design, then the search's own data take over
            return self._guided(state)
        if len(state.configs) < 2:
            return self._design(state, state.n)
        n_design = min(state.n, max(0, int(self.options["n_initial"]) - len(state.tried)))
        out = self._design(state, n_design) if n_design else []
        wanted = state.n - len(out)
        share = float(self.options["random_fraction"])
        if wanted and share > 0:  # no draw at 0, so the default's proposals stay what they were
            drawn = int((state.rng.random(wanted) < share).sum())
            out += self.fresh(state, drawn, required=False)
            wanted = state.n - len(out)
        if wanted:
            out += self._model_based(state, wanted)
        return out

    def _guided(self, state: Round) -> list[dict[str, Any]]:
        """A proposal the prior guides; with ``prior_cover``, from the methods (root choices) not tried yet
        (:mod:`autopeft.controllers.cover`), picked one at a time so that a batch (``--workers``) covers them
        too, each pick pending for the next; the rest, once covered or with no feasible member left, from any."""
        out: list[dict[str, Any]] = []
        while self.options["prior_cover"] and len(out) < state.n:
            cover = untried_filter(self.space, [*state.tried, *out])
            if cover is None:
                break
            self._cover = cover
            try:
                step = self._prior_step(state.after(out, 1), 1)
            finally:
                self._cover = None
            if not step:
                break
            out += step
        left = state.n - len(out)
        return out + (self._prior_step(state.after(out, left), left) if left else [])

    def _prior_step(self, state: Round, k: int) -> list[dict[str, Any]]:
        return self._model_based(state, k) if len(state.configs) >= 2 else self._prior_design(state, k)

    def feasible(self, config: Mapping[str, Any]) -> bool:
        """The base rule, and while a warm start covers the methods, only an untried method's members."""
        return (self._cover is None or self._cover(config)) and super().feasible(config)

    def _design(self, state: Round, k: int) -> list[dict[str, Any]]:
        """Greedy maximin (:func:`~autopeft.controllers.design.greedy_maximin`) over uniform draws, away from
        everything tried or pending; the first pick, with nothing tried, is a uniform draw."""
        pool = self.fresh(state, max(_DESIGN_POOL, 4 * k), claim=False)
        if not pool:
            return []
        x = self._inputs(pool)
        seen = self._inputs(state.tried) if state.tried else np.zeros((0, x.shape[1]))
        out = [pool[i] for i in greedy_maximin(x, seen, k)]
        state.taken.update(config_key(c) for c in out)
        return out

    def _model_based(self, state: Round, k: int) -> list[dict[str, Any]]:
        pool = self._candidates(state)
        if not pool:
            return []
        unknown = [j for j, o in enumerate(self.objectives) if o.name not in self.known]
        known = [j for j, o in enumerate(self.objectives) if o.name in self.known]
        order = unknown + known  # the column layout ehvi_monte_carlo expects
        known_objectives = [self.objectives[j] for j in known]
        pool_known = to_minimize(self.known_values(pool), known_objectives) if known else np.zeros((len(pool), 0))
        x_obs = self._inputs(state.configs)
        y_obs = self.to_min(state.values)
        x_pool = self._inputs(pool)
        reference = self._reference_point(y_obs, pool_known, known, known_objectives)
        if self._prior_on and unknown:  # "seen" covers the prior's guesses at the candidates,
            # as it covers a known objective's values: else a configuration that the prior expects to be small
            # but weaker than anything observed so far (the head alone) never counts towards the hypervolume
            guessed = self._fit(x_obs, y_obs[:, unknown], state.rng, unknown)
            means = np.column_stack([m.predict(x_pool) for m in guessed])
            for col, j in enumerate(unknown):
                values = np.concatenate((y_obs[:, j], means[:, col]))
                high, low = float(values.max()), float(values.min())
                reference[j] = max(reference[j], high + _MARGIN * (high - low if high > low else max(abs(high), 1.0)))
        reference = reference[order]
        width = len(self.space.feature_names)  # min_distance compares the encodings alone
        live = np.ones(len(pool), dtype=bool)

        if state.pending:  # believe pending trials first: they will land where predicted
            models = self._fit(x_obs, y_obs[:, unknown], state.rng, unknown) if unknown else []
            x_obs = np.vstack((x_obs, self._inputs(state.pending)))
            y_obs = np.vstack((y_obs, self._believed(state.pending, models, unknown, known)))

        gap = float(self.options["min_distance"])
        if gap > 0 and len(x_obs):
            near = np.array([np.min(np.max(np.abs(x_obs[:, :width] - row), axis=1)) < gap
                             for row in x_pool[:, :width]])
            if not near.all():  # only when something is left; otherwise fall back to every candidate
                live &= ~near
        out: list[dict[str, Any]] = []
        for _ in range(k):
            rows = np.flatnonzero(live)
            if rows.size == 0:
                break
            models = self._fit(x_obs, y_obs[:, unknown], state.rng, unknown) if unknown else []
            predictions = [m.predict(x_pool[rows], return_std=True) for m in models]
            mean = np.column_stack([p[0] for p in predictions]) if predictions else np.zeros((rows.size, 0))
            std = np.column_stack([p[1] for p in predictions]) if predictions else np.zeros((rows.size, 0))
            incumbent = y_obs
            if self.options["incumbent"] == "predicted" and models:
                incumbent = y_obs.copy()
                incumbent[:, unknown] = np.column_stack([m.predict(x_obs) for m in models])
            front = incumbent[pareto_mask(incumbent)][:, order]
            scores = ehvi_monte_carlo(mean, std, pool_known[rows], front, reference,
                                      samples=int(self.options["mc_samples"]), rng=_child_seed(state.rng))
            best = pick_candidate(scores, mean, std, pool_known[rows], front, reference)
            i = int(rows[best])
            out.append(pool[i])
            state.taken.add(config_key(pool[i]))
            live[i] = False
            believed = np.zeros(len(self.objectives))  # the Kriging believer: the mean, as if observed
            believed[unknown] = mean[best]
            believed[known] = pool_known[i]
            x_obs, y_obs = np.vstack((x_obs, x_pool[i])), np.vstack((y_obs, believed))
            if gap > 0:
                close = np.max(np.abs(x_pool[:, :width] - x_pool[i, :width]), axis=1) < gap
                if (live & ~close).any():
                    live &= ~close
        return out

    # ---- pieces -------------------------------------------------------------------------------------------
    def _candidates(self, state: Round) -> list[dict[str, Any]]:
        """Uniform draws plus the untried, feasible neighbours of the observed front, de-duplicated."""
        pool = self.fresh(state, int(self.options["n_candidates"]), required=False, claim=False)
        seen = {config_key(c) for c in pool} | state.taken
        points = self.to_min(state.values)
        for i in np.flatnonzero(pareto_mask(points)):
            for neighbour in self.space.neighbours(state.configs[int(i)]):
                key = config_key(neighbour)
                if key not in seen and self.feasible(neighbour):
                    seen.add(key)
                    pool.append(neighbour)
        return pool

    def _inputs(self, configs: Sequence[dict[str, Any]]) -> FloatArray:
        """Surrogate inputs: the encodings, and with ``known_inputs`` the known objectives scaled to [0, 1].

        A known objective such as the trainable-parameter count (log scale) summarises, in one feature, how
        much a configuration adapts; a surrogate would otherwise have to learn it from every rank column.
        The scale is the known objective's range over a fixed sample of the space, so it is the same in
        every call.
        """
        x = self.encode(configs)
        known = [j for j, o in enumerate(self.objectives) if o.name in self.known]
        if not self.options["known_inputs"] or not known:
            return x
        if not configs:  # no rows, but the columns of the rows there will be
            return np.zeros((0, x.shape[1] + len(known)))
        objectives = [self.objectives[j] for j in known]
        sample = self._known_sample(known, objectives)
        low = sample.min(axis=0) if len(sample) else np.zeros(len(known))
        span = (sample.max(axis=0) - low) if len(sample) else np.ones(len(known))
        values = to_minimize(self.known_values(configs), objectives)
        return np.hstack((x, (values - low) / np.where(span > 0, span, 1.0)))

    def _known_sample(self, known: Sequence[int], known_objectives: Sequence[Any]) -> FloatArray:
        """Known objectives (minimisation space) of a fixed, seeded sample of buildable members (cached)."""
        if self._fixed_known is None:
            gen = np.random.default_rng(np.random.SeedSequence([self.seed, 7919]))
            sample = [self.space.default()] + [self.space.sample(gen) for _ in range(_REFERENCE_SAMPLE)]
            sample = [c for c in sample if self._buildable(c)]  # a member that does not build has no count
            self._fixed_known = (to_minimize(self.known_values(sample), known_objectives) if sample
                                 else np.zeros((0, len(known))))
        return self._fixed_known

    def _fit(self, x: FloatArray, y: FloatArray, rng: np.random.Generator, columns: Sequence[int]) -> list[Surrogate]:
        """One fitted surrogate per column of ``y`` (``columns``: the objectives they are); an objective the
        warm start's sources observed gets the prior plus a residual."""
        name = str(self.options["surrogate"])
        params = {"kernel": self.options["kernel"], "std": self.options["std"]} if name == "gp" else {}
        priors = self._priors() if self._prior_on else {}  # past the prior's trials it is not fit at all
        levels = root_columns(self.space) if priors and self.options["prior_levels"] else None
        models: list[Surrogate] = []
        for i, j in enumerate(columns):
            seed = _child_seed(rng)
            prior = priors.get(j)
            model = (TransferSurrogate(prior=prior, base=name, random_state=seed, base_params=params,
                                       std=str(self.options["prior_std"]), levels=levels,
                                       level_shrink=float(self.options["prior_level_shrink"])) if prior
                     else make_surrogate(name, seed=seed, **params))
            models.append(model.fit(x, y[:, i]))
        return models

    # ---- warm starts --------------------------------------------------------------------------------------
    def _priors(self) -> dict[int, PriorModel | None]:
        """Objective index -> the prior fit on the warm start's sources (once per controller; empty without)."""
        prior = self.options["prior"]
        if prior is None:
            return {}
        if self._prior_models is None:
            name = str(self.options["surrogate"])
            params = {"kernel": self.options["kernel"]} if name == "gp" else {}
            models: dict[int, PriorModel | None] = {}
            for j, objective in enumerate(self.objectives):
                if objective.name in self.known:
                    continue
                xs, ys = [], []
                for source in prior.sources:
                    column = np.asarray(source.values.get(objective.name, ()), dtype=float)
                    keep = [i for i, v in enumerate(column) if np.isfinite(v)]
                    if not keep:
                        continue
                    xs.append(self._inputs([dict(source.configs[i]) for i in keep]))
                    ys.append(to_minimize(column[keep].reshape(-1, 1), [objective])[:, 0])
                models[j] = (fit_prior_model(xs, ys, surrogate=name, seed=self.seed,
                                             transform=str(self.options["prior_transform"]), **params)
                             if xs else None)
            self._prior_models = models
        return self._prior_models

    def _prior_design(self, state: Round, k: int) -> list[dict[str, Any]]:
        """Before two observations: the candidates (uniform draws and the sources' configurations) with the
        best EHVI under the prior, chosen one by one, each believed at its predicted mean."""
        pool = self.fresh(state, int(self.options["n_candidates"]), required=False, claim=False)
        seen = {config_key(c) for c in pool} | state.taken
        for source in self.options["prior"].sources:
            for config in source.configs:
                member = self.member(config)
                if member is not None and config_key(member) not in seen and self.feasible(member):
                    seen.add(config_key(member))
                    pool.append(member)
        if not pool:
            return self.fresh(state, k, required=self._cover is None)
        unknown = [j for j, o in enumerate(self.objectives) if o.name not in self.known]
        known = [j for j, o in enumerate(self.objectives) if o.name in self.known]
        known_objectives = [self.objectives[j] for j in known]
        pool_known = to_minimize(self.known_values(pool), known_objectives) if known else np.zeros((len(pool), 0))
        x_pool = self._inputs(pool)
        y_obs = self.to_min(state.values)
        models = self._fit(self._inputs(state.configs), y_obs[:, unknown], state.rng, unknown) if unknown else []
        predictions = [m.predict(x_pool, return_std=True) for m in models]
        mean = np.column_stack([p[0] for p in predictions]) if predictions else np.zeros((len(pool), 0))
        std = np.column_stack([p[1] for p in predictions]) if predictions else np.zeros((len(pool), 0))
        points = np.hstack((mean, pool_known))
        y_seen = y_obs  # (0, m) before any value (Controller.to_min)
        if state.pending:  # pending trials believed at the prior's means, as in _model_based
            y_seen = np.vstack((y_seen, self._believed(state.pending, models, unknown, known)))
        y_seen = y_seen[:, unknown + known]
        seen_points = np.vstack((points, y_seen))
        high, low = seen_points.max(axis=0), seen_points.min(axis=0)
        reference = high + _MARGIN * np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
        front = y_seen[pareto_mask(y_seen)] if len(y_seen) else y_seen
        out: list[dict[str, Any]] = []
        live = np.ones(len(pool), dtype=bool)
        for _ in range(min(k, len(pool))):
            rows = np.flatnonzero(live)
            scores = ehvi_monte_carlo(mean[rows], std[rows], pool_known[rows], front, reference,
                                      samples=int(self.options["mc_samples"]), rng=_child_seed(state.rng))
            best = pick_candidate(scores, mean[rows], std[rows], pool_known[rows], front, reference)
            i = int(rows[best])
            out.append(pool[i])
            state.taken.add(config_key(pool[i]))
            live[i] = False
            front = np.vstack((front, points[i]))
            front = front[pareto_mask(front)]
        return out

    def _believed(self, configs: Sequence[dict[str, Any]], models: Sequence[Surrogate], unknown: Sequence[int],
                  known: Sequence[int]) -> FloatArray:
        """Pending ``configs`` as if observed (objective order, minimisation space): the models' means for the
        unknown objectives (Kriging believer), the values of the known ones."""
        y = np.zeros((len(configs), len(self.objectives)))
        if unknown:
            x = self._inputs(configs)
            y[:, unknown] = np.column_stack([m.predict(x) for m in models])
        if known:
            y[:, known] = to_minimize(self.known_values(configs), [self.objectives[j] for j in known])
        return y

    def _reference_point(self, y_obs: FloatArray, pool_known: FloatArray, known: Sequence[int],
                         known_objectives: Sequence[Any]) -> FloatArray:
        """Minimisation-space reference, in objective order (see the module docstring)."""
        if self._reference is not None:
            return self._reference
        fixed = self._known_sample(known, known_objectives) if known else np.zeros((0, 0))
        ref = np.empty(len(self.objectives))
        for j in range(len(self.objectives)):
            values = y_obs[:, j]
            if j in known:
                col = list(known).index(j)
                values = np.concatenate((values, pool_known[:, col], fixed[:, col]))
            high, low = float(values.max()), float(values.min())
            span = high - low if high > low else max(abs(high), 1.0)
            ref[j] = high + _MARGIN * span
        return ref


def _child_seed(rng: np.random.Generator) -> int:
    """A seed for a sub-computation, drawn from the call's generator so that the whole call stays replayable."""
    return int(rng.integers(2**31 - 1))
