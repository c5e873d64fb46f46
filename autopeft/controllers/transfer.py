"""Warm starts: what earlier searches (other tasks, the same space or a shared part of it) observed, as a prior
that a new search's own observations override.

A :class:`Prior` is a list of :class:`PriorSource` — each the configurations one earlier run or table observed
and their objective values, in the objectives' own units. ``bo`` turns it into a surrogate per objective
(:func:`fit_prior_model`) and models the new task as that prior, rescaled, plus a residual
(:class:`TransferSurrogate`):

    y(x) = a + b * p(x) + r(x)

- ``p`` is a surrogate fit on every source's observations, each source's values standardised on their own
  mean and spread (tasks differ in level and range: the same configurations score 0.6 on one task and 0.95 on
  another; what carries over is which configurations are better);
- ``a`` and ``b`` put ``p`` in the new task's units. Before the new task has three observations they are the
  sources' own level and spread (``b = b0``, the sources' mean spread, and ``a`` from the mean residual once
  there is one observation); from three on, ``b`` is the least-squares slope of the new observations on ``p``,
  shrunk towards ``b0`` by :data:`SHRINK` pseudo-observations and never below 0 (a prior that the new task
  contradicts is switched off, not inverted);
- ``r`` is the usual surrogate (``gp`` or ``forest``) fit on what the prior leaves unexplained, so the new
  task's observations override the prior where they exist, and the prior speaks where they do not.
- The uncertainty is the residual model's (``std="residual"``, the default), or stacked (``std="stacked"``; the
  stacked GPs of Golovin et al. 2017, Google Vizier): ``(b * s_p(x)) ** w * s_r(x) ** (1 - w)`` with
  ``w = SHRINK / (SHRINK + n)``, a geometric mean of the prior's standard deviation (in the new task's units)
  and the residual model's, the prior again counting as :data:`SHRINK` observations against the new task's
  ``n``. Stacked, bo no longer spends an early trial on a configuration the prior rates as clearly worse (on
  bbc-news warm-started from tweets: head-only at its other learning rate); but the prior is then more
  confident where the tasks disagree too, and on 3 of 20 report seeds of tweets the search stalled. Measured
  on both, so the default stays: ``benchmarks/peftbench/README.md``, "How sure the warm start is".
- With ``levels`` (bo's option ``prior_levels``, on by default), ``r`` starts with one level per choice of each
  root dimension (per PEFT method): which method suits a task is what transfers worst between tasks, so each
  method's level is its mean residual, pulled towards 0 by ``k`` pseudo-observations (bo's option
  ``prior_level_shrink``, :data:`LEVEL_SHRINK` by default), and the residual model fits what is left. A method
  tried ``n`` times keeps ``b * sqrt(k / (n + k))`` of uncertainty about its level, added in quadrature to the
  std: one not tried yet could be off by the task's whole spread ``b``. This is the posterior of a normal
  level with spread ``b`` seen through observations whose own noise (the seed's, and how far a member strays
  from its method's level) has variance ``k * b ** 2``. So once a method's first member is seen, its other
  members move with it (on bbc-news from tweets, LN tuning's cheaper member then comes before LoRA members, not
  after them).
  Measured on both PEFT-Bench tables: ``benchmarks/peftbench/README.md``, "One level per method" and, for
  ``k``, "Trusting a method's first member".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata

from autopeft.controllers.surrogate import Surrogate, make_surrogate
from autopeft.errors import ConfigError

__all__ = ["LEVEL_SHRINK", "PRIOR_STDS", "PRIOR_TRANSFORMS", "SHRINK", "Prior", "PriorModel", "PriorSource",
           "TransferSurrogate", "check_prior", "check_warm_options", "finite", "fit_prior_model"]

Array = np.ndarray
#: Pseudo-observations that pull the fitted slope ``b`` towards the sources' spread ``b0``.
SHRINK = 5.0
#: Pseudo-observations that pull a method's level towards 0, and set how fast its uncertainty falls (see the
#: module docstring, ``levels``): bo's default ``prior_level_shrink``. A quarter: one observation's own noise is
#: taken as half the spread of the methods' levels. Chosen on the development seeds from 1, 0.25, 0.1 and 0.05
#: (smaller helped bbc-news and stalled searches on the noisier tweets v2): ``benchmarks/peftbench/README.md``.
LEVEL_SHRINK = 0.25
#: How a :class:`TransferSurrogate` states its uncertainty: the residual model's alone, or stacked with the
#: prior's (see the module docstring).
PRIOR_STDS = ("residual", "stacked")
#: How each source's values are put on a common scale before the prior is fit (see :func:`fit_prior_model`).
PRIOR_TRANSFORMS = ("standard", "copula")


@dataclass(frozen=True)
class PriorSource:
    """One earlier run or table: its name (a path), what it is (``run`` or ``table``), the configurations it
    observed and each objective's values (objective name -> one number per configuration, ``nan`` where
    missing), in the objectives' own units. ``dropped`` counts observations left out (not members of the new
    space, or failed), ``dropped_references`` those of them that were the run's reference points."""

    name: str
    kind: str
    configs: tuple[Mapping[str, Any], ...]
    values: Mapping[str, tuple[float, ...]]
    dropped: int = 0
    note: str = ""
    dropped_references: int = 0

    def __post_init__(self) -> None:
        for objective, column in self.values.items():
            if len(column) != len(self.configs):
                raise ConfigError(f"warm start {self.name}: objective {objective!r} has {len(column)} values for "
                                  f"{len(self.configs)} configurations")

    def describe(self) -> dict[str, Any]:
        """What was transferred from this source (for the journal, ``status`` and the report)."""
        return {"source": self.name, "kind": self.kind, "observations": len(self.configs), "dropped": self.dropped,
                "dropped_references": self.dropped_references, "objectives": sorted(self.values),
                **({"note": self.note} if self.note else {})}


