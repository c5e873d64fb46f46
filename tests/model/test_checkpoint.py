"""What a checkpoint holds: its tensor names in every format, the modules it lacks, and which of those may be head."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from autopeft.errors import ModelLoadError
from autopeft.model.checkpoint import NEW_MODULES, absent_modules, check_loaded, checkpoint_keys, missing_modules
from autopeft.model.graph import ModelGraph
from autopeft.model.loading import load_model, skeleton

POOLER = "bert.pooler.dense"


def _state(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _rewrite(source: Path, target: Path, state: dict[str, torch.Tensor]) -> Path:
    """A copy of the checkpoint folder ``source`` whose weights are ``state``."""
    from safetensors.torch import save_file

    shutil.copytree(source, target)
    save_file(state, str(target / "model.safetensors"), metadata={"format": "pt"})
    return target


def test_keys_are_read_from_every_checkpoint_format(tiny_bert_dir: Path, tmp_path: Path) -> None:
    from transformers import BertModel

    state = _state(tiny_bert_dir)
    assert checkpoint_keys(str(tiny_bert_dir)) == frozenset(state)
    BertModel.from_pretrained(str(tiny_bert_dir)).save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    assert checkpoint_keys(str(tmp_path / "sharded")) == frozenset(state)
    (tmp_path / "bin").mkdir()
    torch.save(state, tmp_path / "bin" / "pytorch_model.bin")
    assert checkpoint_keys(str(tmp_path / "bin")) == frozenset(state)
    from safetensors.torch import save_file

    fewer = {k: v for k, v in state.items() if not k.startswith("pooler.")}
    save_file(fewer, str(tmp_path / "bin" / "model.safetensors"), metadata={"format": "pt"})
    assert checkpoint_keys(str(tmp_path / "bin")) == frozenset(fewer)  # safetensors first, as transformers reads


def test_no_checkpoint_file_gives_none(tmp_path: Path) -> None:
    assert checkpoint_keys(str(tmp_path)) is None
    assert checkpoint_keys("google/flan-t5-small") is None  # not cached here, and nothing is fetched
    assert getattr(skeleton("flan-t5-small"), NEW_MODULES) == ()  # built from the published shape


def test_tied_weights_and_a_base_checkpoint_hold_every_module(tiny_t5_dir: Path, tiny_bert_dir: Path) -> None:
    t5 = load_model(str(tiny_t5_dir))
    assert t5.lm_head.weight is t5.shared.weight and "lm_head.weight" not in checkpoint_keys(str(tiny_t5_dir))
    assert absent_modules(t5, checkpoint_keys(str(tiny_t5_dir))) == ()  # lm_head is held as shared
    bert = load_model(str(tiny_bert_dir), num_labels=2)  # the checkpoint's names lack the "bert." prefix
    assert absent_modules(bert, checkpoint_keys(str(tiny_bert_dir))) == ("classifier",)
    assert absent_modules(bert, checkpoint_keys(str(tiny_bert_dir)), exclude=["classifier"]) == ()


def test_legacy_norm_names_are_held(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """bert-base-uncased's checkpoint names a norm's weight and bias gamma and beta; transformers reads them."""
    state = _state(tiny_bert_dir)
    renamed = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
               for k, v in state.items()}
    assert renamed != state
    folder = _rewrite(tiny_bert_dir, tmp_path / "legacy", renamed)
    model = load_model(str(folder), num_labels=2)
    assert getattr(model, NEW_MODULES) == () and getattr(skeleton(str(folder), num_labels=2), NEW_MODULES) == ()
    torch.testing.assert_close(model.bert.embeddings.LayerNorm.weight, state["embeddings.LayerNorm.weight"])


@pytest.mark.parametrize("loader", [load_model, skeleton])
def test_a_pooler_the_checkpoint_lacks_is_head(loader: Any, tiny_bert_nopool_dir: Path) -> None:
    model = loader(str(tiny_bert_nopool_dir), num_labels=3)
    assert getattr(model, NEW_MODULES) == (POOLER,)
    graph = ModelGraph.from_model(model)
    assert graph.head_modules == (POOLER, "classifier")
    assert graph.head_params == (16 * 16 + 16) + (16 * 3 + 3)
    assert f"task head, trained by every method: {POOLER}, classifier (323 parameters)" in graph.summary()


def test_the_pooler_of_a_full_checkpoint_is_not_head(tiny_bert_dir: Path) -> None:
    model = load_model(str(tiny_bert_dir), num_labels=3)
    assert getattr(model, NEW_MODULES) == () and ModelGraph.from_model(model).head_modules == ("classifier",)


@pytest.mark.parametrize("loader", [load_model, skeleton])
@pytest.mark.parametrize(("drop", "module"), [
    ("encoder.layer.1.output.dense.", "bert.encoder.layer.1.output.dense"),
    ("embeddings.token_type_embeddings.", "bert.embeddings.token_type_embeddings"),
])
def test_a_checkpoint_lacking_a_layer_or_an_embedding_is_refused(loader: Any, drop: str, module: str,
                                                                  tiny_bert_dir: Path, tmp_path: Path) -> None:
    state = {k: v for k, v in _state(tiny_bert_dir).items() if not k.startswith(drop)}
    folder = _rewrite(tiny_bert_dir, tmp_path / "lacking", state)
    with pytest.raises(ModelLoadError) as err:
        loader(str(folder), num_labels=2)
    message = str(err.value)
    assert f"lacks the weights of {module}," in message and "random and stay frozen" in message
    assert "allowed: a checkpoint with the weights of every layer" in message


def test_a_load_that_disagrees_with_the_files_is_refused(tiny_bert_nopool_dir: Path) -> None:
    model = load_model(str(tiny_bert_nopool_dir), num_labels=2)
    check_loaded(model, [f"{POOLER}.weight", f"{POOLER}.bias", "classifier.weight"], [POOLER], name="m", source="s")
    with pytest.raises(ModelLoadError, match=f"cannot tell whether it holds {POOLER}"):
        check_loaded(model, ["classifier.weight"], [POOLER], name="m", source="s")
    with pytest.raises(ModelLoadError, match=f"lacks the weights of {POOLER},"):
        check_loaded(model, [f"{POOLER}.weight", "classifier.weight"], [], name="m", source="s")


def test_missing_modules_are_the_modules_of_missing_keys() -> None:
    assert missing_modules(["b.c.weight", "a.bias", "b.c.bias", "lonely"]) == ("a", "b.c")


def test_a_classifier_fine_tuned_for_other_classes_loads_as_a_base(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A checkpoint fine-tuned for 5 labels per example (multi-label) starts a 3-class search: its head is
    re-initialised in every trial anyway, and the loss is the single-label one."""
    from transformers import AutoConfig, BertForSequenceClassification

    config = AutoConfig.from_pretrained(tiny_bert_dir, num_labels=5, problem_type="multi_label_classification")
    BertForSequenceClassification(config).save_pretrained(tmp_path / "fine-tuned")
    model = load_model(str(tmp_path / "fine-tuned"), num_labels=3)
    assert model.classifier.out_features == 3 and model.config.problem_type == "single_label_classification"
    assert len(model.config.id2label) == 3 and getattr(model, NEW_MODULES) == ()
    out = model(input_ids=torch.tensor([[2, 5, 7]]), labels=torch.tensor([2]))
    expected = torch.nn.functional.cross_entropy(out.logits, torch.tensor([2]))
    torch.testing.assert_close(out.loss, expected)


