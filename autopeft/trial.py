"""Records: what one trial produced, an immutable record, complete or failed, that a journal can store as JSON;
and the two ways every layer names a configuration, :func:`config_key` (canonical, for equality) and
:func:`describe` (short, for people).

A trial is one configuration at one fidelity with one seed. The runner returns a
:class:`TrialResult` whether training worked or not: a failure is data (``status="failed"`` and
``error``), never an exception that takes a search down.

>>> r = TrialResult(config={"method": "ia3"}, fidelity=Fidelity(steps=10), seed=0, status="failed",
...                 error="loss became NaN at step 3")
>>> TrialResult.from_dict(r.to_dict()) == r
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from autopeft.errors import TrialError

__all__ = ["STATUSES", "Fidelity", "TrialResult", "config_key", "describe", "jsonable"]

STATUSES = ("complete", "failed", "pruned")  # pruned: stopped early (search.prune)


@dataclass(frozen=True)
class Fidelity:
    """How much a trial trains: optimiser ``steps`` on the first ``train_fraction`` of the training split."""

    steps: int
    train_fraction: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise TrialError(f"fidelity steps must be an integer >= 1, got {self.steps!r}")
        frac = self.train_fraction
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac <= 1:
            raise TrialError(f"fidelity train_fraction must be a number in (0, 1], got {frac!r}")
        object.__setattr__(self, "train_fraction", float(frac))

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "train_fraction": self.train_fraction}


@dataclass(frozen=True)
class TrialResult:
    """One trial's outcome. ``metrics`` are on the validation split; ``test_metrics`` only when asked for."""

    config: Mapping[str, Any]
    fidelity: Fidelity
    seed: int
    status: str
    error: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    test_metrics: Mapping[str, float] | None = None
    trainable_params: int | None = None
    total_params: int | None = None
    steps: int = 0
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    peak_memory_mb: float | None = None
    device: str = "cpu"
    #: (step, training loss) every few steps
    loss_curve: tuple[tuple[int, float], ...] = ()
    #: (fraction of the trial's steps, validation score) at 25 / 50 / 100 %; the points before the end are on
    #: ``training.partial_examples`` examples of the split, the end on all of it
    eval_curve: tuple[tuple[float, float], ...] = ()
    reliability: Mapping[str, Any] | None = None
    #: split name ("validation", and "test" when scored) -> confusion matrix of a classification task: row i,
    #: column j counts the examples of class i predicted as class j (classes in the task's label order)
    confusion: Mapping[str, tuple[tuple[int, ...], ...]] | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise TrialError(f"trial status {self.status!r} is not one of {', '.join(STATUSES)}")
        if self.status in ("failed", "pruned") and not self.error:
            raise TrialError("a failed trial needs its error text")

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN and infinities become strings)."""
        data = asdict(self)
        data["fidelity"] = self.fidelity.to_dict()
        data["loss_curve"] = [list(p) for p in self.loss_curve]
        data["eval_curve"] = [list(p) for p in self.eval_curve]
        return jsonable(data)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialResult:
        values = dict(data)
        values["fidelity"] = Fidelity(**values["fidelity"])
        values["metrics"] = _floats(values.get("metrics") or {})
        if values.get("test_metrics") is not None:
            values["test_metrics"] = _floats(values["test_metrics"])
        values["loss_curve"] = tuple((int(s), float(v)) for s, v in values.get("loss_curve", ()))
        values["eval_curve"] = tuple((float(f), float(v)) for f, v in values.get("eval_curve", ()))
        if values.get("confusion") is not None:
            values["confusion"] = {split: tuple(tuple(int(c) for c in row) for row in matrix)
                                   for split, matrix in values["confusion"].items()}
        return cls(**values)


def _floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: mappings and sequences recursively, NaN / infinities as strings,
    numpy scalars as Python numbers, anything else as its ``str``."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):
        return jsonable(value.item())
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (bool, int, float, str)):  # numpy scalars
        return value.item()
    return value


def config_key(config: Mapping[str, Any]) -> str:
    """Canonical JSON of a configuration (keys sorted at every level, per-layer dicts included).

    Two configurations are the same trial exactly when their keys are equal, so this is what
    de-duplication compares. ``True`` and ``1`` stay different, as they are different choices in a space.

    >>> config_key({"m": "lora", "r": {"encoder.1": 4, "encoder.0": 2}})
    '{"m":"lora","r":{"encoder.0":2,"encoder.1":4}}'
    """
    return json.dumps(_plain(config), sort_keys=True, separators=(",", ":"))


def describe(config: Mapping[str, Any], width: int = 70) -> str:
    """A short one-line summary of a configuration (per-layer dicts shown as their values).

    >>> describe({"method": "lora", "lora.r": 8, "lora.learning_rate": 0.00512})
    'lora r=8 learning_rate=0.00512'
    """
    parts: list[str] = []
    for key, value in config.items():
        if key == "method":
            parts.insert(0, str(value))
            continue
        short = key.split(".", 1)[-1]
        if isinstance(value, Mapping):
            value = "/".join(str(v) for v in value.values())
        elif isinstance(value, float):
            value = f"{value:.3g}"
        parts.append(f"{short}={value}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"
