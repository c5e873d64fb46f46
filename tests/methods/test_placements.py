"""``placements`` (which block modules a configuration adapts, used by the report's heatmap) against the
modules that actually hold trainable parameters once the configuration is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autopeft.methods import build, placements
from autopeft.model.graph import ModelGraph

CONFIGS: list[dict[str, Any]] = [
    {"method": "lora", "lora.modules": "qv", "lora.ranks": {"encoder.0": 0, "encoder.1": 4}},
    {"method": "lora", "lora.modules": "attention", "lora.r": 2},
    {"method": "ia3"},
    {"method": "ln_tuning"},
    {"method": "bitfit", "bitfit.modules": "ffn"},
    {"method": "head_only"},
]


def trained_modules(model: Any, graph: ModelGraph) -> set[str]:
    """Block modules (graph paths) under which some parameter trains."""
    paths = {m.path for m in graph.modules()}
    out = set()
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        for path in paths:
            if f"{path}." in name or name.startswith(f"{path}."):
                out.add(path)
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: str(c["method"]) + str(len(c)))
def test_placements_are_the_modules_that_train(config: dict[str, Any], tiny_bert_dir: Path) -> None:
    from autopeft.model.loading import load_model

    model = load_model(str(tiny_bert_dir), num_labels=2)
    graph = ModelGraph.from_model(model)
    placed = placements(config, graph)
    built = build(model, config, graph)
    assert set(placed) == trained_modules(built.model, graph)
    if config["method"] == "lora" and "lora.ranks" in config:
        assert set(placed.values()) == {4.0}
    elif config["method"] != "lora":
        assert set(placed.values()) <= {1.0}
