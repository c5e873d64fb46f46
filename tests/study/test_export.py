"""Export folders: what autopeft.json records, and refusals that never lose an existing folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autopeft.errors import ExportError
from autopeft.methods import build
from autopeft.model.loading import load_model
from autopeft.space import load_space
from autopeft.study.export import MANIFEST, export, export_configuration, read_manifest

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
