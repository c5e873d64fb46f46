"""Built-in reference points a space or recipe can add to any search, so users see what the
search beat. Each is defined relative to the model (its layout and roles), so one name serves
MiniLM and every FLAN-T5 size.

- ``full_finetune``: every parameter trains;
- ``peft_default_lora``: LoRA r=8, alpha 8, on q and v of every block (peft's default for T5);
- ``attention_only``: LoRA r=8 on every attention projection (self and cross), no feed-forward;
- ``later_layers_only``: LoRA r=8 on q and v of the last half of each stack (the selective-layer
  setting of Pu et al. 2023).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autopeft.errors import AutopeftError, ConfigError, SpaceError
from autopeft.model_graph import ModelGraph
from autopeft.space import ReferenceSpec


@dataclass(frozen=True)
class Reference:
    name: str
    description: str
    make: Callable[[ModelGraph], dict[str, Any]]


def _later_half(graph: ModelGraph) -> dict[str, Any]:
    return {"method": "lora", "lora.r": 8, "lora.modules": "qv",
            "lora.layers": [f"{stack}.blocks[1/2:]" for stack in graph.layout]}


REFERENCES: dict[str, Reference] = {
    r.name: r
    for r in (
        Reference("full_finetune", "full fine-tuning", lambda g: {"method": "full"}),
        Reference("peft_default_lora", "LoRA r=8 on every q,v (self- and cross-attention; peft's T5 default)",
                  lambda g: {"method": "lora", "lora.r": 8, "lora.modules": "qv+cross.q+cross.v"}),
        Reference("attention_only", "LoRA r=8 on all attention projections of every block",
                  lambda g: {"method": "lora", "lora.r": 8, "lora.modules": "all_attention"}),
        Reference("later_layers_only", "LoRA r=8 on q,v of the last half of each stack", _later_half),
    )
}


def reference_config(name: str, graph: ModelGraph) -> dict[str, Any]:
    """The configuration of a built-in reference point on this model."""
    if name not in REFERENCES:
        raise ConfigError(f"unknown reference point {name!r}; allowed: {', '.join(REFERENCES)}")
    return REFERENCES[name].make(graph)


def resolve_references(refs: tuple[ReferenceSpec, ...], graph: ModelGraph, source: str) -> dict[str, dict[str, Any]]:
    """Reference specs of a space -> name: configuration, each checked against the model."""
    from autopeft.methods import parse_config

    out: dict[str, dict[str, Any]] = {}
    for ref in refs:
        try:
            config = dict(ref.config) if ref.config is not None else reference_config(ref.name, graph)
            parse_config(config, graph)
        except AutopeftError as exc:
            raise SpaceError(str(exc), file=source, line=ref.line, field=f"references.{ref.name}") from exc
        out[ref.name] = config
    return out
