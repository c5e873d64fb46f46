"""``export --merge``: an adapter folded into the base weights loads without peft and gives the same outputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from autopeft.errors import ExportError
from autopeft.methods import build, get_method, method_names
from autopeft.model.loading import load_model, load_tokenizer
from autopeft.study.export import CARD, export, read_manifest
from autopeft.study.merge import ADAPTER_FILES, check_mergeable, merge_export
from autopeft.tasks import get_task

#: every mergeable method that adapts weights with peft, with options that give it something to merge
CONFIGS: dict[str, dict[str, Any]] = {
    "lora": {"lora.r": 2, "lora.modules": "qv"},
    "dora": {"dora.r": 2, "dora.modules": "attention"},
    "ia3": {},
    "ln_tuning": {},
    "bitfit": {},
    "beft": {"beft.modules": "attention"},
}
#: T5's linear layers have no biases: BitFit has none to train and BEFT none to merge into
CASES = [pytest.param(method, kind, id=f"{method}-{kind}") for method in CONFIGS for kind in ("t5", "bert", "deberta")
         if (method, kind) not in {("bitfit", "t5"), ("beft", "t5")}]


def test_the_table_covers_every_mergeable_adapter_method() -> None:
    whole = {"head_only", "full"}  # whole models already: --merge leaves them as they are
    assert set(CONFIGS) == {m for m in method_names() if not get_method(m).merge_problem("encoder")} - whole


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_a_merged_export_loads_without_peft_and_gives_the_adapters_outputs(
        method: str, kind: str, tiny_models: dict[str, Path], tmp_path: Path,
        batch_for: Callable[..., dict[str, Any]], trainer: Callable[..., list[float]]) -> None:
    from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification

    labels = None if kind == "t5" else 3
    torch.manual_seed(0)
    config = {"method": method, **CONFIGS[method], "learning_rate": 5e-2}
    built = build(load_model(str(tiny_models[kind]), num_labels=labels), config)
    batch = batch_for(kind, load_tokenizer(str(tiny_models[kind])))
    trainer(built.model, batch, lr=built.learning_rate)  # a trained adapter: LoRA's starts as no change at all
    built.model.eval()
    with torch.no_grad():
        expected = built.model(**batch).logits
    task = get_task("sst2" if kind == "t5" else "cb")  # a classification task with as many classes
    folder = export(built, tmp_path / "out", model_id=str(tiny_models[kind]), configuration=config, task=task)
    torch.manual_seed(123)  # the base loaded for merging gets another fresh head: the adapter's saved one wins
    merge_export(folder)

    assert not any((folder / name).exists() for name in ADAPTER_FILES)
    manifest = read_manifest(folder)
    assert manifest["merged"] is True and manifest["peft_adapter"] is False
    card = (folder / CARD).read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["library_name"] == "transformers" and "merged into the base model's weights" in card
    assert "PeftModel" not in card
    cls = AutoModelForSeq2SeqLM if kind == "t5" else AutoModelForSequenceClassification
    merged = cls.from_pretrained(folder).eval()
    assert not any("lora" in n or "ia3" in n or "beft" in n for n, _ in merged.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(merged(**batch).logits, expected, rtol=1e-4, atol=1e-4)
    if kind != "t5":  # the class names reach the merged model's config, which pipelines read
        assert merged.config.id2label == dict(enumerate(task.label_names)) and len(task.label_names) == 3


@pytest.mark.parametrize(("method", "kind", "why"), [
    ("prompt_tuning", "encoder", "adds virtual tokens to the input, which are not weights"),
    ("prefix_tuning", "seq2seq", "adds virtual tokens to the input, which are not weights"),
    ("beft", "seq2seq", "adds biases to T5's linear layers, which have none to merge them into"),
])
def test_what_cannot_be_merged_says_why_and_what_can(method: str, kind: str, why: str) -> None:
    with pytest.raises(ExportError) as info:
        check_mergeable(method, kind)
    message = str(info.value)
    assert message.startswith(f"--merge: method {method!r} {why}, so it cannot be merged; allowed: ")
    allowed = set(message.split("allowed: ")[1].split(" (or")[0].split(", "))
    assert {"lora", "dora", "ia3", "ln_tuning", "full"} <= allowed and method not in allowed
    check_mergeable("beft", "encoder")  # BERT's linear layers have biases to take BEFT's


def test_a_prompt_tuning_export_is_left_as_it_was(tiny_bert_dir: Path, tmp_path: Path) -> None:
    config = {"method": "prompt_tuning", "prompt_tuning.num_virtual_tokens": 2}
    built = build(load_model(str(tiny_bert_dir), num_labels=2), config)
    folder = export(built, tmp_path / "out", model_id=str(tiny_bert_dir), configuration=config)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ExportError, match="cannot be merged"):
        merge_export(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_export_merge_from_the_command_line(tiny_recipe: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A one-trial run's best point (the tiny recipe's first reference, LoRA) exported merged."""
    from autopeft.cli.main import main

    assert main(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--budget", "1"]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "run"), "--pick", "best", "--out", str(tmp_path / "merged"),
                 "--merge"]) == 0
    said = capsys.readouterr()
    assert said.out.startswith(f"exported to {tmp_path / 'merged'}: a whole model (its lora adapter merged into "
                               "the base weights); load with AutoModelForSequenceClassification.from_pretrained(")
    assert said.err == ""
    assert (tmp_path / "merged" / "model.safetensors").is_file()
    assert f"--pick best --out {tmp_path / 'merged'} --merge" in (tmp_path / "merged" / CARD).read_text()


def test_the_python_api_merges_too(tiny_recipe: Path, tiny_deberta_dir: Path, tmp_path: Path) -> None:
    """create_study(model=...) as --model (here DeBERTa, whose pooler the merge must carry), export(merge=True)."""
    import io

    import autopeft
    from autopeft.errors import ConfigError

    with pytest.raises(ConfigError, match="model must be a model name, folder or Hub id"):
        autopeft.create_study(tiny_recipe, out=tmp_path / "bad-run", model=3)  # type: ignore[arg-type]
    study = autopeft.create_study(tiny_recipe, out=tmp_path / "run", budget=1, model=str(tiny_deberta_dir))
    study.optimize(stream=io.StringIO())
    with pytest.raises(ConfigError, match="merge must be True or False, got 'yes'"):
        study.export(pick="best", out=tmp_path / "bad", merge="yes")  # type: ignore[arg-type]
    folder = study.export(pick="best", out=tmp_path / "merged", merge=True)
    manifest = read_manifest(folder)
    assert manifest["merged"] is True and manifest["model_id"] == str(tiny_deberta_dir)
    assert not (folder / "adapter_config.json").exists()
