"""How a benchmark's committed results name its inputs: never by a path of the machine it ran on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

__all__ = ["recorded_command", "shown_path"]


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
