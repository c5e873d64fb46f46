"""PEFT methods, registered by name; :func:`build` turns a configuration into a trainable model.

>>> from autopeft.methods import build                         # doctest: +SKIP
>>> built = build(model, {"method": "lora", "lora.r": 8, "lora.modules": "qv"})  # doctest: +SKIP
>>> built.trainable_params                                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autopeft.errors import ConfigError
from autopeft.methods import (  # noqa: F401
    beft,
    bitfit,
    dora,
    full,
    head_only,
    ia3,
    ln_tuning,
    lora,
    prefix_tuning,
    prompt_tuning,
)
from autopeft.methods.base import GLOBAL_OPTIONS, BuiltModel, Method, get_method, method_names, register_method
from autopeft.model.graph import ModelGraph

__all__ = ["BuiltModel", "Method", "build", "count_trainable", "get_method", "method_names", "parse_config",
           "placements", "register_method", "split_config"]


def split_config(config: Mapping[str, Any]) -> tuple[Method, dict[str, Any]]:
    """``{"method": "lora", "lora.r": 8, "learning_rate": 1e-3}`` -> (Lora, {"r": 8, "learning_rate": 1e-3}).

    Keys are ``<method>.<option>`` or a global option; a key for another method is an error.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"a configuration must be a mapping, got {type(config).__name__}; allowed: a mapping such "
                          "as {\"method\": \"lora\", \"lora.r\": 8}")
    if "method" not in config:
        raise ConfigError(f"configuration has no 'method' key; allowed methods: {', '.join(method_names())}")
    method = get_method(config["method"])
    options: dict[str, Any] = {}
    for key, value in config.items():
        if key == "method":
            continue
        prefix, _, rest = key.partition(".")
        if not rest:
            if key not in GLOBAL_OPTIONS:
                allowed = f"'<method>.<option>' or {', '.join(GLOBAL_OPTIONS)}"
                raise ConfigError(f"unknown option {key!r}; allowed: {allowed}")
            options[key] = value
        elif prefix == method.name:
            method.option(rest)
            options[rest] = value
        elif prefix in method_names():
            own = ", ".join(f"{method.name}.{name}" for name in method.option_names())
            raise ConfigError(f"option {key!r} belongs to method {prefix!r}, but the method is {method.name!r}; "
                              f"allowed: {own or 'no options'} and {', '.join(GLOBAL_OPTIONS)}")
        else:
            raise ConfigError(f"unknown option {key!r}; allowed prefixes: {', '.join(method_names())}")
    return method, options


def parse_config(config: Mapping[str, Any], graph: ModelGraph) -> tuple[Method, dict[str, Any]]:
    """Check a configuration against the model; return the method and its full option set."""
    method, raw = split_config(config)
    return method, method.parse(raw, graph)


def placements(config: Mapping[str, Any], graph: ModelGraph) -> dict[str, float]:
    """Module path -> strength (LoRA rank, else 1) of every block module ``config`` adapts on the graph's model."""
    method, options = parse_config(config, graph)
    return method.placements(options, graph)


def count_trainable(config: Mapping[str, Any], graph: ModelGraph, skeleton: Any = None) -> int:
    """Exact trainable parameters of ``config`` on the graph's model, known before any training.

    Uses the method's closed form over the graph's shapes; a method without one is built on a copy of
    ``skeleton`` (a weight-free ``meta``-device model), which is exact but slower. A configuration that
    adapts nothing (LoRA with every block at rank 0) or trains no parameter raises :class:`ConfigError`, as its
    build does, so a controller treats it as infeasible instead of as the cheapest point of the space.
    """
    import copy

    method, options = parse_config(config, graph)
    count = method.count_trainable(options, graph)
    if count is None:
        if skeleton is None:
            raise ConfigError(f"method {method.name!r} has no closed-form parameter count; pass a skeleton model")
        count = method.build(copy.deepcopy(skeleton), graph, options).trainable_params
    if count <= 0:  # nothing to train (a seq2seq model has no head that always trains): not a configuration
        raise ConfigError(f"{method.name}: the configuration trains no parameter on this model; allowed: a "
                          f"configuration that adapts at least one module")
    return count


def build(model: Any, config: Mapping[str, Any], graph: ModelGraph | None = None) -> BuiltModel:
    """Apply the configuration's method to ``model`` (in place) and return the trainable model."""
    graph = graph or ModelGraph.from_model(model)
    method, options = parse_config(config, graph)
    return method.build(model, graph, options)