def test_weights_of_another_shape_outside_the_head_are_refused(tiny_bert_dir: Path) -> None:
    model = load_model(str(tiny_bert_dir), num_labels=2)
    check_loaded(model, ["classifier.weight"], [], name="m", source="s", mismatched=["classifier.weight"])
    layer = "bert.encoder.layer.0.output.dense"
    with pytest.raises(ModelLoadError, match=re.escape(f"holds weights of {layer} whose shape")):
        check_loaded(model, ["classifier.weight"], [], name="m", source="s",
                     mismatched=["bert.encoder.layer.0.output.dense.weight"])


@pytest.mark.parametrize("loader", [load_model, skeleton])
def test_an_encoder_only_t5_checkpoint_is_refused(loader: Any, tiny_t5_dir: Path, tmp_path: Path) -> None:
    """A T5 encoder saved alone (sentence-T5) would train a random, frozen decoder; the error names a few of the
    modules and counts the rest."""
    from transformers import AutoConfig, T5EncoderModel

    T5EncoderModel(AutoConfig.from_pretrained(tiny_t5_dir)).save_pretrained(tmp_path / "encoder-only")
    with pytest.raises(ModelLoadError) as err:
        loader(str(tmp_path / "encoder-only"))
    message = str(err.value)
    assert "lacks the weights of decoder.block.0.layer.0.SelfAttention.q," in message
    assert re.search(r"SelfAttention\.o and \d+ more, which would start random", message), message


def test_a_hub_checkpoint_not_downloaded_is_read_from_its_safetensors_headers(
        tiny_bert_nopool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only with ``remote``: the Hub's header API (stood in for here; this machine has no Hub) names the tensors."""
    import huggingface_hub

    asked: list[str] = []

    class Metadata:
        weight_map = dict.fromkeys(checkpoint_keys(str(tiny_bert_nopool_dir)) or (), "model.safetensors")

    def headers(repo_id: str, **_: Any) -> Metadata:
        asked.append(repo_id)
        return Metadata()

    monkeypatch.setattr(huggingface_hub, "get_safetensors_metadata", headers)
    assert checkpoint_keys("someone/bert-without-pooler") is None and asked == []
    keys = checkpoint_keys("someone/bert-without-pooler", remote=True)
    assert asked == ["someone/bert-without-pooler"] and keys and not any(k.startswith("pooler.") for k in keys)

    def unreachable(repo_id: str, **_: Any) -> Metadata:
        raise OSError("no connection")

    monkeypatch.setattr(huggingface_hub, "get_safetensors_metadata", unreachable)
    assert checkpoint_keys("someone/bert-without-pooler", remote=True) is None
