"""``search.scheduler`` of a recipe: the rungs of a multi-fidelity (ASHA) search, checked when the recipe is
read (the scheduler itself is :mod:`autopeft.study.asha`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from autopeft.errors import ConfigError
from autopeft.trial import Fidelity

__all__ = ["AshaConfig", "top_steps"]

SCHEDULER_FIELDS = ("type", "min_steps", "max_steps", "eta")


@dataclass(frozen=True)
class AshaConfig:
    """``search.scheduler`` of a recipe; checks itself (each problem names the field and what is allowed)."""

    min_steps: int
    max_steps: int
    eta: int = 3
    type: str = "asha"

    def __post_init__(self) -> None:
        where = "search.scheduler"
        if self.type != "asha":
            raise ConfigError(f"{where}.type: {self.type!r} is not a scheduler; allowed: asha")
        for name in ("min_steps", "max_steps", "eta"):
            value = getattr(self, name)
            low = 2 if name == "eta" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{where}.{name} must be an integer >= {low}, got {value!r}")
        if self.max_steps <= self.min_steps:
            raise ConfigError(f"{where}: max_steps ({self.max_steps}) must be above min_steps ({self.min_steps}); "
                              f"allowed: e.g. {{min_steps: 20, max_steps: 60, eta: 3}}")

    @classmethod
    def from_mapping(cls, raw: Any, default_max: int) -> AshaConfig:
        """From a recipe's mapping; ``max_steps`` defaults to the recipe's ``fidelity.steps``."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"search.scheduler must be a mapping, got {raw!r}; allowed: "
                              f"{{type: asha, min_steps: N, max_steps: M, eta: 3}}")
        unknown = sorted(set(raw) - set(SCHEDULER_FIELDS))
        if unknown:
            raise ConfigError(f"search.scheduler: unknown field {unknown[0]!r}; allowed: {', '.join(SCHEDULER_FIELDS)}")
        if raw.get("type", "asha") != "asha":
            raise ConfigError(f"search.scheduler.type: {raw['type']!r} is not a scheduler; allowed: asha")
        if "min_steps" not in raw:
            raise ConfigError("search.scheduler.min_steps is missing; allowed: the bottom rung's training steps, "
                              "e.g. a third of max_steps")
        return cls(type=raw.get("type", "asha"), min_steps=raw["min_steps"],
                   max_steps=raw.get("max_steps", default_max), eta=raw.get("eta", 3))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "min_steps": self.min_steps, "max_steps": self.max_steps, "eta": self.eta}

    def rungs(self, train_fraction: float = 1.0) -> list[Fidelity]:
        """The rungs' fidelities, bottom first (see the module docstring)."""
        steps, out = self.min_steps, []
        while steps < self.max_steps:
            out.append(steps)
            steps *= self.eta
        return [Fidelity(steps=s, train_fraction=train_fraction) for s in [*out, self.max_steps]]

    def cost(self, steps: int) -> float:
        """A trial of ``steps`` in top-rung trials (training time grows with the steps; scoring is fixed)."""
        return steps / self.max_steps


def top_steps(recipe: Mapping[str, Any]) -> int | None:
    """The top rung's steps of a journaled recipe with a scheduler; ``None`` for a single-fidelity search."""
    scheduler = (recipe.get("search") or {}).get("scheduler")
    return int(scheduler["max_steps"]) if scheduler else None
