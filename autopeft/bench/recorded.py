"""How a benchmark's committed results are written: a JSON file and a Markdown file side by side, naming their
inputs never by a path of the machine they ran on."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["recorded_command", "shown_path", "write_results"]


def shown_path(path: str | Path, root: Path) -> str:
    """``path`` as a result records it: relative to the repository ``root`` when inside it, else only its name."""
    resolved = Path(path).resolve()
    return resolved.relative_to(root.resolve()).as_posix() if resolved.is_relative_to(root.resolve()) \
        else resolved.name


def recorded_command(script: str, argv: Sequence[str], path_flags: Collection[str], root: Path) -> str:
    """``python SCRIPT ARGS`` as run, each value of a flag in ``path_flags`` shown by :func:`shown_path`."""
    given = list(argv)
    for i, arg in enumerate(given):
        if i and given[i - 1] in path_flags:
            given[i] = shown_path(arg, root)
    return " ".join(["python", script, *given])


def write_results(stem: str | Path, data: Mapping[str, Any], markdown: str) -> tuple[Path, Path]:
    """``STEM.json`` (``data``, indented, one trailing newline) and ``STEM.md`` (``markdown``), both UTF-8; the
    folder is made if missing. Returns the two paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".md")
    json_path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return json_path, md_path
