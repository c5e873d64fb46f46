"""Closed-form trainable-parameter counts equal what the built model really trains (every method, both kinds).

The search uses these counts before training (the parameter objective is known exactly), so they
must never drift from the model: each is checked against ``build(...).trainable_params``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autopeft.errors import ConfigError
from autopeft.methods import build, count_trainable, get_method, method_names, parse_config
from autopeft.model.graph import ModelGraph
from autopeft.model.loading import load_model
from tests.conftest import ENCODERS

CONFIGS: list[dict[str, Any]] = [
    {"method": "lora", "lora.r": 4, "lora.modules": "all_linear"},
    {"method": "lora", "lora.r": 2, "lora.modules": "qv", "lora.layers": "encoder.blocks[1:]"},
    {"method": "dora", "dora.r": 2, "dora.modules": "attention"},
    {"method": "ia3"},
    {"method": "ia3", "ia3.modules": "attention_ffn", "ia3.layers": "encoder.blocks[-1]"},
    {"method": "ln_tuning"},
    {"method": "ln_tuning", "ln_tuning.layers": "encoder.blocks[1/2:]"},
    {"method": "bitfit"},
    {"method": "beft", "beft.modules": "all_linear"},
    {"method": "full"},
    {"method": "head_only"},
    {"method": "prompt_tuning", "prompt_tuning.num_virtual_tokens": 3},
]


#: T5 has no biases and no classification head; tests/methods/test_methods.py checks both are refused there
NOT_APPLICABLE = {("bitfit", "t5"), ("head_only", "t5")}
CASES = [pytest.param(config, kind, id=f"{'-'.join(str(v) for v in config.values())}-{kind}")
         for config in CONFIGS for kind in ("t5", *ENCODERS) if (config["method"], kind) not in NOT_APPLICABLE]


@pytest.mark.parametrize(("config", "kind"), CASES)
def test_count_matches_the_built_model(config: dict[str, Any], kind: str, tiny_models: dict[str, Path]) -> None:
    model = load_model(str(tiny_models[kind]), num_labels=3 if kind in ENCODERS else None)
    graph = ModelGraph.from_model(model)
    method = get_method(config["method"])
    _, options = parse_config(config, graph)
    skeleton = None
    if method.count_trainable(options, graph) is None:
        with torch.device("meta"):
            skeleton = type(model)(model.config)
    expected = count_trainable(config, graph, skeleton)
    assert expected == build(model, config, graph).trainable_params


def test_closed_forms_cover_the_shipped_minilm_space_methods() -> None:
    names = ("lora", "ia3", "ln_tuning", "bitfit", "head_only", "full", "dora", "beft")
    assert set(names) <= set(method_names())
    for name in names:
        assert type(get_method(name)).count_trainable is not type(get_method("prompt_tuning")).count_trainable


BLOCKS = ["encoder.0", "encoder.1", "encoder.2", "decoder.0", "decoder.1"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ranks=st.fixed_dictionaries({b: st.sampled_from([0, 1, 3, 8]) for b in BLOCKS}).filter(
           lambda r: any(r.values())),
       modules=st.sampled_from(["qv", "all_linear", "cross_attention", "ffn"]), dora=st.booleans())
def test_random_per_layer_ranks(ranks: dict[str, int], modules: str, dora: bool, tiny_t5_dir: Path) -> None:
    model = load_model(str(tiny_t5_dir))
    graph = ModelGraph.from_model(model)
    name = "dora" if dora else "lora"
    config = {"method": name, f"{name}.ranks": ranks, f"{name}.modules": modules}
    if not any(ranks[m.block_id] for m in graph.select(modules)):  # cross_attention on encoder blocks only
        with pytest.raises(ConfigError, match="adapts no module"):
            build(model, config, graph)
        with pytest.raises(ConfigError, match="adapts no module"):  # no count: not a count of 0
            count_trainable(config, graph)
        return
    assert count_trainable(config, graph) == build(model, config, graph).trainable_params


@pytest.mark.parametrize("kind", ["t5", *ENCODERS])
def test_a_configuration_that_adapts_nothing_has_no_count(kind: str, tiny_models: dict[str, Path]) -> None:
    """LoRA with every block at rank 0 is refused when parsed, by its count as by its build."""
    model = load_model(str(tiny_models[kind]), num_labels=3 if kind in ENCODERS else None)
    graph = ModelGraph.from_model(model)
    config = {"method": "lora", "lora.ranks": dict.fromkeys(graph.block_ids(), 0), "lora.modules": "qv"}
    for call in (lambda: build(model, config, graph), lambda: count_trainable(config, graph)):
        with pytest.raises(ConfigError, match="every rank is 0"):
            call()


def test_cross_attention_on_encoder_blocks_only_has_no_count(tiny_t5_dir: Path) -> None:
    """Ranks on T5's encoder blocks alone with ``cross_attention`` (a decoder module) adapt nothing: the count
    raised nothing before and gave 0, which crashed bo on the log-scale parameter objective mid-search."""
    model = load_model(str(tiny_t5_dir))
    graph = ModelGraph.from_model(model)
    ranks = {b: (4 if b.startswith("encoder") else 0) for b in graph.block_ids()}
    config = {"method": "lora", "lora.ranks": ranks, "lora.modules": "cross_attention"}
    for call in (lambda: build(model, config, graph), lambda: count_trainable(config, graph)):
        with pytest.raises(ConfigError, match=re.escape(
                "adapts no module: modules 'cross_attention' are in blocks decoder.0, decoder.1, and the blocks with a "
                "rank above 0 are encoder.0, encoder.1, encoder.2 ")):
            call()
