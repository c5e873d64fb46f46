"""Where an export's base model is. A run names a local model folder as it was given (relative to where the run
runs, as it names its data file), so that a project folder moved as a whole still reopens; an export leaves the
project, so it names the folder by its absolute path (``autopeft.json``'s ``base_model`` and the adapter's
``base_model_name_or_path``), and ``predict`` and ``export --merge`` load the base model from there."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["absolute_base", "anchor_base", "manifest_base", "set_adapter_base"]


def absolute_base(base_ref: str) -> str:
    """A base model folder as its absolute path; an alias's resolved path or a Hub id as it is."""
    return str(Path(base_ref).resolve()) if base_ref and Path(base_ref).is_dir() else base_ref


def set_adapter_base(folder: Path, base_ref: str) -> None:
    """Name ``base_ref`` in the ``adapter_config.json`` of ``folder`` (a whole model has none: nothing to do)."""
    config_path = folder / "adapter_config.json"
    if config_path.is_file():
        data = json.loads(config_path.read_text())
        data["base_model_name_or_path"] = base_ref
        config_path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def anchor_base(folder: Path, manifest: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The manifest of export ``folder``, copied from a run's finalized weights, naming the run's ``model`` where
    it is now (a folder moved since the finalize, given with ``--model``; or weights saved before exports named
    their base folder absolutely), in ``adapter_config.json`` too."""
    from autopeft.model.loading import resolve

    base_ref = absolute_base(resolve(model))
    if base_ref != manifest.get("base_model"):
        set_adapter_base(folder, base_ref)
    return {**manifest, "base_model": base_ref}


def manifest_base(manifest: Mapping[str, Any]) -> str:
    """The base model an export names: an alias as it is; else the folder the model was in when exported
    (absolute), while it is there; else the model as the run named it (a Hub id, or a folder relative to the
    working directory, as exports made before base folders were absolute name it)."""
    from autopeft.model.loading import ALIASES

    named, resolved = manifest.get("model_id"), manifest.get("base_model")
    if named not in ALIASES and resolved and Path(str(resolved)).is_dir():
        return str(resolved)
    return str(named or resolved)
