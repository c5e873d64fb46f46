"""Per-layer LoRA ranks land on exactly the intended modules, encoder and decoder apart, and reload.

The traps (docs/architecture.md): ``layers_to_transform`` indexes T5's encoder and decoder blocks
with the same number, and overlapping ``rank_pattern`` keys reload with the wrong shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autopeft.errors import ConfigError
from autopeft.methods import build
from autopeft.model.graph import ModelGraph
from autopeft.model.loading import load_model
from autopeft.study.export import export


def lora_shapes(model: Any) -> dict[str, int]:
    """Adapted module path (as in the base model) -> its LoRA rank, read from the weights."""
    out = {}
    for name, param in model.named_parameters():
        if name.endswith("lora_A.default.weight"):
            path = name.removeprefix("base_model.model.").removesuffix(".lora_A.default.weight")
            out[path] = int(param.shape[0])
    return out


def expected(graph: ModelGraph, ranks: dict[str, int], module_set: str) -> dict[str, int]:
    return {m.path: ranks[m.block_id] for m in graph.select(module_set) if m.kind == "linear" and ranks[m.block_id]}


@pytest.fixture
def t5(tiny_t5_dir: Path) -> Any:
    return load_model(str(tiny_t5_dir))


def test_encoder_block_1_only_leaves_decoder_block_1_alone(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    ranks = {b: 0 for b in graph.block_ids()} | {"encoder.1": 4}
    built = build(t5, {"method": "lora", "lora.ranks": ranks, "lora.modules": "all_attention"}, graph)
    assert lora_shapes(built.model) == {
        "encoder.block.1.layer.0.SelfAttention.q": 4, "encoder.block.1.layer.0.SelfAttention.k": 4,
        "encoder.block.1.layer.0.SelfAttention.v": 4, "encoder.block.1.layer.0.SelfAttention.o": 4,
    }


def test_different_ranks_for_encoder_and_decoder_blocks(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    ranks = {"encoder.0": 2, "encoder.1": 0, "encoder.2": 8, "decoder.0": 8, "decoder.1": 2}
    built = build(t5, {"method": "lora", "lora.ranks": ranks, "lora.modules": "qv+cross.v+ffn.out"}, graph)
    assert lora_shapes(built.model) == expected(graph, ranks, "qv+cross.v+ffn.out")
    from peft.tuners.lora import LoraLayer

    alphas = {n: m.scaling["default"] for n, m in built.model.named_modules() if isinstance(m, LoraLayer)}
    assert len(alphas) == len(expected(graph, ranks, "qv+cross.v+ffn.out"))
    assert set(alphas.values()) == {1.0}  # alpha_ratio 1: alpha = r per block, so scaling = 1 everywhere


def test_layer_selector_with_one_rank(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    config = {"method": "lora", "lora.r": 2, "lora.modules": "qv", "lora.layers": "decoder.blocks[-1]"}
    built = build(t5, config, graph)
    assert lora_shapes(built.model) == {"decoder.block.1.layer.0.SelfAttention.q": 2,
                                        "decoder.block.1.layer.0.SelfAttention.v": 2}


def test_rank_zero_everywhere_is_refused(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    with pytest.raises(ConfigError, match="every rank is 0"):
        build(t5, {"method": "lora", "lora.ranks": dict.fromkeys(graph.block_ids(), 0)}, graph)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_rank_must_be_positive(t5: Any, bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"lora\.r"):
        build(t5, {"method": "lora", "lora.r": bad})


def test_unknown_block_in_ranks(t5: Any) -> None:
    with pytest.raises(ConfigError, match=r"decoder\.7"):
        build(t5, {"method": "lora", "lora.ranks": {"encoder.0": 4, "decoder.7": 4}})


def test_ranks_and_r_together_are_refused(t5: Any) -> None:
    with pytest.raises(ConfigError, match="either 'ranks'"):
        build(t5, {"method": "lora", "lora.ranks": {"encoder.0": 4}, "lora.r": 4})


RANKS = st.fixed_dictionaries({b: st.sampled_from([0, 1, 2, 4]) for b in
                               ["encoder.0", "encoder.1", "encoder.2", "decoder.0", "decoder.1"]})
MODULE_SETS = st.sampled_from(["qv", "all_attention", "cross_attention", "ffn", "attn.o+cross.k", "all_linear"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ranks=RANKS, module_set=MODULE_SETS)
def test_random_rank_maps_land_exactly_and_reload(
    ranks: dict[str, int], module_set: str, tiny_t5_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from peft import PeftModel

    model = load_model(str(tiny_t5_dir))
    graph = ModelGraph.from_model(model)
    want = expected(graph, ranks, module_set)
    config = {"method": "lora", "lora.ranks": ranks, "lora.modules": module_set, "lora.alpha_ratio": 2.0}
    if not want:
        with pytest.raises(ConfigError):
            build(model, config, graph)
        return
    built = build(model, config, graph)
    assert lora_shapes(built.model) == want
    with torch.no_grad():  # make the adapter non-trivial so that reloading it is a real check
        for name, p in built.model.named_parameters():
            if "lora_B" in name:
                p.normal_()
    folder = export(built, tmp_path_factory.mktemp("lora"), model_id=str(tiny_t5_dir), configuration=config)
    reloaded = PeftModel.from_pretrained(load_model(str(tiny_t5_dir)), str(folder))
    assert lora_shapes(reloaded) == want
    batch = {"input_ids": torch.tensor([[5, 6, 7, 1]]), "decoder_input_ids": torch.tensor([[0, 8, 9]])}
    with torch.no_grad():
        torch.testing.assert_close(reloaded.eval()(**batch).logits, built.model.eval()(**batch).logits)
