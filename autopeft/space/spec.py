"""Declarative search spaces: a YAML file -> :class:`SpaceSpec` -> (per model) :class:`Space`.

A space file::

    name: minilm-layers
    description: per-block LoRA rank ...
    references: [peft_default_lora, attention_only]     # or {name: mine, config: {...}}
    dimensions:
      - name: method
        type: categorical
        choices: [lora, ia3]
      - name: lora.ranks
        type: per_layer                 # one value per block named by the selectors
        layers: encoder.blocks[:]
        choices: [0, 4, 8]
        when: {method: lora}            # exists only when method is lora

Dimension types live in :mod:`autopeft.space.dimensions`; selectors in :mod:`autopeft.space.selectors`;
reference points in :mod:`autopeft.space.references`.
A :class:`SpaceSpec` is model-free; :meth:`SpaceSpec.resolve` binds the per-layer dimensions to a
model's layout (``{"encoder": 6}``) and gives a :class:`Space`, which samples, validates, encodes
configurations to numeric vectors and back, lists neighbours and counts its members.

Every problem in a file is a :class:`SpaceError` naming the file, line, field, bad value and what
is allowed; every problem in a configuration is a :class:`ConfigError`.

>>> spec = parse_space("name: s\\ndimensions:\\n  - {name: m, type: categorical, choices: [a, b]}\\n", "s.yaml")
>>> space = spec.resolve({})
>>> space.default(), space.cardinality(), space.encode({"m": "b"}).tolist()
({'m': 'a'}, 2, [0.0, 1.0])
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.errors import ConfigError, SelectorError, SpaceError
from autopeft.space.dimensions import DIMENSION_TYPES, Condition, DimensionSpec, PerLayerSpec, same, show
from autopeft.space.references import ReferenceSpec, parse_references
from autopeft.space.selectors import resolve_selectors
from autopeft.space.yaml_fields import Fields, load_yaml

__all__ = ["DimensionSpec", "ReferenceSpec", "Space", "SpaceSpec", "load_space", "parse_space"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_TOP_FIELDS = ("name", "description", "references", "dimensions")
_PARENT_TYPES = ("categorical", "constant")


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


# ---- parsing -----------------------------------------------------------------------------------------
def _field_lines(data: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    lines: Mapping[Any, int] = getattr(data, "lines", {})
    out: list[tuple[str, int]] = []
    for key, line in lines.items():
        out.append((str(key), line))
        value = data[key]
        for i, item_line in enumerate(getattr(value, "lines", []) if isinstance(value, list) else []):
            out.append((f"{key}[{i}]", item_line))
        if isinstance(value, Mapping):
            out.extend((f"{key}.{k}", sub) for k, sub in getattr(value, "lines", {}).items())
    return tuple(out)


def _parse_when(f: Fields, earlier: Mapping[str, DimensionSpec], later: Sequence[str]) -> tuple[Condition, ...]:
    if "when" not in f.data:
        return ()
    raw = f.data["when"]
    if not isinstance(raw, Mapping) or not raw:
        raise f.error("when", "must be a mapping of an earlier dimension to its value(s)", value=raw,
                      allowed="e.g. {method: lora} or {method: [lora, dora]}")
    lines: Mapping[Any, int] = getattr(raw, "lines", {})
    out = []
    for parent, values in raw.items():
        line = lines.get(parent, f.line("when"))
        key = f"when.{parent}"
        if parent not in earlier:
            if parent in later:
                reason = f"condition on dimension {parent!r}, which is declared later"
            else:
                reason = f"condition on a dimension that does not exist: {parent!r}"
            raise f.error(key, reason, value=parent,
                          allowed=f"an earlier categorical dimension: {', '.join(earlier) or 'none'}", line=line)
        dim = earlier[parent]
        if dim.type not in _PARENT_TYPES:
            raise f.error(key, f"a condition's dimension must be categorical or constant, {parent!r} is {dim.type}",
                          value=parent, allowed="categorical or constant dimensions", line=line)
        options = list(getattr(dim, "choices", ())) or [dim.default_value()]
        wanted = values if isinstance(values, list) else [values]
        if not wanted:
            raise f.error(key, "a condition needs at least one value", value=values, allowed=show(options), line=line)
        for value in wanted:
            if not any(same(value, o) for o in options):
                raise f.error(key, f"{parent!r} never takes this value", value=value, allowed=show(options),
                              line=line)
        out.append(Condition(str(parent), tuple(wanted), line))
    return tuple(out)


def _parse_dimension(item: Any, index: int, source: str, earlier: Mapping[str, DimensionSpec],
                     later: Sequence[str], line: int) -> DimensionSpec:
    path = f"dimensions[{index}]"
    if not isinstance(item, Mapping):
        raise SpaceError("a dimension must be a mapping with name and type", file=source, line=line, field=path,
                         value=item, allowed="{name: ..., type: " + "|".join(DIMENSION_TYPES) + ", ...}")
    f = Fields(item, source, path)
    if "type" not in item:
        raise f.error("type", "missing required field 'type'", allowed=", ".join(DIMENSION_TYPES))
    kind = item["type"]
    if not isinstance(kind, str) or kind not in DIMENSION_TYPES:
        raise f.error("type", "unknown dimension type", value=kind, allowed=", ".join(DIMENSION_TYPES))
    cls = DIMENSION_TYPES[kind]
    f.check_keys(cls.FIELDS, required=("name",), what=f" for type {kind!r}")
    name = item["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise f.error("name", "bad dimension name", value=name,
                      allowed="identifiers joined by '.', e.g. method, learning_rate, lora.r")
    if name in earlier:
        raise f.error("name", f"duplicate dimension name (first at line {earlier[name].line})", value=name,
                      allowed="unique dimension names")
    description = f.string("description")
    common = {"name": name, "when": _parse_when(f, earlier, later), "description": description,
              "line": f.line(), "field_lines": _field_lines(item)}
    f = Fields(item, source, name)  # from here on, fields are named after the dimension
    return cls.parse(f, common)


def parse_space(text: str, source: str = "<space>") -> SpaceSpec:
    """Parse a space from YAML ``text``; ``source`` names the file in errors."""
    data = load_yaml(text, source)
    if not isinstance(data, Mapping):
        raise SpaceError("a space file must be a mapping with 'name' and 'dimensions'", file=source, line=1,
                         value=data if data is None or isinstance(data, (str, int, float, list)) else type(data),
                         allowed="name: ..., dimensions: [...]")
    top = Fields(data, source)
    top.check_keys(_TOP_FIELDS, required=("name", "dimensions"), what=" at the top level")
    name = top.string("name", required=True) or ""
    description = top.string("description")
    raw = data["dimensions"]
    if not isinstance(raw, list):
        raise top.error("dimensions", "must be a list of dimensions", value=raw, allowed="a non-empty list")
    if not raw:
        raise top.error("dimensions", "the space is empty: it has no dimensions", value=raw,
                        allowed="at least one dimension")
    later = [item["name"] for item in raw if isinstance(item, Mapping) and isinstance(item.get("name"), str)]
    dims: dict[str, DimensionSpec] = {}
    for i, item in enumerate(raw):
        dim = _parse_dimension(item, i, source, dims, later, top.item_line("dimensions", i))
        dims[dim.name] = dim
    references = parse_references(top, source)
    return SpaceSpec(source, name, tuple(dims.values()), description, references, text)


def load_space(path: str | Path) -> SpaceSpec:
    """Read and parse a space file; a missing or unreadable file is a :class:`SpaceError` too."""
    file = Path(path)
    if not file.is_file():
        raise SpaceError("no such space file", file=str(path), value=str(path),
                         allowed="a YAML file, e.g. spaces/minilm-layers.yaml (see `autopeft spaces list`)")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"cannot read the file: {exc}", file=str(path)) from None
    return parse_space(text, str(path))
