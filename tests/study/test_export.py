"""Export folders: what autopeft.json records, and refusals that never lose an existing folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from autopeft.errors import ExportError
from autopeft.methods import build
from autopeft.model.loading import load_model
from autopeft.space import load_space
from autopeft.study.export import CARD, MANIFEST, export, export_configuration, read_manifest, write_card
from autopeft.tasks import get_task

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_records_configuration_space_model_and_counts(tiny_bert_dir: Path, tmp_path: Path) -> None:
    space = load_space(ROOT / "spaces/minilm-layers.yaml")
    config = {"method": "ia3", "ia3.modules": "attention_ffn", "ia3.learning_rate": 0.01}
    folder = export_configuration(str(tiny_bert_dir), config, tmp_path / "out", num_labels=3, space=space)
    manifest = read_manifest(folder)
    assert manifest["configuration"] == config
    assert manifest["model_id"] == str(tiny_bert_dir) and manifest["base_model"] == str(tiny_bert_dir)
    assert manifest["space"]["name"] == "minilm-layers" and "per_layer" in manifest["space"]["yaml"]
    assert manifest["peft_adapter"] is True and manifest["trainable_params"] < manifest["total_params"]
    adapter = json.loads((folder / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "IA3" and adapter["base_model_name_or_path"] == str(tiny_bert_dir)


def test_refuses_a_non_empty_folder_unless_overwrite(tiny_bert_dir: Path, tmp_path: Path) -> None:
    built = build(load_model(str(tiny_bert_dir)), {"method": "ln_tuning"})
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    with pytest.raises(ExportError, match="not empty"):
        export(built, target, model_id="m", configuration={"method": "ln_tuning"})
    assert (target / "keep.txt").read_text() == "precious"
    export(built, target, model_id=str(tiny_bert_dir), configuration={"method": "ln_tuning"}, overwrite=True)
    assert (target / MANIFEST).is_file()


def test_overwrite_replaces_the_whole_folder(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A whole model written over an adapter (or the other way round) leaves none of the earlier files: a stale
    adapter_config.json made a head-only export read as an adapter."""
    target = tmp_path / "out"
    lora = {"method": "lora", "lora.r": 2}
    export(build(load_model(str(tiny_bert_dir), num_labels=2), lora), target, model_id=str(tiny_bert_dir),
           configuration=lora)
    head = {"method": "head_only"}
    export(build(load_model(str(tiny_bert_dir), num_labels=2), head), target, model_id=str(tiny_bert_dir),
           configuration=head, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == [CARD, MANIFEST, "config.json", "model.safetensors"]
    assert read_manifest(target)["peft_adapter"] is False
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # the folder written beside it is gone
    export(build(load_model(str(tiny_bert_dir), num_labels=2), lora), target, model_id=str(tiny_bert_dir),
           configuration=lora, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == sorted([CARD, MANIFEST, "adapter_config.json",
                                                               "adapter_model.safetensors"])


def test_refuses_a_file(tiny_bert_dir: Path, tmp_path: Path) -> None:
    built = build(load_model(str(tiny_bert_dir)), {"method": "ln_tuning"})
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        export(built, target, model_id="m", configuration={})


def test_read_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="not an autopeft export"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text("{broken")
    with pytest.raises(ExportError, match="not valid JSON"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"format_version": 99}))
    with pytest.raises(ExportError, match="newer"):
        read_manifest(tmp_path)


def test_non_finite_metrics_are_written_as_text(tiny_bert_dir: Path, tmp_path: Path) -> None:
    built = build(load_model(str(tiny_bert_dir)), {"method": "ln_tuning"})
    folder = export(built, tmp_path / "o", model_id=str(tiny_bert_dir), configuration={"method": "ln_tuning"},
                    metrics={"nll": float("nan"), "accuracy": 0.5})
    assert read_manifest(folder)["metrics"] == {"nll": "nan", "accuracy": 0.5}


def _card(folder: Path) -> tuple[dict[str, Any], str]:
    text = (folder / CARD).read_text()
    assert text.startswith("---\n") and text.count("\nlibrary_name:") == 1  # one card, not peft's and ours
    _, head, body = text.split("---\n", 2)
    return yaml.safe_load(head), body