@dataclass(frozen=True)
class Prior:
    """Every source of a warm start."""

    sources: tuple[PriorSource, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.sources:
            raise ConfigError("a warm start needs at least one source with observations")

    def describe(self) -> list[dict[str, Any]]:
        return [s.describe() for s in self.sources]

    def objectives(self) -> set[str]:
        return {name for s in self.sources for name in s.values}


@dataclass(frozen=True)
class PriorModel:
    """A fitted prior for one objective: ``model`` predicts standardised values; ``mean`` / ``spread`` are
    the sources' own level and spread (averaged over sources), in minimisation units."""

    model: Surrogate
    mean: float
    spread: float
    observations: int


def fit_prior_model(x_by_source: Sequence[Array], y_by_source: Sequence[Array], *, surrogate: str = "gp",
                    seed: int = 0, transform: str = "standard", **params: Any) -> PriorModel | None:
    """A :class:`PriorModel` from each source's inputs and (minimisation-space) values of one objective; rows
    with a non-finite value are left out, and ``None`` when fewer than two rows are left. ``transform``
    (:data:`PRIOR_TRANSFORMS`): each source's values standardised (``standard``), or their ranks mapped to
    normal quantiles (``copula``: the Gaussian copula of Salinas et al. 2020, robust to a task's outliers)."""
    if transform not in PRIOR_TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; allowed: {', '.join(PRIOR_TRANSFORMS)}")
    xs, zs, means, spreads = [], [], [], []
    for x, y in zip(x_by_source, y_by_source, strict=True):
        y = np.asarray(y, dtype=float)
        keep = np.isfinite(y)
        if keep.sum() < 2:
            continue
        level, spread = float(np.mean(y[keep])), float(np.std(y[keep]))
        spread = spread if spread > 0 else 1.0
        xs.append(np.asarray(x, dtype=float)[keep])
        if transform == "copula":
            zs.append(norm.ppf((rankdata(y[keep]) - 0.5) / keep.sum()))
        else:
            zs.append((y[keep] - level) / spread)
        means.append(level)
        spreads.append(spread)
    if not xs:
        return None
    model = make_surrogate(surrogate, seed=seed, **params).fit(np.vstack(xs), np.concatenate(zs))
    return PriorModel(model, float(np.mean(means)), float(np.mean(spreads)), int(sum(len(z) for z in zs)))


class TransferSurrogate(Surrogate):
    """``a + b * prior(x) + residual(x)``: see the module docstring. Follows the scikit-learn contract; the
    fitted prior is a parameter (it is fit once per search, on the sources, not on ``X``)."""

    def __init__(self, *, prior: PriorModel | None = None, base: str = "gp", random_state: int | None = None,
                 base_params: Mapping[str, Any] | None = None, shrink: float = SHRINK,
                 std: str = "residual", levels: Sequence[Sequence[int]] | None = None,
                 level_shrink: float = LEVEL_SHRINK) -> None:
        self.prior = prior
        self.base = base
        self.random_state = random_state
        self.base_params = base_params
        self.shrink = shrink
        self.std = std
        self.levels = levels
        self.level_shrink = level_shrink

    def fit(self, X: Any, y: Any) -> TransferSurrogate:
        """Calibrate ``a``, ``b`` on the new observations and fit the residual; returns ``self``."""
        if self.prior is None:
            raise ValueError("TransferSurrogate needs a fitted prior (fit_prior_model)")
        if self.std not in PRIOR_STDS:
            raise ValueError(f"unknown std {self.std!r}; allowed: {', '.join(PRIOR_STDS)}")
        arr, target = self._check_X(X), np.asarray(y, dtype=float).ravel()
        self._fit_prior(arr, target)
        p = self.prior.model.predict(arr) if len(arr) else np.zeros(0)
        b0 = self.prior.spread
        if len(target) >= 3 and float(np.std(p)) > 0:
            slope = float(np.polyfit(p, target, 1)[0])
            b = max(0.0, (len(target) * slope + self.shrink * b0) / (len(target) + self.shrink))
        else:
            b = b0
        a = float(np.mean(target - b * p)) if len(target) else self.prior.mean
        self.a_, self.b_ = a, b
        residual = target - (a + b * p)
        self.levels_: list[tuple[Array, Array, Array]] = []
        for columns in self.levels or ():  # one level per root choice, fit before the residual model
            cols = np.asarray(columns, dtype=int)
            member = (arr[:, cols] > 0.5).astype(float)
            counts = member.sum(axis=0)
            offsets = member.T @ residual / (counts + self.level_shrink)
            residual = residual - member @ offsets
            self.levels_.append((cols, offsets, counts))
        self.residual_ = make_surrogate(self.base, seed=self.random_state or 0,
                                        **dict(self.base_params or {})).fit(arr, residual)
        return self

    def _predict(self, X: Array) -> tuple[Array, Array]:
        assert self.prior is not None
        mean, std = self.residual_.predict(X, return_std=True)
        if self.residual_.n_train_ < 2:  # no residual shape yet: the prior's own spread is the uncertainty
            mean, std = np.full(len(X), float(np.mean(self.residual_.predict(X)))), np.full(len(X), self.b_ or 1.0)
        p_mean, p_std = self.prior.model.predict(X, return_std=True)
        if self.std == "stacked" and self.b_ > 0:
            beta = self.shrink / (self.shrink + self.residual_.n_train_)
            std = np.power(self.b_ * np.maximum(p_std, 1e-12), beta) * np.power(np.maximum(std, 1e-12), 1.0 - beta)
        spread = self.b_ if self.b_ > 0 else self.prior.spread
        for cols, offsets, counts in self.levels_:
            member = (X[:, cols] > 0.5).astype(float)
            mean = mean + member @ offsets
            share = self.level_shrink / (counts + self.level_shrink)
            std = np.sqrt(np.square(std) + spread ** 2 * (member @ share))
        return self.a_ + self.b_ * p_mean + mean, std


def check_prior(value: Any, objectives: Sequence[str]) -> None:
    """The ``prior`` option of ``bo``: ``None`` or a :class:`Prior` sharing at least one objective."""
    if value is None:
        return
    if not isinstance(value, Prior):
        raise ConfigError(f"controller 'bo': option 'prior' must be a warm-start prior (--warm-start), "
                          f"got {type(value).__name__}")
    shared = value.objectives() & set(objectives)
    if not shared:
        raise ConfigError(f"warm start: the sources observed {', '.join(sorted(value.objectives())) or 'nothing'}, "
                          f"none of this search's objectives ({', '.join(objectives)})")


def check_warm_options(options: Mapping[str, Any], objectives: Sequence[str]) -> None:
    """bo's warm-start options: ``prior`` (:func:`check_prior`), ``prior_trials`` (an integer >= 1 or ``None``),
    ``prior_level_shrink`` (a number > 0), ``prior_std`` (:data:`PRIOR_STDS`) and ``prior_transform``
    (:data:`PRIOR_TRANSFORMS`); a bad one is a
    :class:`ConfigError` naming it, its value and what is allowed."""
    check_prior(options["prior"], objectives)
    guided = options["prior_trials"]
    if guided is not None and (isinstance(guided, bool) or not isinstance(guided, numbers.Integral) or guided < 1):
        raise ConfigError(f"controller 'bo': option 'prior_trials' must be an integer >= 1 or null "
                          f"(null: n_initial), got {guided!r}")
    shrink = options["prior_level_shrink"]
    if isinstance(shrink, bool) or not isinstance(shrink, numbers.Real) or not 0 < float(shrink) < math.inf:
        raise ConfigError(f"controller 'bo': option 'prior_level_shrink' must be a number > 0 (pseudo-observations "
                          f"pulling a method's level towards the prior), got {shrink!r}")
    for key, allowed in (("prior_std", PRIOR_STDS), ("prior_transform", PRIOR_TRANSFORMS)):
        if options[key] not in allowed:
            raise ConfigError(f"controller 'bo': option {key!r} is unknown (got {options[key]!r}); "
                              f"allowed: {', '.join(allowed)}")


def finite(values: Sequence[float]) -> tuple[float, ...]:
    """``values`` as floats, anything missing or non-finite as ``nan``."""
    return tuple(float(v) if v is not None and math.isfinite(float(v)) else math.nan for v in values)
