"""``integer`` and ``float`` dimensions: a ``[low, high]`` range, optionally in log space."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from autopeft.errors import ConfigError
from autopeft.space.dimensions.base import COMMON, DimensionSpec
from autopeft.space.yaml_fields import Fields, is_number

_INT64_MAX = 2**63 - 1


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
    FIELDS: ClassVar[tuple[str, ...]] = (*COMMON, "low", "high", "step", "log", "default")
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
    FIELDS: ClassVar[tuple[str, ...]] = (*COMMON, "low", "high", "log", "default")
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