def test_every_export_has_a_model_card_that_replaces_peft_s(tiny_bert_dir: Path, tmp_path: Path) -> None:
    import peft

    config = {"method": "ia3", "ia3.modules": "attention_ffn"}
    folder = export_configuration(str(tiny_bert_dir), config, tmp_path / "out", num_labels=3)
    meta, body = _card(folder)
    assert meta["base_model"] == str(tiny_bert_dir) and meta["library_name"] == "peft"
    assert {"autopeft", "ia3", f"base_model:adapter:{tiny_bert_dir}"} <= set(meta["tags"])
    assert "Model Card for Model ID" not in body and f"- PEFT {peft.__version__}" in body
    manifest = read_manifest(folder)
    assert manifest["model_kind"] == "encoder" and manifest["num_labels"] == 3
    assert f"**{manifest['trainable_params']:,}** trainable parameters" in body
    assert "AutoModelForSequenceClassification.from_pretrained(" in body and "num_labels=3)" in body
    assert "test split was not evaluated" in body


@pytest.mark.parametrize("method", ["head_only", "full"])
def test_whole_model_exports_have_a_transformers_card(method: str, tiny_bert_dir: Path, tmp_path: Path) -> None:
    folder = export_configuration(str(tiny_bert_dir), {"method": method}, tmp_path / method, num_labels=3)
    meta, body = _card(folder)
    assert meta["library_name"] == "transformers" and meta["base_model"] == str(tiny_bert_dir)
    assert "PeftModel" not in body and "AutoModelForSequenceClassification.from_pretrained(" in body


def test_a_picked_export_gets_the_runs_card(tiny_recipe: Path, tmp_path: Path) -> None:
    """Search, finalize, export, then the card from the journal (what ``export_pick`` calls at its end)."""
    import io

    import autopeft
    from autopeft.study.journal import Journal

    study = autopeft.create_study(tiny_recipe, out=tmp_path / "run", budget=3)
    study.optimize(stream=io.StringIO())
    study.finalize(pick="best", seeds=2, stream=io.StringIO())
    adapter = study.export(pick="best", out=tmp_path / "adapter")
    write_card(adapter, pick="best")  # run and trial from the manifest's source
    meta, body = _card(adapter)
    with Journal.open(tmp_path / "run", lock=False) as journal:
        number = read_manifest(adapter)["source"]["trial"]
        chosen = journal.trial(number)
        finals = [t for t in journal.trials(phase="finalize") if t.origin == f"finalize:{number}"]
    assert chosen.result is not None and len(finals) == 2
    results = {r["dataset"]["split"]: {m["type"]: m["value"] for m in r["metrics"]}
               for r in meta["model-index"][0]["results"]}
    assert results["validation"]["accuracy"] == chosen.result.metrics["accuracy"]
    assert results["test"]["accuracy"] == pytest.approx(
        sum(t.result.test_metrics["accuracy"] for t in finals if t.result and t.result.test_metrics) / 2)
    assert f"autopeft finalize {tmp_path / 'run'} --pick best --seeds 2" in body
    assert f"autopeft export {tmp_path / 'run'} --pick best --out {adapter}" in body
    assert f"this is trial {number}, picked as `best`" in body
    # the manifest carries the exported weights' own scores, validation and test: the finalized seed with the best
    # validation accuracy (the lower seed on a tie)
    best = min(finals, key=lambda t: (-t.result.metrics["accuracy"], t.seed))  # type: ignore[union-attr]
    manifest = read_manifest(adapter)
    assert manifest["source"]["weights"] == (f"finalized (trial-{number}-seed-{best.seed}: the best validation "
                                             f"accuracy of 2 finalized seeds, {best.result.metrics['accuracy']:.4f})")
    assert best.result is not None and best.result.test_metrics is not None
    assert manifest["metrics"]["accuracy"] == best.result.metrics["accuracy"]
    assert manifest["test_metrics"]["accuracy"] == best.result.test_metrics["accuracy"]


