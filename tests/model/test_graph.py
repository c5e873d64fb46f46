"""The model graph: layout, exact parameter counts, roles, module selection, unsupported models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from autopeft.errors import ConfigError, ModelGraphError
from autopeft.model.graph import MODULE_SETS, ModelGraph, parse_module_set
from autopeft.model.loading import load_model


@pytest.fixture(scope="module")
def t5(tiny_t5_dir: Path) -> Any:
    return load_model(str(tiny_t5_dir))


@pytest.fixture(scope="module")
def bert(tiny_bert_dir: Path) -> Any:
    return load_model(str(tiny_bert_dir), num_labels=3)


def test_t5_layout_and_block_paths(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    assert graph.kind == "seq2seq"
    assert graph.layout == {"encoder": 3, "decoder": 2}
    assert graph.block_ids() == ["encoder.0", "encoder.1", "encoder.2", "decoder.0", "decoder.1"]
    assert graph.block_path("decoder.1") == "decoder.block.1"


def test_bert_layout_and_head(bert: Any) -> None:
    graph = ModelGraph.from_model(bert)
    assert graph.kind == "encoder"
    assert graph.layout == {"encoder": 3}
    assert graph.head_modules == ("classifier",)
    assert graph.block_path("encoder.2") == "bert.encoder.layer.2"


@pytest.mark.parametrize(("kind", "head", "block", "modules"), [
    ("distilbert", ("pre_classifier", "classifier"), "distilbert.transformer.layer.2",
     ["distilbert.transformer.layer.0.attention.k_lin", "distilbert.transformer.layer.0.sa_layer_norm",
      "distilbert.transformer.layer.0.ffn.lin2", "distilbert.transformer.layer.0.output_layer_norm"]),
    ("deberta", ("pooler.dense", "classifier"), "deberta.encoder.layer.2",
     ["deberta.encoder.layer.0.attention.self.key_proj", "deberta.encoder.layer.0.attention.output.LayerNorm",
      "deberta.encoder.layer.0.output.dense", "deberta.encoder.layer.0.output.LayerNorm"]),
])
def test_other_encoders_read_as_one_encoder_stack(kind: str, head: tuple[str, ...], block: str, modules: list[str],
                                                  tiny_models: dict[str, Path]) -> None:
    """DistilBERT and DeBERTa(-v3) name their modules their own way; a space names them by role and stack, as on
    BERT: DistilBERT's ``transformer`` is the ``encoder``, and its pre-classifier (DeBERTa's pooler) is head."""
    model = load_model(str(tiny_models[kind]), num_labels=3)
    graph = ModelGraph.from_model(model)
    assert graph.kind == "encoder" and graph.layout == {"encoder": 3}
    assert graph.head_modules == head and graph.block_path("encoder.2") == block
    assert graph.roles == ("attn.q", "attn.k", "attn.v", "attn.o", "ffn.in", "ffn.out", "ln")
    assert [m.path for m in graph.select("attn.k+ffn.out+ln", ["encoder.0"])] == modules
    assert [m.sublayer for m in graph.select("ln", ["encoder.0"])] == ["attn", "ffn"]
    assert graph.head_params == sum(p.numel() for h in head for p in model.get_submodule(h).parameters())
    assert graph.embedding_dim == 16 and graph.attention_heads == 2


@pytest.mark.parametrize("name", ["t5", "bert"])
def test_parameter_counts_are_read_from_the_model(name: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(name)
    graph = ModelGraph.from_model(model)
    assert graph.total_params == sum(p.numel() for p in model.parameters())
    for block in graph.block_ids():
        module = model.get_submodule(graph.block_path(block))
        assert graph.params(block) == sum(p.numel() for p in module.parameters())
    for stack, n in graph.layout.items():
        assert graph.params(stack) == sum(graph.params(f"{stack}.{i}") for i in range(n))
    for info in graph.modules():
        assert info.params == sum(p.numel() for p in model.get_submodule(info.path).parameters())
    # every parameter of a block belongs to a recognised module, except T5's position-bias table
    for block in graph.block_ids():
        owned = tuple(m.path + "." for m in graph.modules([block]))
        prefix = graph.block_path(block) + "."
        rest = [n for n, _ in model.named_parameters() if n.startswith(prefix) and not n.startswith(owned)]
        assert all("relative_attention_bias" in n for n in rest), rest
        extra = sum(p.numel() for n, p in model.named_parameters() if n in rest)
        assert graph.params(block) == sum(m.params for m in graph.modules([block])) + extra


def test_graph_edges_go_stack_block_sublayer_module(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    g = graph.graph
    assert list(g.successors("model")) == ["encoder", "decoder"]
    for info in graph.modules():
        (sub,) = g.predecessors(info.path)
        (block,) = g.predecessors(sub)
        assert block == info.block_id and g.nodes[sub]["kind"] == "sublayer"


def test_t5_roles_map_to_the_right_modules(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    assert graph.roles == ("attn.q", "attn.k", "attn.v", "attn.o", "cross.q", "cross.k", "cross.v", "cross.o",
                           "ffn.in", "ffn.out", "ln")
    paths = [m.path for m in graph.select("qv", ["decoder.1"])]
    assert paths == ["decoder.block.1.layer.0.SelfAttention.q", "decoder.block.1.layer.0.SelfAttention.v"]
    cross = [m.path for m in graph.select("cross_attention", ["decoder.0"])]
    assert cross == [f"decoder.block.0.layer.1.EncDecAttention.{x}" for x in "qkvo"]
    ffn = {m.short_name for m in graph.select("ffn", ["encoder.0"])}
    assert ffn == {"wi_0", "wi_1", "wo"}
    norms = graph.select("layer_norm", ["decoder.0"])
    assert [m.sublayer for m in norms] == ["attn", "cross", "ffn"]
    assert not any(m.has_bias for m in graph.modules())  # T5 has no biases


def test_bert_roles(bert: Any) -> None:
    graph = ModelGraph.from_model(bert)
    assert "cross.q" not in graph.roles
    paths = [m.path for m in graph.select("attn.k+ffn.out", ["encoder.0"])]
    assert paths == ["bert.encoder.layer.0.attention.self.key", "bert.encoder.layer.0.output.dense"]
    assert all(m.has_bias for m in graph.modules())


def test_module_set_naming_what_the_model_lacks(bert: Any) -> None:
    graph = ModelGraph.from_model(bert)
    with pytest.raises(ModelGraphError, match=r"cross_attention.*allowed: module sets over its roles attn\.q"):
        graph.select("cross_attention")


def test_unknown_block_is_rejected(t5: Any) -> None:
    graph = ModelGraph.from_model(t5)
    with pytest.raises(ModelGraphError, match=r"decoder\.5.*decoder \(2 blocks, 0-1\)"):
        graph.modules(["decoder.5"])
    with pytest.raises(ModelGraphError, match="no node"):
        graph.params("decoder.9")


@pytest.mark.parametrize("text", ["", "qvx", "attn.z", "attn.q+", 3])
def test_bad_module_sets(text: Any) -> None:
    with pytest.raises(ConfigError, match="allowed"):
        parse_module_set(text)


def test_module_set_presets_expand_to_known_roles() -> None:
    assert parse_module_set("qv") == ("attn.q", "attn.v")
    assert parse_module_set("attn.q+ffn.*") == ("attn.q", "ffn.*")
    assert parse_module_set("qv+cross.q") == ("attn.q", "attn.v", "cross.q")
    assert set(MODULE_SETS) >= {"qv", "attention", "cross_attention", "ffn", "all_linear"}


def test_unsupported_architecture_names_supported_ones_and_where_to_add() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=10, n_positions=8))
    with pytest.raises(ModelGraphError) as err:
        ModelGraph.from_model(model)
    message = str(err.value)
    assert "gpt2" in message and "t5" in message and "bert" in message
    assert "autopeft/model/architectures.py" in message


def test_summary_mentions_layout_and_roles(t5: Any) -> None:
    text = ModelGraph.from_model(t5).summary()
    assert "encoder: 3 blocks" in text and "decoder: 2 blocks" in text and "cross.q" in text


def test_meta_skeleton_graph_has_the_same_counts(tiny_t5_dir: Path, t5: Any) -> None:
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    with torch.device("meta"):
        skeleton = AutoModelForSeq2SeqLM.from_config(AutoConfig.from_pretrained(tiny_t5_dir))
    a, b = ModelGraph.from_model(skeleton), ModelGraph.from_model(t5)
    assert [m.path for m in a.modules()] == [m.path for m in b.modules()]
    assert [m.params for m in a.modules()] == [m.params for m in b.modules()]
