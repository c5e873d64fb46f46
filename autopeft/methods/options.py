"""Option parsers shared by the methods: each turns a raw value into a checked one.

A parser raises :class:`ConfigError` whose message names the option, the bad value and what
is allowed. Parsers that need the model (module sets, layer selectors, per-layer ranks) take
the :class:`ModelGraph`; with ``graph=None`` they check only what needs no model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autopeft.errors import ConfigError, ModelGraphError, SelectorError
from autopeft.model.graph import ModelGraph, parse_module_set
from autopeft.space.selectors import resolve_selectors

Parser = Callable[[str, Any, "ModelGraph | None"], Any]
REQUIRED: Any = object()


@dataclass(frozen=True)
class Option:
    """One option of a method: its name, parser, default and a line of help."""

    name: str
    parse: Parser
    default: Any
    help: str
    #: for options whose value is a per-layer mapping: the parser of one block's value
    element: Parser | None = None


def _bad(option: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"option {option!r} has bad value {value!r}; allowed: {allowed}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def positive_int(option: str, value: Any, graph: ModelGraph | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _bad(option, value, "an integer >= 1")
    return value


def rank_or_zero(option: str, value: Any, graph: ModelGraph | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(option, value, "an integer >= 0 (0 = block not adapted)")
    return value


def positive_float(option: str, value: Any, graph: ModelGraph | None) -> float:
    if not _is_number(value) or value <= 0:
        raise _bad(option, value, "a number > 0")
    return float(value)


def dropout(option: str, value: Any, graph: ModelGraph | None) -> float:
    if not _is_number(value) or not 0 <= value < 1:
        raise _bad(option, value, "a number in [0, 1)")
    return float(value)


def boolean(option: str, value: Any, graph: ModelGraph | None) -> bool:
    if not isinstance(value, bool):
        raise _bad(option, value, "true or false")
    return value


def one_of(*choices: str) -> Parser:
    def parse(option: str, value: Any, graph: ModelGraph | None) -> str:
        if value not in choices:
            raise _bad(option, value, ", ".join(choices))
        return str(value)

    return parse


def module_set(option: str, value: Any, graph: ModelGraph | None) -> str:
    """A module set name or role expression; with a graph it must name modules the model has."""
    try:
        parse_module_set(value)
        if graph is not None:
            graph.match_roles(value)
    except (ConfigError, ModelGraphError) as exc:
        raise ConfigError(f"option {option!r}: {exc}") from exc
    return str(value)


def layers(option: str, value: Any, graph: ModelGraph | None) -> tuple[str, ...]:
    """Selector(s) -> block ids (``("encoder.3", ...)``); ``"all"`` selects every block."""
    texts: Sequence[str]
    if isinstance(value, str):
        texts = [t.strip() for t in value.split(",")]
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        texts = list(value)
    else:
        raise _bad(option, value, "a layer selector such as 'encoder.blocks[1/2:]', 'all', or a list of them")
    if graph is None:
        return tuple(texts)
    if list(texts) == ["all"]:
        texts = list(graph.layout)
    try:
        return tuple(resolve_selectors(texts, graph.layout))
    except SelectorError as exc:
        raise ConfigError(f"option {option!r}: {exc}") from exc


def per_layer_ranks(option: str, value: Any, graph: ModelGraph | None) -> dict[str, int]:
    """``{"encoder.0": 8, "decoder.3": 0, ...}``: every key a block of the model, values >= 0."""
    if not isinstance(value, Mapping) or not value:
        raise _bad(option, value, "a mapping from block id (e.g. 'encoder.0') to a rank >= 0")
    ranks = {str(k): rank_or_zero(f"{option}[{k}]", v, graph) for k, v in value.items()}
    if graph is not None:
        known = set(graph.block_ids())
        unknown = sorted(set(ranks) - known)
        if unknown:
            raise ConfigError(
                f"option {option!r} names blocks {unknown} the model lacks; allowed: {', '.join(graph.block_ids())}"
            )
    if not any(ranks.values()):
        raise ConfigError(
            f"option {option!r}: every rank is 0, so no block is adapted; allowed: at least one rank >= 1"
        )
    return ranks
