"""Reference points with a fair learning rate: each one is trained at a small sweep of learning rates.

A reference point (peft's default LoRA, attention-only LoRA, full fine-tuning, ...) trained at a single
learning rate that does not suit the recipe's fidelity learns nothing, and "the search beat it" then says
nothing. So a search trains each reference at ``search.reference_lr_factors`` times its method's default
learning rate (default ``[1, 4, 16]``), counted in the budget, and what the search is compared with is
each reference's *tuned* point: the best of its sweep on the validation score.

Origins name the reference and, when swept, the learning rate: ``reference:peft_default_lora@lr=0.002``.

>>> reference_origin("attention_only", 0.002)
'reference:attention_only@lr=0.002'
>>> parse_reference_origin("reference:attention_only@lr=0.002")
('attention_only', 0.002)
>>> parse_reference_origin("bo") is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from autopeft.objectives import Objective

__all__ = ["REFERENCE", "parse_reference_origin", "reference_origin", "sweep_references", "tuned_references"]

REFERENCE = "reference:"
_LR = "@lr="


class _Trial(Protocol):
    @property
    def origin(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def values(self) -> dict[str, float]: ...


def reference_origin(name: str, learning_rate: float | None = None) -> str:
    """The origin of a reference trial: ``reference:NAME`` or ``reference:NAME@lr=LR``."""
    return f"{REFERENCE}{name}" if learning_rate is None else f"{REFERENCE}{name}{_LR}{learning_rate:g}"


def parse_reference_origin(origin: str) -> tuple[str, float | None] | None:
    """``(name, learning rate or None)`` of a reference origin; ``None`` for any other origin."""
    if not origin.startswith(REFERENCE):
        return None
    rest = origin[len(REFERENCE):]
    name, sep, lr = rest.partition(_LR)
    if not sep:
        return name, None
    try:
        return name, float(lr)
    except ValueError:
        return rest, None


def sweep_references(references: Mapping[str, Mapping[str, Any]], factors: Sequence[float],
                     default_lr: Callable[[str], float]) -> dict[str, dict[str, Any]]:
    """Each reference at every ``factor`` x its method's default learning rate, keyed by the name after
    ``reference:`` in its origin. A reference whose config sets ``learning_rate`` keeps it (not swept);
    ``factors == [1]`` keeps every reference as it is."""
    out: dict[str, dict[str, Any]] = {}
    for name, config in references.items():
        fixed = "learning_rate" in config or f"{config.get('method')}.learning_rate" in config
        if list(factors) == [1] or fixed:
            out[name] = dict(config)
            continue
        base = default_lr(str(config["method"]))
        for factor in factors:
            lr = float(f"{base * factor:.3g}")
            out[reference_origin(name, lr)[len(REFERENCE):]] = {**config, "learning_rate": lr}
    return out


def tuned_references(trials: Iterable[_Trial], objective: Objective) -> dict[str, Any]:
    """Per reference name, its best complete trial on ``objective`` (the sweep's winner), in first-seen order."""
    sign = 1.0 if objective.direction == "max" else -1.0
    best: dict[str, Any] = {}
    for trial in trials:
        parsed = parse_reference_origin(trial.origin)
        if parsed is None:
            continue
        name = parsed[0]
        value = trial.values.get(objective.name) if trial.state == "complete" else None
        if value is None:
            best.setdefault(name, None)
            continue
        current = best.get(name)
        if current is None or sign * value > sign * current.values[objective.name]:
            best[name] = trial
    return {name: t for name, t in best.items() if t is not None}