@pytest.mark.parametrize(("pick", "expect"), [
    ("trial:1", "(load with PeftModel.from_pretrained(base, "),  # the tiny recipe's first reference: LoRA
    ("head", "a whole model (head_only trains no adapter); load with AutoModelForSequenceClassification"),
])
def test_export_says_how_to_load_what_it_wrote(pick: str, expect: str, tiny_recipe: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from autopeft.cli.main import main
    from autopeft.study.journal import Journal

    assert main(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--budget", "2"]) == 0
    if pick == "head":  # a head_only trial added by hand: the random controller may not draw one in 2 trials
        from autopeft.trial import Fidelity, TrialResult

        with Journal.open(tmp_path / "run") as j:
            t = j.add_trial({"method": "head_only"}, Fidelity(steps=4), seed=0, origin="random")
            j.start(t.number)
            j.finish(t.number, TrialResult(config={"method": "head_only"}, fidelity=Fidelity(steps=4), seed=0,
                                           status="complete", metrics={"accuracy": 0.5}, trainable_params=34,
                                           total_params=100))
        pick = f"trial:{t.number}"
    capsys.readouterr()
    assert main(["export", str(tmp_path / "run"), "--pick", pick, "--out", str(tmp_path / "out")]) == 0
    said = capsys.readouterr()
    assert expect in said.out and said.err == ""  # a whole model's save shows no shard progress bar


def test_export_to_a_file_is_one_line(tiny_recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from autopeft.cli.main import main

    assert main(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--budget", "1"]) == 0
    (tmp_path / "afile").write_text("mine")
    capsys.readouterr()
    for extra in ([], ["--overwrite"]):  # a file is never replaced, even with --overwrite
        assert main(["export", str(tmp_path / "run"), "--pick", "trial:1", "--out", str(tmp_path / "afile"),
                     *extra]) == 2
        err = capsys.readouterr().err
        assert "is a file; allowed: a new or empty folder" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "afile").read_text() == "mine"
    for extra in ([], ["--merge"]):  # a folder under a file: one line before anything is built, not a traceback
        assert main(["export", str(tmp_path / "run"), "--pick", "trial:1", "--out", str(tmp_path / "afile" / "x"),
                     *extra]) == 2
        err = capsys.readouterr().err
        assert "'afile' is a file, so no folder can be made under it" in err.replace(str(tmp_path) + "/", "")
        assert len(err.strip().splitlines()) == 1
    # a trial id the run does not have names the ids it has
    assert main(["export", str(tmp_path / "run"), "--pick", "trial:99", "--out", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err
    assert "no trial 99 in" in err and "allowed: a search trial's id (1 to 1;" in err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("method", ["ia3", "head_only"])
def test_a_classification_task_names_the_outputs(method: str, tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Without the class names an exported classifier's outputs are numbers; the manifest, the card's snippet and
    a whole model's config (``id2label``, which pipelines read) name them, in the order of the logits."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    task = get_task("bbc-news")
    folder = export_configuration(str(tiny_bert_dir), {"method": method}, tmp_path / "out", num_labels=5, task=task)
    manifest = read_manifest(folder)
    assert manifest["labels"] == list(task.label_names) and "verbalizers" not in manifest
    body = (folder / CARD).read_text()
    names = dict(enumerate(task.label_names))
    if method == "head_only":
        assert "print(model.config.id2label)" in body
        model = AutoModelForSequenceClassification.from_pretrained(folder)
    else:
        assert f"labels = {list(task.label_names)!r}" in body and "id2label=dict(enumerate(labels))" in body
        labels = list(task.label_names)  # the card's snippet, as a user runs it
        base = AutoModelForSequenceClassification.from_pretrained(
            tiny_bert_dir, id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
        model = PeftModel.from_pretrained(base, str(folder))
    assert model.config.id2label == names and model.config.label2id == {v: k for k, v in names.items()}


def test_a_seq2seq_classifier_names_its_answers(tiny_t5_dir: Path, tmp_path: Path) -> None:
    task = get_task("sst2")
    folder = export_configuration(str(tiny_t5_dir), {"method": "ia3"}, tmp_path / "out", task=task)
    manifest = read_manifest(folder)
    assert manifest["labels"] == ["negative", "positive"] and manifest["verbalizers"] == ["negative", "positive"]
    assert "The model answers with one of 'negative', 'positive': the classes" in (folder / CARD).read_text()


def test_a_generation_task_has_no_labels(tiny_t5_dir: Path, tmp_path: Path) -> None:
    folder = export_configuration(str(tiny_t5_dir), {"method": "ia3"}, tmp_path / "out", task=get_task("samsum"))
    manifest = read_manifest(folder)
    assert "labels" not in manifest and "verbalizers" not in manifest
