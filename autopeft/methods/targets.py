"""Choose the most readable ``target_modules`` form that selects exactly the intended modules.

peft matches ``target_modules`` by name suffix and ``layers_to_transform`` by the first number
in a module path (shared by T5's encoder and decoder blocks: see docs/architecture.md, traps). Rather
than re-implementing those rules, each candidate form is checked with peft's own matcher over
every module name of the model, and the first exact match wins: short names (``["q", "v"]``),
then short names + ``layers_to_transform`` (+ ``layers_pattern`` for one stack), then the full
module paths, which always match exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from peft.tuners.tuners_utils import check_target_module_exists

from autopeft.errors import MethodError
from autopeft.model.graph import ModelGraph


def matched_modules(config: Any, module_names: Sequence[str]) -> set[str]:
    """Module names peft would adapt under ``config`` (its own matching rule)."""
    out = set()
    for key in module_names:
        if not key:
            continue
        hit = check_target_module_exists(config, key)
        if hit is True or isinstance(hit, re.Match):
            out.add(key)
    return out


def compact_targets(
    graph: ModelGraph, paths: Sequence[str], make_config: Callable[[dict[str, Any]], Any]
) -> dict[str, Any]:
    """Keyword arguments (``target_modules`` and maybe ``layers_to_transform``/``layers_pattern``)."""
    wanted = set(paths)
    if not wanted:
        raise MethodError("no module is selected, so nothing would be trained")
    infos = {m.path: m for m in graph.modules()}
    short = sorted({p.rsplit(".", 1)[-1] for p in paths})
    candidates: list[dict[str, Any]] = [{"target_modules": short}]
    indices = sorted({infos[p].block for p in paths})
    stacks = sorted({infos[p].stack for p in paths})
    candidates.append({"target_modules": short, "layers_to_transform": indices})
    if len(stacks) == 1:
        block_path = graph.block_path(f"{stacks[0]}.{indices[0]}")
        pattern = ".".join(block_path.split(".")[-3:-1])  # "encoder.block" / "encoder.layer"
        candidates.append({"target_modules": short, "layers_to_transform": indices, "layers_pattern": pattern})
    candidates.append({"target_modules": sorted(paths)})
    for kwargs in candidates:
        try:
            config = make_config(kwargs)
        except TypeError:  # this config class has no layers_to_transform / layers_pattern
            continue
        if matched_modules(config, graph.module_names) == wanted:
            return kwargs
    raise MethodError(f"peft cannot target exactly these modules: {sorted(wanted)[:4]}...")  # pragma: no cover
