"""autopeft.study.base_model: an export names a local base model folder absolutely, and is loaded from there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autopeft.study.base_model import absolute_base, anchor_base, manifest_base


def test_anchor_base_names_the_runs_model_where_it_is_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finalized weights copied to an export name the run's model as the run names it now: a relative folder (as
    weights saved before base folders were absolute name it) or a folder moved since (``--model``) becomes its
    absolute path, in the manifest and in the adapter's config; a Hub id stays as it is."""
    (tmp_path / "t5").mkdir()
    (tmp_path / "moved").mkdir()
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "t5", "r": 8}))
    monkeypatch.chdir(tmp_path)
    manifest = {"model_id": "t5", "base_model": "t5", "peft_adapter": True}
    anchored = anchor_base(folder, manifest, "t5")
    assert anchored == {**manifest, "base_model": str(tmp_path / "t5")} and manifest["base_model"] == "t5"
    assert json.loads((folder / "adapter_config.json").read_text()) == {
        "base_model_name_or_path": str(tmp_path / "t5"), "r": 8}
    assert anchor_base(folder, anchored, str(tmp_path / "moved"))["base_model"] == str(tmp_path / "moved")
    assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == \
        str(tmp_path / "moved")
    hub = {"model_id": "google/flan-t5-small", "base_model": "google/flan-t5-small"}
    assert anchor_base(tmp_path / "whole", hub, "google/flan-t5-small") == hub  # a whole model: no adapter config
    assert absolute_base("") == "" and absolute_base("google/flan-t5-small") == "google/flan-t5-small"
    assert absolute_base("t5") == str(tmp_path / "t5")


def test_manifest_base_prefers_the_absolute_folder_while_it_is_there(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t5").mkdir()
    monkeypatch.chdir(tmp_path)
    assert manifest_base({"model_id": "t5", "base_model": str(tmp_path / "t5")}) == str(tmp_path / "t5")
    assert manifest_base({"model_id": "t5", "base_model": str(tmp_path / "gone")}) == "t5"
    assert manifest_base({"model_id": "t5", "base_model": "t5"}) == "t5"  # an export made before
    assert manifest_base({"model_id": "minilm", "base_model": str(tmp_path / "t5")}) == "minilm"  # an alias
    assert manifest_base({"model_id": "google/flan-t5-small", "base_model": "google/flan-t5-small"}) == \
        "google/flan-t5-small"
    assert manifest_base({"base_model": "google/flan-t5-small"}) == "google/flan-t5-small"
