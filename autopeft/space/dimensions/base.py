"""What every dimension type shares: its common fields, conditions (``when:``) and value equality."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from autopeft.errors import ConfigError
from autopeft.space.yaml_fields import Fields

#: Values a categorical or per-layer choice may take.
Scalar = str | int | float | bool
COMMON = ("name", "type", "when", "description")


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
    FIELDS: ClassVar[tuple[str, ...]] = COMMON
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
