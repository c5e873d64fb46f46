"""Dimension types of a search space: what each ``type:`` in a space file means.

Each type is a frozen dataclass registered in :data:`DIMENSION_TYPES`. It parses its own YAML fields
(:meth:`DimensionSpec.parse`, line-numbered :class:`SpaceError`) and knows how to give a default,
sample, check, encode, decode and step one value. Layout-free types are used as they are; a
``per_layer`` dimension is bound to its block ids first (:meth:`PerLayerSpec.bind`).

>>> dim = IntegerSpec(name="tokens", low=5, high=50, step=5)
>>> dim.default_value(), dim.check(10.0), dim.moves(50)
(30, 10, [45])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from autopeft.errors import ConfigError, SelectorError
from autopeft.space.selectors import Selector, parse_selector
from autopeft.space.yaml_fields import Fields, is_number

#: Values a categorical or per-layer choice may take.
Scalar = str | int | float | bool
_COMMON = ("name", "type", "when", "description")
_INT64_MAX = 2**63 - 1


def same(a: object, b: object) -> bool:
    """Value equality where a bool only equals a bool (YAML ``true`` is not the choice ``1``)."""
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_)) and bool(a) == bool(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (list, tuple, dict)) or isinstance(b, (list, tuple, dict)):
        return False
    return bool(a == b)


def show(values: Any) -> str:
    """``'a', 'b', 3`` — values as they appear in messages."""
    return ", ".join(repr(v) for v in values)


@dataclass(frozen=True)
class Condition:
    """``when: {parent: values}``: holds when the parent is active and its value is one of ``values``."""

    parent: str
    values: tuple[Any, ...]
    line: int = 0

    def holds(self, value: object) -> bool:
        """Whether ``value`` (the parent's value) satisfies this condition."""
        return any(same(value, v) for v in self.values)

    def __str__(self) -> str:
        return f"{self.parent} in [{show(self.values)}]"


@dataclass(frozen=True, kw_only=True)
class DimensionSpec:
    """One dimension as declared: its name, conditions and where it was written (``line``)."""

    TYPE: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[str, ...]] = _COMMON
    name: str
    when: tuple[Condition, ...] = ()
    description: str | None = None
    line: int = 0
    field_lines: tuple[tuple[str, int], ...] = ()

    @property
    def type(self) -> str:
        """The ``type:`` this dimension was declared with."""
        return self.TYPE

    def field_line(self, field: str) -> int:
        """Line of ``field`` (``"low"``, ``"layers[1]"``, ``"when.method"``); falls back to the parent field."""
        lines = dict(self.field_lines)
        while field not in lines:
            cut = max(field.rfind("["), field.rfind("."))
            if cut <= 0:
                return self.line
            field = field[:cut]
        return lines[field]

    @classmethod
    def parse(cls, f: Fields, common: dict[str, Any]) -> DimensionSpec:
        """Build this type from its YAML fields; ``common`` holds the already parsed shared fields."""
        raise NotImplementedError

    # Runtime behaviour, one value of this dimension at a time.
    def default_value(self) -> Any:
        """The value used when none is given."""
        raise NotImplementedError

    def sample_value(self, rng: np.random.Generator) -> Any:
        """One value drawn uniformly (log-uniformly for ``log`` ranges)."""
        raise NotImplementedError

    def check(self, value: Any) -> Any:
        """The normalised ``value``; :class:`ConfigError` if the dimension cannot take it."""
        raise NotImplementedError

    def count(self) -> int | float:
        """Number of distinct values (``inf`` for a float range)."""
        raise NotImplementedError

    def moves(self, value: Any) -> list[Any]:
        """One-step neighbours of ``value``, never ``value`` itself."""
        raise NotImplementedError

    def feature_names(self) -> list[str]:
        """Names of this dimension's encoded columns."""
        return []

    def feature_kinds(self) -> list[str]:
        """``"onehot"``, ``"numeric"`` or ``"ordinal"`` for each column."""
        return []

    def encode_value(self, value: Any) -> list[float]:
        """Features of a checked value."""
        return []

    def decode_value(self, features: np.ndarray) -> Any:
        """The value nearest to ``features``."""
        raise NotImplementedError

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is one this dimension can take."""
        try:
            self.check(value)
        except ConfigError:
            return False
        return True

    def _bad(self, value: Any, reason: str, allowed: str) -> ConfigError:
        return ConfigError(f"config key {self.name!r}: {reason} (got {value!r}); allowed: {allowed}")


def _parse_choices(f: Fields, key: str = "choices") -> tuple[Scalar, ...]:
    if key not in f.data:
        raise f.error(key, f"missing required field {key!r}", allowed="a non-empty list of scalars")
    raw = f.data[key]
    if not isinstance(raw, list) or not raw:
        raise f.error(key, "must be a non-empty list", value=raw, allowed="a non-empty list of scalars")
    for i, item in enumerate(raw):
        if not isinstance(item, (str, bool)) and not is_number(item):
            raise f.error(f"{key}[{i}]", "a choice must be a scalar", value=item,
                          allowed="strings, integers, finite floats, booleans", line=f.item_line(key, i))
        first = next(j for j, other in enumerate(raw) if same(item, other))
        if first != i:
            raise f.error(f"{key}[{i}]", f"duplicate choice (first at line {f.item_line(key, first)})",
                          value=item, allowed="unique choices", line=f.item_line(key, i))
    return tuple(raw)


def _parse_choice_default(f: Fields, choices: tuple[Scalar, ...]) -> Scalar | None:
    if "default" not in f.data:
        return None
    value = f.data["default"]
    match = [c for c in choices if same(c, value)]
    if not match:
        raise f.error("default", "default is not one of the choices", value=value, allowed=show(choices))
    return match[0]


def _one_hot(value: Any, choices: tuple[Scalar, ...]) -> list[float]:
    return [1.0 if same(value, c) else 0.0 for c in choices]


@dataclass(frozen=True, kw_only=True)
class CategoricalSpec(DimensionSpec):
    """``type: categorical`` — one of ``choices`` (one-hot encoded)."""

    TYPE: ClassVar[str] = "categorical"
    FIELDS: ClassVar[tuple[str, ...]] = (*_COMMON, "choices", "default")
    choices: tuple[Scalar, ...]
    default: Scalar | None = None

    @classmethod
    def parse(cls, f: Fields, common: dict[str, Any]) -> DimensionSpec:
        choices = _parse_choices(f)
        return cls(**common, choices=choices, default=_parse_choice_default(f, choices))

    def default_value(self) -> Any:
        return self.choices[0] if self.default is None else self.default

    def sample_value(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def check(self, value: Any) -> Any:
        for choice in self.choices:
            if same(value, choice):
                return choice
        raise self._bad(value, "not one of the choices", show(self.choices))

    def count(self) -> int:
        return len(self.choices)

    def moves(self, value: Any) -> list[Any]:
        return [c for c in self.choices if not same(c, value)]

    def feature_names(self) -> list[str]:
        return [f"{self.name}={c}" for c in self.choices]

    def feature_kinds(self) -> list[str]:
        return ["onehot"] * len(self.choices)

    def encode_value(self, value: Any) -> list[float]:
        return _one_hot(value, self.choices)

    def decode_value(self, features: np.ndarray) -> Any:
        return self.choices[int(np.argmax(features))]


@dataclass(frozen=True, kw_only=True)
class _RangeSpec(DimensionSpec):
    """Shared by ``integer`` and ``float``: a ``[low, high]`` range, optionally in log space."""

    low: float
    high: float
    log: bool = False

    @classmethod
    def _parse_range(cls, f: Fields, integer: bool) -> dict[str, Any]:
        low, high = f.number("low", integer=integer), f.number("high", integer=integer)
        if low > high:
            raise f.error("high", f"high must be >= low ({low})", value=high, allowed=f"a number >= {low}")
        log = f.flag("log")
        if log and low <= 0:
            raise f.error("low", "log: true requires low > 0", value=low, allowed="a number > 0")
        return {"low": low, "high": high, "log": log}

    def _to_unit(self, value: float) -> float:
        if self.low == self.high:
            return 0.0
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        if self._too_wide():  # high - low overflows to inf; halves do not
            return (value / 2 - self.low / 2) / (self.high / 2 - self.low / 2)
        return (value - self.low) / (self.high - self.low)

    def _from_unit(self, unit: float) -> float:
        unit = min(max(float(unit), 0.0), 1.0)
        if self.log:
            value = math.exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        elif self._too_wide():
            value = self.low * (1 - unit) + self.high * unit
        else:
            value = self.low + unit * (self.high - self.low)
        return min(max(value, self.low), self.high)

    def _too_wide(self) -> bool:
        span = self.high - self.low
        return isinstance(span, float) and math.isinf(span)

    def _midpoint(self) -> float:
        if self.log:
            return min(max(math.exp((math.log(self.low) + math.log(self.high)) / 2), self.low), self.high)
        return self.low / 2 + self.high / 2

    def feature_names(self) -> list[str]:
        return [self.name]

    def feature_kinds(self) -> list[str]:
        return ["numeric"]

    def encode_value(self, value: Any) -> list[float]:
        return [self._to_unit(value)]

    def _range(self) -> str:
        return f"[{self.low}, {self.high}]" + (" (log scale)" if self.log else "")


@dataclass(frozen=True, kw_only=True)
class IntegerSpec(_RangeSpec):
    """``type: integer`` — ``low, low+step, ..., high``; ``log`` samples log-uniformly (step 1)."""

    TYPE: ClassVar[str] = "integer"
    FIELDS: ClassVar[tuple[str, ...]] = (*_COMMON, "low", "high", "step", "log", "default")
    low: int
    high: int
    step: int = 1
    default: int | None = None

    @classmethod
    def parse(cls, f: Fields, common: dict[str, Any]) -> DimensionSpec:
        bounds = cls._parse_range(f, integer=True)
        step = 1
        if "step" in f.data:
            if bounds["log"]:
                raise f.error("step", "step is not allowed with log: true", value=f.data["step"],
                              allowed="no step (log ranges use every integer)")
            step = int(f.number("step", integer=True))
            if step <= 0:
                raise f.error("step", "step must be positive", value=step, allowed="an integer >= 1")
        if (bounds["high"] - bounds["low"]) % step:
            raise f.error("high", f"high - low must be a multiple of step ({step})", value=bounds["high"],
                          allowed=f"low + k * {step}")
        spec = cls(**common, **bounds, step=step)
        if "default" in f.data:
            try:
                return replace(spec, default=spec.check(f.data["default"]))
            except ConfigError:
                raise f.error("default", "default is outside the range or off the step grid",
                              value=f.data["default"], allowed=spec._grid()) from None
        return spec

    def _grid(self) -> str:
        return f"integers in {self._range()}" + (f" with step {self.step}" if self.step != 1 else "")

    def _snap(self, value: float) -> int:
        k = math.floor((value - self.low) / self.step + 0.5)
        return min(max(self.low + k * self.step, self.low), self.high)

    def default_value(self) -> Any:
        return self._snap(self._midpoint()) if self.default is None else self.default

    def sample_value(self, rng: np.random.Generator) -> Any:
        if self.log:  # widen by half a unit so that the end points get their fair share after rounding
            x = math.exp(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5)))
            return self._snap(x)
        n = self.count()
        if n > _INT64_MAX:  # beyond numpy's integers(); a float draw is uniform enough at this size
            return self.low + self.step * min(int(rng.uniform(0.0, float(n))), n - 1)
        return self.low + self.step * int(rng.integers(n))

    def check(self, value: Any) -> Any:
        if not is_number(value) or not (isinstance(value, numbers.Integral) or float(value).is_integer()):
            raise self._bad(value, "not an integer", self._grid())
        number = int(value)
        if not self.low <= number <= self.high or (number - self.low) % self.step:
            raise self._bad(value, "outside the range or off the step grid", self._grid())
        return number

    def count(self) -> int:
        return (self.high - self.low) // self.step + 1

    def moves(self, value: Any) -> list[Any]:
        if self.log:  # a step on a 20-point log grid, at least one unit
            ratio = (self.high / self.low) ** (1 / 20)
            up, down = max(value + 1, round(value * ratio)), min(value - 1, round(value / ratio))
        else:
            up, down = value + self.step, value - self.step
        return [v for v in (down, up) if self.low <= v <= self.high]

    def decode_value(self, features: np.ndarray) -> Any:
        return self._snap(self._from_unit(features[0]))


@dataclass(frozen=True, kw_only=True)
class FloatSpec(_RangeSpec):
    """``type: float`` — a real number in ``[low, high]`` (log-uniform when ``log``)."""

    TYPE: ClassVar[str] = "float"
    FIELDS: ClassVar[tuple[str, ...]] = (*_COMMON, "low", "high", "log", "default")
    default: float | None = None

    @classmethod
    def parse(cls, f: Fields, common: dict[str, Any]) -> DimensionSpec:
        spec = cls(**common, **cls._parse_range(f, integer=False))
        if "default" in f.data:
            try:
                return replace(spec, default=spec.check(f.data["default"]))
            except ConfigError:
                raise f.error("default", "default is outside the range", value=f.data["default"],
                              allowed=f"a number in {spec._range()}") from None
        return spec

    def default_value(self) -> Any:
        return self._midpoint() if self.default is None else self.default

    def sample_value(self, rng: np.random.Generator) -> Any:
        return self._from_unit(rng.uniform(0.0, 1.0))

    def check(self, value: Any) -> Any:
        if not is_number(value):
            raise self._bad(value, "not a finite number", f"a number in {self._range()}")
        if not self.low <= value <= self.high:  # compared before float(), which overflows for huge ints
            raise self._bad(value, "outside the range", f"a number in {self._range()}")
        return float(value)

    def count(self) -> int | float:
        return 1 if self.low == self.high else math.inf

    def moves(self, value: Any) -> list[Any]:
        unit = self._to_unit(value)
        out = [self._from_unit(unit + delta) for delta in (-0.1, 0.1)]
        return [v for i, v in enumerate(out) if v != value and v not in out[:i]]

    def decode_value(self, features: np.ndarray) -> Any:
        return self._from_unit(features[0])


@dataclass(frozen=True, kw_only=True)
class PerLayerSpec(DimensionSpec):
    """``type: per_layer`` — every block named by ``layers`` gets its own value from ``choices``.

    Numeric choices are ordinal (one feature per block: rank in ascending order / (k - 1); moves go to
    the adjacent values); any other choices are one-hot per block. ``blocks`` is empty until
    :meth:`bind`.
    """

    TYPE: ClassVar[str] = "per_layer"
    FIELDS: ClassVar[tuple[str, ...]] = (*_COMMON, "layers", "choices", "default")
    layers: tuple[Selector, ...]
    choices: tuple[Scalar, ...]
    default: Scalar | None = None
    blocks: tuple[str, ...] = ()

    @classmethod
    def parse(cls, f: Fields, common: dict[str, Any]) -> DimensionSpec:
        raw = f.get("layers")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts:
            raise f.error("layers", "must be a selector string or a non-empty list of them", value=raw,
                          allowed="e.g. encoder.blocks[:] or [encoder.blocks[1/2:], decoder]")
        layers = []
        for i, text in enumerate(texts):
            key = "layers" if isinstance(raw, str) else f"layers[{i}]"
            line = f.line("layers") if isinstance(raw, str) else f.item_line("layers", i)
            try:
                layers.append(parse_selector(text))
            except SelectorError as exc:
                raise f.error(key, getattr(exc, "reason", str(exc)), value=text,
                              allowed=getattr(exc, "allowed", None), line=line) from None
        choices = _parse_choices(f)
        return cls(**common, layers=tuple(layers), choices=choices, default=_parse_choice_default(f, choices))

    def bind(self, blocks: tuple[str, ...]) -> PerLayerSpec:
        """A copy covering exactly ``blocks`` (block ids such as ``"encoder.3"``)."""
        return replace(self, blocks=tuple(blocks))

    @property
    def ordinal(self) -> bool:
        """True when every choice is a number, so values have an order."""
        return all(is_number(c) for c in self.choices)

    @property
    def _order(self) -> tuple[Scalar, ...]:
        return tuple(sorted(self.choices, key=float)) if self.ordinal else self.choices

    def default_value(self) -> Any:
        value = self.choices[0] if self.default is None else self.default
        return dict.fromkeys(self.blocks, value)

    def sample_value(self, rng: np.random.Generator) -> Any:
        picks = rng.integers(len(self.choices), size=len(self.blocks))
        return {block: self.choices[int(i)] for block, i in zip(self.blocks, picks, strict=True)}

    def check(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise self._bad(value, "a per-layer value must be a mapping of block id to choice",
                            f"keys {show(self.blocks)}")
        missing = [b for b in self.blocks if b not in value]
        extra = [b for b in value if b not in self.blocks]
        if missing or extra:
            what = f"missing blocks {show(missing)}" if missing else f"unknown blocks {show(extra)}"
            raise self._bad(value, what, f"exactly the blocks {show(self.blocks)}")
        out = {}
        for block in self.blocks:
            match = [c for c in self.choices if same(c, value[block])]
            if not match:
                raise ConfigError(f"config key {self.name!r}: block {block!r}: not one of the choices "
                                  f"(got {value[block]!r}); allowed: {show(self.choices)}")
            out[block] = match[0]
        return out

    def count(self) -> int:
        return int(len(self.choices) ** len(self.blocks))

    def moves(self, value: Any) -> list[Any]:
        order, out = self._order, list[Any]()
        for block in self.blocks:
            rank = next(i for i, c in enumerate(order) if same(c, value[block]))
            if self.ordinal:
                options = [order[i] for i in (rank - 1, rank + 1) if 0 <= i < len(order)]
            else:
                options = [c for i, c in enumerate(order) if i != rank]
            out.extend({**value, block: option} for option in options)
        return out

    def feature_names(self) -> list[str]:
        if self.ordinal:
            return [f"{self.name}[{b}]" for b in self.blocks]
        return [f"{self.name}[{b}]={c}" for b in self.blocks for c in self.choices]

    def feature_kinds(self) -> list[str]:
        return ["ordinal" if self.ordinal else "onehot"] * len(self.feature_names())

    def encode_value(self, value: Any) -> list[float]:
        if not self.ordinal:
            return [x for block in self.blocks for x in _one_hot(value[block], self.choices)]
        order, top = self._order, max(len(self.choices) - 1, 1)
        return [next(i for i, c in enumerate(order) if same(c, value[b])) / top for b in self.blocks]

    def decode_value(self, features: np.ndarray) -> Any:
        k = len(self.choices)
        if not self.ordinal:
            rows = np.asarray(features).reshape(len(self.blocks), k)
            return {b: self.choices[int(np.argmax(row))] for b, row in zip(self.blocks, rows, strict=True)}
        ranks = np.clip(np.floor(np.asarray(features) * (k - 1) + 0.5), 0, k - 1).astype(int)
        return {b: self._order[int(r)] for b, r in zip(self.blocks, ranks, strict=True)}


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, (list, tuple)) else value


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


@dataclass(frozen=True, kw_only=True)
class ConstantSpec(DimensionSpec):
    """``type: constant`` — always ``value`` (a scalar, null or a list); it has no features."""

    TYPE: ClassVar[str] = "constant"
    FIELDS: ClassVar[tuple[str, ...]] = (*_COMMON, "value")
    value: Any

    @classmethod
    def parse(cls, f: Fields, common: dict[str, Any]) -> DimensionSpec:
        if "value" not in f.data:
            raise f.error("value", "missing required field 'value'", allowed="a scalar or a list")

        def plain(v: Any) -> bool:
            return v is None or isinstance(v, (str, bool)) or is_number(v) or (
                isinstance(v, list) and all(plain(x) for x in v))

        if not plain(f.data["value"]):
            raise f.error("value", "must be a scalar, null or a list of them", value=f.data["value"],
                          allowed="strings, numbers, booleans, null, lists")
        return cls(**common, value=_freeze(f.data["value"]))

    def default_value(self) -> Any:
        return _thaw(self.value)

    def sample_value(self, rng: np.random.Generator) -> Any:
        return _thaw(self.value)

    def check(self, value: Any) -> Any:
        if not same(value, self.value):
            raise self._bad(value, "a constant takes only its value", repr(_thaw(self.value)))
        return _thaw(self.value)

    def count(self) -> int:
        return 1

    def moves(self, value: Any) -> list[Any]:
        return []

    def decode_value(self, features: np.ndarray) -> Any:
        return _thaw(self.value)


#: ``type:`` name -> dimension class. Adding a type is one class and one line here.
DIMENSION_TYPES: dict[str, type[DimensionSpec]] = {
    cls.TYPE: cls for cls in (CategoricalSpec, IntegerSpec, FloatSpec, PerLayerSpec, ConstantSpec)
}
