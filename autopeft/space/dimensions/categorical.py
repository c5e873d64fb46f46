"""``categorical`` and ``constant`` dimensions, and the choice parsing ``per_layer`` shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from autopeft.space.dimensions.base import COMMON, DimensionSpec, Scalar, same, show
from autopeft.space.yaml_fields import Fields, is_number


def parse_choices(f: Fields, key: str = "choices") -> tuple[Scalar, ...]:
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


def parse_choice_default(f: Fields, choices: tuple[Scalar, ...]) -> Scalar | None:
    if "default" not in f.data:
        return None
    value = f.data["default"]
    match = [c for c in choices if same(c, value)]
    if not match:
        raise f.error("default", "default is not one of the choices", value=value, allowed=show(choices))
    return match[0]


def one_hot(value: Any, choices: tuple[Scalar, ...]) -> list[float]:
    return [1.0 if same(value, c) else 0.0 for c in choices]


@dataclass(frozen=True, kw_only=True)
class CategoricalSpec(DimensionSpec):
    """``type: categorical`` — one of ``choices`` (one-hot encoded)."""

    TYPE: ClassVar[str] = "categorical"
    FIELDS: ClassVar[tuple[str, ...]] = (*COMMON, "choices", "default")
    choices: tuple[Scalar, ...]
    default: Scalar | None = None

    @classmethod
    def parse(cls, f: Fields, common: dict[str, Any]) -> DimensionSpec:
        choices = parse_choices(f)
        return cls(**common, choices=choices, default=parse_choice_default(f, choices))

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
        return one_hot(value, self.choices)

    def decode_value(self, features: np.ndarray) -> Any:
        return self.choices[int(np.argmax(features))]


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, (list, tuple)) else value


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


@dataclass(frozen=True, kw_only=True)
class ConstantSpec(DimensionSpec):
    """``type: constant`` — always ``value`` (a scalar, null or a list); it has no features."""

    TYPE: ClassVar[str] = "constant"
    FIELDS: ClassVar[tuple[str, ...]] = (*COMMON, "value")
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
