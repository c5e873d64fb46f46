"""A parsed search space: :class:`SpaceSpec` (model-free) and, per model, :class:`Space`.

Spaces are read from YAML by :mod:`autopeft.space.parsing`, which documents the file format. Dimension types
live in :mod:`autopeft.space.dimensions`; selectors in :mod:`autopeft.space.selectors`; reference points in
:mod:`autopeft.space.references`.
A :class:`SpaceSpec` is model-free; :meth:`SpaceSpec.resolve` binds the per-layer dimensions to a
model's layout (``{"encoder": 6}``) and gives a :class:`Space`, which samples, validates, encodes
configurations to numeric vectors and back, lists neighbours and counts its members. Every problem in a
configuration is a :class:`ConfigError`.

>>> from autopeft.space.parsing import parse_space
>>> spec = parse_space("name: s\\ndimensions:\\n  - {name: m, type: categorical, choices: [a, b]}\\n", "s.yaml")
>>> space = spec.resolve({})
>>> space.default(), space.cardinality(), space.encode({"m": "b"}).tolist()
({'m': 'a'}, 2, [0.0, 1.0])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autopeft.errors import ConfigError, SelectorError, SpaceError
from autopeft.space.dimensions import DimensionSpec, PerLayerSpec, same
from autopeft.space.references import ReferenceSpec
from autopeft.space.selectors import resolve_selectors

__all__ = ["DimensionSpec", "ReferenceSpec", "Space", "SpaceSpec"]


@dataclass(frozen=True)
class SpaceSpec:
    """A parsed space file, independent of any model."""

    source: str
    name: str
    dimensions: tuple[DimensionSpec, ...]
    description: str | None = None
    references: tuple[ReferenceSpec, ...] = ()
    text: str = ""

    def dimension(self, name: str) -> DimensionSpec:
        for dim in self.dimensions:
            if dim.name == name:
                return dim
        raise ConfigError(f"unknown dimension {name!r}; allowed: {', '.join(d.name for d in self.dimensions)}")

    def resolve(self, layout: Mapping[str, int]) -> Space:
        """Bind every per-layer dimension to the blocks its selectors name in ``layout``."""
        dims: list[DimensionSpec] = []
        for dim in self.dimensions:
            if isinstance(dim, PerLayerSpec):
                try:
                    blocks = resolve_selectors(dim.layers, layout)
                except SelectorError as exc:
                    reason = getattr(exc, "reason", str(exc))
                    text = getattr(exc, "text", None)
                    raise SpaceError(
                        f"{reason} for this model", file=self.source, line=dim.field_line("layers"),
                        field=f"{dim.name}.layers", value=text, allowed=getattr(exc, "allowed", None),
                    ) from None
                dim = dim.bind(blocks)
            dims.append(dim)
        return Space(self, dict(layout), tuple(dims))


@dataclass(frozen=True)
class Space:
    """A space bound to one model's layout: what the controllers and the runner use."""

    spec: SpaceSpec
    layout: dict[str, int]
    dimensions: tuple[DimensionSpec, ...]
    _slices: tuple[slice, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        slices, start = [], 0
        for dim in self.dimensions:
            width = len(dim.feature_names())
            slices.append(slice(start, start + width))
            start += width
        object.__setattr__(self, "_slices", tuple(slices))

    # ---- membership -------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    @staticmethod
    def is_active(dim: DimensionSpec, config: Mapping[str, Any]) -> bool:
        """Whether ``dim`` exists given the (earlier) values in ``config``."""
        return all(c.parent in config and c.holds(config[c.parent]) for c in dim.when)

    def validate(self, config: Mapping[str, Any], *, fill: bool = True) -> dict[str, Any]:
        """The normalised configuration (dimension order); missing active keys get defaults when ``fill``.

        Raises :class:`ConfigError` naming the key, the bad value and what is allowed.
        """
        if not isinstance(config, Mapping):
            raise ConfigError(f"a configuration must be a JSON object / mapping, got {config!r}")
        known = set(self.names)
        for key in config:
            if key not in known:
                raise ConfigError(f"config key {key!r} is not a dimension of space {self.spec.name!r}; "
                                  f"allowed: {', '.join(self.names)}")
        out: dict[str, Any] = {}
        for dim in self.dimensions:
            active = self.is_active(dim, out)
            if not active:
                if dim.name in config:
                    conds = " and ".join(str(c) for c in dim.when)
                    raise ConfigError(f"config key {dim.name!r} applies only when {conds}; "
                                      f"remove it or change {', '.join(c.parent for c in dim.when)}")
                continue
            if dim.name in config:
                out[dim.name] = dim.check(config[dim.name])
            elif fill or dim.type == "constant":
                out[dim.name] = dim.default_value()
            else:
                raise ConfigError(f"config has no value for dimension {dim.name!r}; add it to the configuration")
        return out

    def contains(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` is exactly a member (every active key present, nothing extra)."""
        try:
            self.validate(config, fill=False)
        except ConfigError:
            return False
        return True

    # ---- drawing ------------------------------------------------------------------------------
    def default(self) -> dict[str, Any]:
        """Every active dimension at its default."""
        out: dict[str, Any] = {}
        for dim in self.dimensions:
            if self.is_active(dim, out):
                out[dim.name] = dim.default_value()
        return out

    def sample(self, rng: np.random.Generator | int | None = None) -> dict[str, Any]:
        """One configuration: each active dimension drawn uniformly (log-uniformly for log ranges), in order, so
        a conditional dimension's parent first; not a uniform draw over the members (see ``random``)."""
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        out: dict[str, Any] = {}
        for dim in self.dimensions:
            if self.is_active(dim, out):
                out[dim.name] = dim.sample_value(gen)
        return out

    def _repair(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Drop keys that became inactive, give newly active dimensions their defaults."""
        out: dict[str, Any] = {}
        for dim in self.dimensions:
            if self.is_active(dim, out):
                out[dim.name] = config[dim.name] if dim.name in config else dim.default_value()
        return out

    def neighbours(self, config: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Configurations one step away: one dimension (or one block of a per-layer one) changed."""
        base = self.validate(config, fill=False)
        out: list[dict[str, Any]] = []
        for dim in self.dimensions:
            if dim.name not in base:
                continue
            for value in dim.moves(base[dim.name]):
                candidate = self._repair({**base, dim.name: value})
                if not any(_same_config(candidate, o) for o in out):
                    out.append(candidate)
        return out

    # ---- size -----------------------------------------------------------------------------------
    def cardinality(self) -> int | float:
        """Number of distinct members (``inf`` when a float range is active somewhere)."""
        parents = {c.parent for d in self.dimensions for c in d.when}

        def count(i: int, config: dict[str, Any]) -> int | float:
            if i == len(self.dimensions):
                return 1
            dim = self.dimensions[i]
            if not self.is_active(dim, config):
                return count(i + 1, config)
            if dim.name in parents:
                values = getattr(dim, "choices", None) or [dim.default_value()]
                return sum(count(i + 1, {**config, dim.name: v}) for v in values)
            n = dim.count()
            return 0 if n == 0 else n * count(i + 1, config)

        return count(0, {})

    def enumerate(self) -> Iterator[dict[str, Any]]:
        """Every member, in a fixed order (a finite space only)."""
        if self.cardinality() == math.inf:
            raise ConfigError(f"space {self.spec.name!r} has a float range, so its members cannot be listed")

        def values(dim: DimensionSpec) -> list[Any]:
            if isinstance(dim, PerLayerSpec):
                return [dict(zip(dim.blocks, combo, strict=True))
                        for combo in itertools.product(dim.choices, repeat=len(dim.blocks))]
            if dim.type == "integer":
                return [dim.low + k * dim.step for k in range(int(dim.count()))]  # type: ignore[attr-defined]
            if dim.type == "float":
                return [dim.default_value()]
            if dim.type == "constant":
                return [dim.default_value()]
            return list(dim.choices)  # type: ignore[attr-defined]

        def walk(i: int, config: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if i == len(self.dimensions):
                yield dict(config)
                return
            dim = self.dimensions[i]
            if not self.is_active(dim, config):
                yield from walk(i + 1, config)
                return
            for value in values(dim):
                yield from walk(i + 1, {**config, dim.name: value})

        yield from walk(0, {})

    # ---- numeric encoding ------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return [n for d in self.dimensions for n in d.feature_names()]

    @property
    def feature_kinds(self) -> list[str]:
        """``onehot`` / ``numeric`` (in [0, 1]) / ``ordinal`` (in [0, 1]) per column."""
        return [k for d in self.dimensions for k in d.feature_kinds()]

    def feature_slice(self, name: str) -> slice:
        """Columns of dimension ``name``."""
        return self._slices[self.names.index(name)]

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """A vector in [0, 1]^d; inactive dimensions encode as zeros."""
        checked = self.validate(config, fill=False)
        vec = np.zeros(len(self.feature_names))
        for dim, cols in zip(self.dimensions, self._slices, strict=True):
            if dim.name in checked:
                vec[cols] = dim.encode_value(checked[dim.name])
        return vec

    def encode_many(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Rows of :meth:`encode` (shape ``(len(configs), d)``)."""
        width = len(self.feature_names)
        return np.array([self.encode(c) for c in configs], dtype=float).reshape(len(configs), width)

    def decode(self, vector: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """The member nearest to ``vector`` (conditions follow the decoded parents)."""
        vec = np.asarray(vector, dtype=float)
        if vec.shape != (len(self.feature_names),):
            raise ConfigError(f"a vector of space {self.spec.name!r} has {len(self.feature_names)} features, "
                              f"got shape {vec.shape}")
        if not np.isfinite(vec).all():  # NaN has no nearest member
            raise ConfigError(f"a vector of space {self.spec.name!r} must be finite, got {vec.tolist()!r}")
        out: dict[str, Any] = {}
        for dim, cols in zip(self.dimensions, self._slices, strict=True):
            if self.is_active(dim, out):
                out[dim.name] = dim.decode_value(vec[cols])
        return out


def _same_config(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            if x.keys() != y.keys() or not all(same(x[k], y[k]) for k in x):
                return False
        elif not same(x, y):
            return False
    return True
