"""Built-in reference points resolve against any model and build the configuration they promise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autopeft.errors import ConfigError, SpaceError
from autopeft.methods import build
from autopeft.methods.checks import resolve_references
from autopeft.model.graph import ModelGraph
from autopeft.model.loading import load_model
from autopeft.space import ReferenceSpec
from autopeft.space.references import REFERENCES, reference_config


def adapted(model: Any) -> dict[str, int]:
    return {n.removeprefix("base_model.model.").removesuffix(".lora_A.default.weight"): int(p.shape[0])
            for n, p in model.named_parameters() if n.endswith("lora_A.default.weight")}


@pytest.fixture
def t5(tiny_t5_dir: Path) -> Any:
    return load_model(str(tiny_t5_dir))


def test_peft_default_lora_is_r8_on_every_q_and_v(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    built = build(t5, reference_config("peft_default_lora", graph), graph)
    want = {m.path: 8 for m in graph.select("qv+cross.q+cross.v")}
    assert adapted(built.model) == want
    assert len(want) == 2 * 3 + 4 * 2  # encoder: self q,v; decoder: self and cross q,v
    assert built.peft_config.r == 8 and built.peft_config.lora_alpha == 8


def test_peft_default_lora_on_an_encoder_names_only_what_it_has(tiny_bert_dir: Path) -> None:
    """An encoder has no cross-attention: the reference reads ``qv`` and adapts the same modules that the T5
    wording would select on it (which would name modules that do not exist)."""
    model = load_model(str(tiny_bert_dir))
    graph = ModelGraph.from_model(model)
    config = reference_config("peft_default_lora", graph)
    assert config["lora.modules"] == "qv"
    want = {m.path: 8 for m in graph.select("qv")}
    assert {m.path for m in graph.select("qv+cross.q+cross.v")} == set(want)
    assert adapted(build(model, config, graph).model) == want
    assert len(want) == 2 * 3  # q and v of the 3 blocks


def test_attention_only_adapts_no_feed_forward(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    built = build(t5, reference_config("attention_only", graph), graph)
    assert set(adapted(built.model)) == {m.path for m in graph.select("all_attention") if m.kind == "linear"}


def test_later_layers_only_takes_the_last_half_of_each_stack(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    built = build(t5, reference_config("later_layers_only", graph), graph)
    blocks = {p.split(".layer.")[0] for p in adapted(built.model)}
    # encoder has 3 blocks: floor(3/2) = 1, so blocks 1 and 2; decoder has 2: block 1
    assert blocks == {"encoder.block.1", "encoder.block.2", "decoder.block.1"}


def test_full_finetune_trains_everything(t5: Any) -> None:
    built = build(t5, reference_config("full_finetune", ModelGraph.from_model(t5)))
    assert built.trainable_params == built.total_params


def test_unknown_reference() -> None:
    with pytest.raises(ConfigError, match="allowed: full_finetune"):
        reference_config("nope", None)  # type: ignore[arg-type]


def test_resolve_references_checks_custom_configs(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    refs = (ReferenceSpec("peft_default_lora", line=3), ReferenceSpec("mine", {"method": "ia3"}, line=4))
    out = resolve_references(refs, graph, "s.yaml")
    assert list(out) == ["peft_default_lora", "mine"] and out["mine"] == {"method": "ia3"}
    with pytest.raises(SpaceError) as err:
        resolve_references((ReferenceSpec("bad", {"method": "lora", "lora.r": 0}, line=7),), graph, "s.yaml")
    assert err.value.line == 7 and err.value.file == "s.yaml"


def test_every_reference_is_described() -> None:
    assert set(REFERENCES) == {"full_finetune", "peft_default_lora", "attention_only", "later_layers_only"}
    assert all(r.description for r in REFERENCES.values())
