"""The controller contract: propose the next configurations from a study's history; never train.

A study hands a controller every :class:`Observation` so far (a configuration and its objective values, or
``None`` when the trial failed) and the configurations still running (``pending``); the controller answers
with ``n`` new members of the space. The base class owns every rule that must hold whatever the strategy:

- **Deterministic**: the random generator of a call is derived from ``seed`` and
  ``len(history) + len(pending)``, so a resumed search (the journal replayed) proposes exactly what the
  interrupted one would have.
- **Never twice**: nothing already in history or pending is proposed again (compared by :func:`config_key`);
  when a finite space has been tried in full, :class:`ConfigError` says so.
- **Feasible and valid**: every proposal is a member of the space and satisfies every constraint.
- **Known objectives are exact**: an objective in ``known`` (``trainable_params``, counted before training)
  is computed by its function, never modelled. A configuration whose known objective raises
  :class:`ConfigError` (it does not build: a per-block LoRA with every block off) is infeasible, like one
  that breaks a constraint, so it is never proposed and never crashes a candidate pool.
- **Options are checked**: an unknown option name is a :class:`ConfigError` naming the allowed ones.

A new strategy is one subclass with a ``name``, its ``defaults`` (the options it accepts) and
:meth:`Controller._propose`, registered with :func:`~autopeft.controllers.registry.register_controller`.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from autopeft.controllers.registry import (  # the registry's names stay importable from here
    check_controller_name,
    controller_names,
    get_controller,
    register_controller,
)
from autopeft.errors import ConfigError
from autopeft.objectives import Objective, to_minimize
from autopeft.space import Space
from autopeft.trial import config_key

__all__ = [
    "Constraint",
    "Controller",
    "KnownObjective",
    "Observation",
    "Round",
    "check_controller_name",
    "controller_names",
    "get_controller",
    "register_controller",
]

FloatArray = npt.NDArray[np.float64]
KnownObjective = Callable[[Mapping[str, Any]], float]
Constraint = Callable[[Mapping[str, Any]], bool]

#: A finite space with at most this many members is listed in full when random draws stop finding new ones.
ENUMERATE_LIMIT = 20_000
#: Random draws per wanted configuration before falling back to listing the space (or giving up).
DRAWS_PER_PROPOSAL = 50
@dataclass(frozen=True)
class Observation:
    """One finished trial as a controller sees it: the configuration and its objective values.

    ``values`` maps objective names to numbers; ``None`` means the trial failed. A failed configuration
    still counts as tried (it is never proposed again) but teaches the models nothing.
    """

    config: Mapping[str, Any]
    values: Mapping[str, float] | None

    @property
    def failed(self) -> bool:
        """True when the trial produced no values."""
        return self.values is None


@dataclass
class Round:
    """What one :meth:`Controller.propose` call works with, prepared once by the base class.

    ``taken`` holds the keys of everything tried, pending or already proposed in this call; a strategy adds
    each proposal's key as it accepts it. ``configs`` / ``values`` are the complete observations (members
    of the space whose every objective is a finite number), values in the objectives' own units.
    """

    rng: np.random.Generator
    n: int
    history: Sequence[Observation]
    pending: list[dict[str, Any]]
    taken: set[str]
    configs: list[dict[str, Any]]
    values: FloatArray
    tried: list[dict[str, Any]] = field(default_factory=list)

    def after(self, picked: Sequence[dict[str, Any]], n: int) -> Round:
        """This round for the next ``n`` proposals of a call that has picked ``picked``, which count as pending
        (and tried); the generator and ``taken`` are shared, so the call stays one replayable draw."""
        return replace(self, n=n, pending=[*self.pending, *picked], tried=[*self.tried, *picked])


class Controller(ABC):
    """Base class of every search strategy; see the module docstring for the rules it enforces.

    Subclasses set ``name`` and ``defaults`` (option name -> default value; the only options accepted),
    may check option values in :meth:`_check_options`, and implement :meth:`_propose`.
    """

    name: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, space: Space, objectives: Sequence[Objective], *, seed: int = 0,
                 known: Mapping[str, KnownObjective] | None = None,
                 constraints: Sequence[Constraint] = (), **options: Any) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"controller {self.name!r}: seed must be an integer >= 0, got {seed!r}")
        self.space = space
        self.objectives = tuple(objectives)
        if not self.objectives or not all(isinstance(o, Objective) for o in self.objectives):
            raise ConfigError(f"controller {self.name!r}: objectives must be a non-empty list of Objective, "
                              f"got {objectives!r}")
        names = [o.name for o in self.objectives]
        if len(set(names)) != len(names):
            raise ConfigError(f"controller {self.name!r}: duplicate objective names in {names}")
        self.seed = int(seed)
        self.known: dict[str, KnownObjective] = dict(known or {})
        for key, fn in self.known.items():
            if key not in names:
                raise ConfigError(f"controller {self.name!r}: known objective {key!r} is not an objective; "
                                  f"allowed: {', '.join(names)}")
            if not callable(fn):
                raise ConfigError(f"controller {self.name!r}: known objective {key!r} must be a function of a "
                                  f"configuration, got {fn!r}")
        self.constraints = tuple(constraints)
        for fn in self.constraints:
            if not callable(fn):
                raise ConfigError(f"controller {self.name!r}: a constraint must be a function of a configuration "
                                  f"returning True when it is allowed, got {fn!r}")
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            allowed = ", ".join(sorted(self.defaults)) or "none"
            raise ConfigError(f"controller {self.name!r} has no option {unknown[0]!r}; allowed: {allowed}")
        self.options: dict[str, Any] = {**self.defaults, **options}
        self._check_options()
        self.cardinality = space.cardinality()
        self._columns = [(dim, space.feature_slice(dim.name)) for dim in space.dimensions if dim.feature_names()]
        self._known_cache: dict[str, tuple[float, ...]] = {}
        self._unbuildable: set[str] = set()  # keys whose known objectives raised ConfigError
        self._listed: list[tuple[str, dict[str, Any]]] | None = None

    # ---- the public call ----------------------------------------------------------------------------------
    def propose(self, history: Sequence[Observation], n: int = 1,
                pending: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        """``n`` new configurations: members of the space, feasible, none tried or pending, all distinct.

        Fewer than ``n`` come back only when fewer untried feasible members are left; none left is a
        :class:`ConfigError` (``space exhausted: ...`` or a message naming the constraints).
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"controller {self.name!r}: n must be an integer >= 1, got {n!r}")
        taken: set[str] = set()
        tried: list[dict[str, Any]] = []
        for config in [o.config for o in history] + list(pending):
            member = self.member(config)
            key = config_key(member if member is not None else config)
            if key not in taken and member is not None:
                tried.append(member)
            taken.add(key)
        if len(tried) >= self.cardinality:
            raise ConfigError(f"space exhausted: all {len(tried)} configurations were tried")
        configs, values = self._complete(history)
        pend = [m for m in (self.member(c) for c in pending) if m is not None]
        seq = np.random.SeedSequence([self.seed, len(history) + len(pending)])
        state = Round(np.random.default_rng(seq), int(n), history, pend, taken, configs, values, tried)
        # A strategy that finds nothing falls back to uniform draws, which raise with the reason if none is left.
        return self._propose(state) or self.fresh(state, state.n)

    # ---- what a strategy implements -----------------------------------------------------------------------
    def _check_options(self) -> None:
        """Check ``self.options`` values; raise :class:`ConfigError` naming the option, value and allowed."""
        return None  # the default: every option's value is acceptable

    @abstractmethod
    def _propose(self, state: Round) -> list[dict[str, Any]]:
        """Up to ``state.n`` distinct, feasible, untried members; add each one's key to ``state.taken``."""

    # ---- helpers for strategies ---------------------------------------------------------------------------
    def integer_option(self, key: str, low: int) -> int:
        """Option ``key`` checked to be an integer >= ``low`` (a bool is not one); else a ConfigError naming it."""
        value = self.options[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ConfigError(f"controller {self.name!r}: option {key!r} must be an integer >= {low}, got {value!r}")
        return int(value)

    def member(self, config: Mapping[str, Any]) -> dict[str, Any] | None:
        """``config`` normalised to the space (so equal trials have equal keys), or None if not a member."""
        try:
            return self.space.validate(config, fill=False)
        except ConfigError:
            return None

    def feasible(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` satisfies every constraint and every known objective can be computed for it.

        A constraint that raises :class:`ConfigError` counts as broken: a constraint on a known objective (a
        recipe's ``max_trainable_params``) cannot judge a configuration that does not build (a per-block LoRA
        with every block off), and such a configuration must not crash the search.
        """
        try:
            if not all(bool(fn(config)) for fn in self.constraints):
                return False
        except ConfigError:
            return False
        return self._buildable(config)

    def _buildable(self, config: Mapping[str, Any]) -> bool:
        """False when a known objective raises :class:`ConfigError` for ``config`` (remembered per key)."""
        if not self.known:
            return True
        key = config_key(config)
        if key in self._unbuildable:
            return False
        if key in self._known_cache:
            return True
        try:
            self.known_values([config])
        except ConfigError:
            self._unbuildable.add(key)
            return False
        return True

    def accept(self, state: Round, config: Mapping[str, Any]) -> bool:
        """Take ``config`` if it is a feasible, untried member: add its key to ``state.taken``, return True."""
        member = self.member(config)
        if member is None:
            return False
        key = config_key(member)
        if key in state.taken or not self.feasible(member):
            return False
        state.taken.add(key)
        return True

    def fresh(self, state: Round, k: int, *, required: bool = True, claim: bool = True) -> list[dict[str, Any]]:
        """Up to ``k`` uniformly drawn, feasible, untried, distinct members.

        Random draws first (``DRAWS_PER_PROPOSAL`` per wanted configuration); if they fall short and the space
        is finite and small, the untried feasible members are listed and drawn from, so a nearly exhausted
        space still yields its last members. When ``k`` is at least the number of untried members of such a
        space (a candidate pool larger than the space), the draws are skipped: they could only end in that
        listing, with the same members, after ``DRAWS_PER_PROPOSAL * k`` wasted samples. With ``claim`` their
        keys go into ``state.taken`` (they are proposals); without, they are only candidates. With
        ``required``, finding none is a :class:`ConfigError` saying why.
        """
        taken = state.taken if claim else set(state.taken)
        out: list[dict[str, Any]] = []
        members = self._members()
        draws = DRAWS_PER_PROPOSAL * k + 100
        if members is not None and k >= sum(1 for key, _ in members if key not in taken):
            draws = 0
        for _ in range(draws):
            if len(out) >= k:
                return out
            config = self.space.sample(state.rng)
            key = config_key(config)
            if key not in taken and self.feasible(config):
                taken.add(key)
                out.append(config)
        if len(out) < k and members is not None:
            rest = [c for key, c in members if key not in taken]
            untried = len(rest)
            rest = [c for c in rest if self.feasible(c)]
            for i in state.rng.permutation(len(rest))[: k - len(out)]:
                taken.add(config_key(rest[int(i)]))
                out.append(_copy(rest[int(i)]))
            if not out and required:
                if untried == 0:
                    raise ConfigError(f"space exhausted: all {int(self.cardinality)} configurations were tried")
                raise ConfigError(f"no feasible configuration left: all {untried} untried configurations of space "
                                  f"{self.space.spec.name!r} violate the constraints; loosen the constraints")
        if not out and required:
            raise ConfigError(f"no feasible configuration found in {draws} random draws from space "
                              f"{self.space.spec.name!r} (untried and satisfying the constraints); "
                              f"loosen the constraints or enlarge the space")
        return out

    def _members(self) -> list[tuple[str, dict[str, Any]]] | None:
        """Every member with its key, listed once (``None`` for an infinite or a too large space)."""
        if self.cardinality > ENUMERATE_LIMIT:
            return None
        if self._listed is None:
            self._listed = [(config_key(c), c) for c in self.space.enumerate()]
        return self._listed

    def encode(self, configs: Sequence[Mapping[str, Any]]) -> FloatArray:
        """:meth:`Space.encode_many` for configurations already known to be members, without re-validating.

        Controllers encode hundreds of candidates per call; skipping the membership check (they come from
        the space's own sampler, neighbours or :meth:`member`) makes encoding several times cheaper.
        """
        out = np.zeros((len(configs), len(self.space.feature_names)))
        for i, config in enumerate(configs):
            for dim, cols in self._columns:
                if dim.name in config:
                    out[i, cols] = dim.encode_value(config[dim.name])
        return out

    def known_values(self, configs: Sequence[Mapping[str, Any]]) -> FloatArray:
        """``(len(configs), len(known))`` exact values of the known objectives, in objective order (cached)."""
        names = self._known_names
        out = np.empty((len(configs), len(names)))
        for i, config in enumerate(configs):
            key = config_key(config)
            row = self._known_cache.get(key)
            if row is None:
                row = tuple(float(self.known[name](config)) for name in names)
                if len(self._known_cache) < 100_000:
                    self._known_cache[key] = row
            out[i] = row
        return out

    def to_min(self, values: FloatArray) -> FloatArray:
        """Raw objective values ``(n, m)`` -> minimisation space (:func:`autopeft.pareto.to_minimize`)."""
        if values.shape[0] == 0:
            return np.zeros((0, len(self.objectives)))
        return to_minimize(values, self.objectives)

    def _complete(self, history: Sequence[Observation]) -> tuple[list[dict[str, Any]], FloatArray]:
        """Members with a finite value for every objective (a missing known one is computed); raw units."""
        configs: list[dict[str, Any]] = []
        rows: list[list[float]] = []
        for obs in history:
            member = None if obs.values is None else self.member(obs.config)
            if member is None or obs.values is None:
                continue
            given = obs.values
            missing = [o.name for o in self.objectives if given.get(o.name) is None]
            if any(name not in self.known for name in missing):
                continue  # an unknown objective has no value: nothing to learn from this trial
            exact = dict(zip(self._known_names, self.known_values([member])[0], strict=True)) if missing else {}
            row = [float(given[o.name]) if given.get(o.name) is not None else float(exact[o.name])
                   for o in self.objectives]
            if all(math.isfinite(v) and (v > 0 or not o.log) for v, o in zip(row, self.objectives, strict=True)):
                configs.append(member)
                rows.append(row)
        return configs, np.asarray(rows, dtype=float).reshape(len(rows), len(self.objectives))

    @property
    def _known_names(self) -> list[str]:
        return [o.name for o in self.objectives if o.name in self.known]


def _copy(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a listed member that a caller may change without changing the list (per-layer dicts too)."""
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in config.items()}
