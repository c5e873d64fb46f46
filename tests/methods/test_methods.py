"""Every registered method on tiny T5, BERT (with and without a pooler in its checkpoint), DistilBERT and
DeBERTa(-v3): builds, trains, counts, exports, reloads.

The table below must name every registered method: a new method gets this suite for free
once it adds one row.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from autopeft.errors import MethodError
from autopeft.methods import build, method_names
from autopeft.model.graph import ModelGraph
from autopeft.model.loading import load_model, load_tokenizer
from autopeft.study.export import export, read_manifest
from tests.conftest import ENCODERS as FAMILIES

#: the encoder families, and a BERT checkpoint saved without its pooler (a fresh pooler must train and be saved)
ENCODERS = (*FAMILIES, "bert-nopool")

#: method -> (options for the test, learning rate for 3 visible steps)
OPTIONS: dict[str, dict[str, Any]] = {
    "lora": {"lora.r": 4, "lora.modules": "qv", "lora.alpha_ratio": 2.0},
    "dora": {"dora.r": 2, "dora.modules": "attention"},
    "ia3": {},
    "prompt_tuning": {"prompt_tuning.num_virtual_tokens": 5, "prompt_tuning.init": "random"},
    "prefix_tuning": {"prefix_tuning.num_virtual_tokens": 4},
    "ln_tuning": {},
    "bitfit": {},
    "beft": {"beft.modules": "attention"},
    "full": {},
    "head_only": {},
}
#: T5 has no biases; encoder attention takes no past key values: both tested as errors below
NOT_APPLICABLE = {("bitfit", "t5"), ("head_only", "t5"), *(("prefix_tuning", kind) for kind in ENCODERS)}
CASES = [
    pytest.param(m, kind, id=f"{m}-{kind}")
    for m in OPTIONS for kind in ("t5", *ENCODERS) if (m, kind) not in NOT_APPLICABLE
]
#: the top-level modules of each encoder's classification head, new when a classifier is loaded from its base
HEADS = {"bert": ("classifier",), "distilbert": ("pre_classifier", "classifier"), "deberta": ("pooler", "classifier"),
         "bert-nopool": ("bert", "classifier")}
NUM_LABELS = 3


def test_table_covers_every_registered_method() -> None:
    assert sorted(OPTIONS) == sorted(method_names())


def _load(kind: str, tiny_models: dict[str, Path], seed: int = 1234) -> Any:
    torch.manual_seed(seed)  # the classifier head is freshly initialised on every load
    return load_model(str(tiny_models[kind]), num_labels=NUM_LABELS)


def _outputs(model: Any, batch: dict[str, Any]) -> torch.Tensor:
    with torch.no_grad():
        return model(**batch).logits


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_build_train_export_reload(
    method: str, kind: str, tiny_models: dict[str, Path], tmp_path: Path,
    batch_for: Callable[..., dict[str, Any]], trainer: Callable[..., list[float]],
) -> None:
    from peft import PeftModel

    model = _load(kind, tiny_models)
    config = {"method": method, **OPTIONS[method], "learning_rate": 5e-2}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = build(model, config)
    noise = ("is_gradient_checkpointing", "Unsupported layer type", "no bias term")  # nothing wrong: said by peft
    assert not [str(w.message) for w in caught if any(n in str(w.message) for n in noise)]
    assert 0 < built.trainable_params <= built.total_params
    names = built.trainable_names()
    if kind in ENCODERS and method != "full":
        assert any("classifier" in n for n in names), "the classification head must train"

    batch = batch_for(kind, load_tokenizer(str(tiny_models[kind])))
    before = {n: p.detach().clone() for n, p in built.model.named_parameters()}
    losses = trainer(built.model, batch, lr=built.learning_rate)
    assert len(set(losses)) > 1, f"loss did not change: {losses}"
    params = dict(built.model.named_parameters())
    changed = [n for n, p in params.items() if p.requires_grad and not torch.equal(p, before[n])]
    assert changed, "no trainable parameter moved"
    frozen_moved = [n for n, p in params.items() if not p.requires_grad and not torch.equal(p, before[n])]
    assert not frozen_moved, frozen_moved

    expected = _outputs(built.model, batch)
    folder = export(built, tmp_path / "adapter", model_id=str(tiny_models[kind]), configuration=config,
                    metrics={"accuracy": 0.5})
    manifest = read_manifest(folder)
    assert manifest["configuration"] == config
    assert manifest["trainable_params"] == built.trainable_params
    assert manifest["metrics"] == {"accuracy": 0.5}

    if method in ("full", "head_only"):
        assert not (folder / "adapter_config.json").exists()
        from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification

        cls = AutoModelForSeq2SeqLM if kind == "t5" else AutoModelForSequenceClassification
        reloaded = cls.from_pretrained(folder).eval()
    else:
        assert (folder / "adapter_config.json").is_file()
        base = _load(kind, tiny_models, seed=999)  # another fresh head must not matter: the adapter saves it
        reloaded = PeftModel.from_pretrained(base, str(folder)).eval()
    torch.testing.assert_close(_outputs(reloaded, batch), expected, rtol=1e-5, atol=1e-5)


def test_bitfit_on_t5_points_to_beft(tiny_models: dict[str, Path]) -> None:
    model = _load("t5", tiny_models)
    with pytest.raises(MethodError, match="beft"):
        build(model, {"method": "bitfit"})


def test_head_only_needs_a_head(tiny_models: dict[str, Path]) -> None:
    with pytest.raises(MethodError, match="classification head"):
        build(_load("t5", tiny_models), {"method": "head_only"})


@pytest.mark.parametrize("kind", ENCODERS)
def test_head_only_trains_exactly_the_head(kind: str, tiny_models: dict[str, Path]) -> None:
    built = build(_load(kind, tiny_models), {"method": "head_only"})
    assert built.trainable_params == _head_params(kind)
    assert {n.split(".")[0] for n in built.trainable_names()} == set(HEADS[kind])


@pytest.mark.parametrize("kind", ENCODERS)
def test_prefix_tuning_on_an_encoder_points_to_prompt_tuning(kind: str, tiny_models: dict[str, Path]) -> None:
    model = _load(kind, tiny_models)
    with pytest.raises(MethodError, match="prompt_tuning"):
        build(model, {"method": "prefix_tuning"})


def _head_params(kind: str) -> int:
    """The classifier (16 -> 3), and DistilBERT's pre-classifier or DeBERTa's pooler (or the pooler that a BERT
    checkpoint lacks) (16 -> 16) before it."""
    classifier = 16 * NUM_LABELS + NUM_LABELS
    return {"t5": 0, "bert": classifier}.get(kind, 16 * 16 + 16 + classifier)


@pytest.mark.parametrize("kind", ["t5", *ENCODERS])
def test_lora_count_matches_hand_calculation(kind: str, tiny_models: dict[str, Path]) -> None:
    model = _load(kind, tiny_models)
    graph = ModelGraph.from_model(model)
    # every block: q and v are 16 -> 16 linears; LoRA adds r * (in + out) each
    blocks = graph.block_ids()
    expected = 4 * (16 + 16) * 2 * len(blocks) + _head_params(kind)
    built = build(model, {"method": "lora", "lora.r": 4, "lora.modules": "qv"}, graph)
    assert built.trainable_params == expected


@pytest.mark.parametrize("kind", ["t5", *ENCODERS])
def test_ia3_count_matches_hand_calculation(kind: str, tiny_models: dict[str, Path]) -> None:
    model = _load(kind, tiny_models)
    graph = ModelGraph.from_model(model)
    # keys and values scale their 16 outputs; the second feed-forward linear scales its d_ff = 32 inputs
    expected = len(graph.block_ids()) * (16 + 16 + 32) + _head_params(kind)
    built = build(model, {"method": "ia3"}, graph)
    assert built.trainable_params == expected


@pytest.mark.parametrize("kind", ["t5", *ENCODERS])
def test_prompt_tuning_count_matches_hand_calculation(kind: str, tiny_models: dict[str, Path]) -> None:
    model = _load(kind, tiny_models)
    built = build(model, {"method": "prompt_tuning", "prompt_tuning.num_virtual_tokens": 7})
    assert built.trainable_params == 7 * 16 + _head_params(kind)
