"""Reference points: fixed configurations a search evaluates first, so users see what the search beat.

A space lists them under ``references:``, by built-in name or as ``{name: ..., config: {...}}``. Each
built-in is defined relative to the model (its layout), so one name serves MiniLM and every FLAN-T5 size:

- ``full_finetune``: every parameter trains;
- ``peft_default_lora``: LoRA r=8, alpha 8, on q and v of every block (peft's default for T5), cross-attention
  included where the model has a decoder (its modules read ``qv`` on an encoder, ``qv+cross.q+cross.v`` on T5);
- ``attention_only``: LoRA r=8 on every attention projection (self and cross), no feed-forward;
- ``later_layers_only``: LoRA r=8 on q and v of the last half of each stack (the selective-layer
  setting of Pu et al. 2023).

This module parses and names them; whether one builds on a model is checked by
:func:`autopeft.methods.checks.resolve_references`, a layer up.

>>> encoder = type("Graph", (), {"layout": {"encoder": 6}})()
>>> reference_config("later_layers_only", encoder)["lora.layers"]
['encoder.blocks[1/2:]']
>>> reference_config("peft_default_lora", encoder)["lora.modules"]
'qv'
>>> reference_config("peft_default_lora", type("Graph", (), {"layout": {"encoder": 6, "decoder": 6}})())["lora.modules"]
'qv+cross.q+cross.v'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from autopeft.errors import ConfigError, SpaceError
from autopeft.space.yaml_fields import Fields

__all__ = ["REFERENCES", "Reference", "ReferenceSpec", "parse_references", "reference_config"]

_REF_FIELDS = ("name", "config", "description")


class HasLayout(Protocol):
    """What a built-in reference needs of a model: its stacks and their block counts."""

    @property
    def layout(self) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class ReferenceSpec:
    """A fixed point a search evaluates first: a built-in name, or a name with its own ``config``."""

    name: str
    config: Mapping[str, Any] | None = None
    line: int = 0
    description: str | None = None


@dataclass(frozen=True)
class Reference:
    name: str
    description: str
    make: Callable[[HasLayout], dict[str, Any]]


def _every_qv(graph: HasLayout) -> dict[str, Any]:
    """q and v of every attention: with a decoder, its cross-attention's too; an encoder has none to name."""
    modules = "qv+cross.q+cross.v" if "decoder" in graph.layout else "qv"
    return {"method": "lora", "lora.r": 8, "lora.modules": modules}


def _later_half(graph: HasLayout) -> dict[str, Any]:
    return {"method": "lora", "lora.r": 8, "lora.modules": "qv",
            "lora.layers": [f"{stack}.blocks[1/2:]" for stack in graph.layout]}


REFERENCES: dict[str, Reference] = {
    r.name: r
    for r in (
        Reference("full_finetune", "full fine-tuning", lambda g: {"method": "full"}),
        Reference("peft_default_lora", "LoRA r=8 on every q,v (self- and cross-attention; peft's T5 default)",
                  _every_qv),
        Reference("attention_only", "LoRA r=8 on all attention projections of every block",
                  lambda g: {"method": "lora", "lora.r": 8, "lora.modules": "all_attention"}),
        Reference("later_layers_only", "LoRA r=8 on q,v of the last half of each stack", _later_half),
    )
}


def reference_config(name: str, graph: HasLayout) -> dict[str, Any]:
    """The configuration of a built-in reference point on this model."""
    if name not in REFERENCES:
        raise ConfigError(f"unknown reference point {name!r}; allowed: {', '.join(REFERENCES)}")
    return REFERENCES[name].make(graph)


def parse_references(top: Fields, source: str) -> tuple[ReferenceSpec, ...]:
    """The ``references:`` list of a space file (built-in names are checked here, configs against a model by
    :func:`autopeft.methods.checks.resolve_references`)."""
    raw = top.get("references", [])
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise top.error("references", "must be a list", value=raw,
                        allowed=f"built-in names ({', '.join(REFERENCES)}) or {{name: ..., config: {{...}}}}")
    out: list[ReferenceSpec] = []
    for i, item in enumerate(raw):
        line = top.item_line("references", i)
        key = f"references[{i}]"
        if isinstance(item, str):
            name, config, description = item, None, None
        elif isinstance(item, Mapping):
            f = Fields(item, source, key)
            f.check_keys(_REF_FIELDS, required=("name",), what=" of a reference")
            name = f.string("name", required=True) or ""
            config = item.get("config")
            description = f.string("description")
            if config is not None and (not isinstance(config, Mapping) or "method" not in config):
                raise f.error("config", "a reference's config must be a mapping with a 'method' key", value=config,
                              allowed="e.g. {method: lora, lora.r: 8, lora.modules: qv}")
            config = dict(config) if config is not None else None
        else:
            raise SpaceError("a reference must be a built-in name or a mapping", file=source, line=line, field=key,
                             value=item, allowed=f"{', '.join(REFERENCES)} or {{name: ..., config: {{...}}}}")
        if config is None and name not in REFERENCES:
            raise SpaceError("unknown reference point", file=source, line=line, field=key, value=name,
                             allowed=f"{', '.join(REFERENCES)}, or give it a config")
        if any(r.name == name for r in out):
            raise SpaceError("duplicate reference name", file=source, line=line, field=key, value=name,
                             allowed="unique reference names")
        out.append(ReferenceSpec(name, config, line, description))
    return tuple(out)
