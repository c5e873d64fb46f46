"""A configuration (and trained weights, when given) -> a folder plain ``peft`` loads.

The folder holds what the method's ``save`` writes (``adapter_config.json`` +
``adapter_model.safetensors`` for every PEFT method; a whole model folder for ``full``) and
``autopeft.json``: the configuration, the space it came from, the base model and metrics.

>>> export(built, "adapters/knee", model_id="minilm", configuration=config)   # doctest: +SKIP
>>> PeftModel.from_pretrained(base, "adapters/knee")                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autopeft.errors import ExportError
from autopeft.methods import BuiltModel, build, get_method
from autopeft.model.loading import load_model, resolve
from autopeft.space import SpaceSpec
from autopeft.trial import jsonable
from autopeft.version import __version__

MANIFEST = "autopeft.json"
FORMAT_VERSION = 1


def export(
    built: BuiltModel,
    folder: str | Path,
    *,
    model_id: str,
    configuration: Mapping[str, Any],
    space: SpaceSpec | None = None,
    metrics: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``built`` (trained or not) to ``folder``; returns the folder."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise ExportError(f"export folder {str(out)!r} is a file; allowed: a new or empty folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"export folder {str(out)!r} is not empty; allowed: a new or empty folder (or overwrite)")
    out.mkdir(parents=True, exist_ok=True)
    method = get_method(built.method)
    base_ref = resolve(model_id)
    method.save(built, out)
    _set_base_model(out, base_ref)
    manifest = {
        "format_version": FORMAT_VERSION,
        "autopeft_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model_id": model_id,
        "base_model": base_ref,
        "method": built.method,
        "peft_adapter": (out / "adapter_config.json").is_file(),  # head_only and full save a whole model
        "configuration": jsonable(dict(configuration)),
        "options": jsonable(built.options),
        "trainable_params": built.trainable_params,
        "total_params": built.total_params,
        "space": _space_record(space),
        "metrics": jsonable(dict(metrics or {})),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    return out


def export_configuration(
    model_id: str,
    configuration: Mapping[str, Any],
    folder: str | Path,
    *,
    num_labels: int | None = None,
    space: SpaceSpec | None = None,
    overwrite: bool = False,
) -> Path:
    """Build ``configuration`` on freshly loaded base weights (untrained adapter) and export it."""
    model = load_model(model_id, num_labels=num_labels)
    built = build(model, configuration)
    return export(built, folder, model_id=model_id, configuration=configuration, space=space, overwrite=overwrite)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ExportError(f"{str(folder)!r} is not an autopeft export: {MANIFEST} is missing")
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise ExportError(
            f"{path}: format_version {data.get('format_version')} is newer than this autopeft reads "
            f"({FORMAT_VERSION}); upgrade autopeft"
        )
    return data


def _set_base_model(folder: Path, base_ref: str) -> None:
    config_path = folder / "adapter_config.json"
    if config_path.is_file():
        data = json.loads(config_path.read_text())
        data["base_model_name_or_path"] = base_ref
        config_path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _space_record(space: SpaceSpec | None) -> dict[str, Any] | None:
    if space is None:
        return None
    return {"name": space.name, "file": space.source, "yaml": space.text}
