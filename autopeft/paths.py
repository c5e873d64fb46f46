"""Where autopeft finds what it ships beside the package (the search spaces and the recipes), and whether it may
write where a command is told to.

A source checkout (or an editable install) has ``spaces/`` and ``search/`` next to the package; the
working directory's own ``spaces/`` and ``search/`` come first, so a project can add its own. :func:`find_space`
is the one lookup of a space argument (a recipe's ``space:``, ``spaces check``, ``build --space``, ``bench
--space``): a path, else a listed space's name.

:func:`unwritable` is checked by every command that writes a folder or file (``export``, ``report``, ``bench
--out``, a new search's run folder) before its work, so that a bad ``--out`` is one line at once, not a
traceback after the work is done.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_RECIPE", "SHIPPED", "default_recipe", "find_space", "space_dirs", "unwritable"]

#: The folder that holds the package, ``spaces/`` and ``search/`` in a source checkout.
SHIPPED = Path(__file__).resolve().parent.parent
#: The embedded offline default recipe (MiniLM on tweets-sentiment).
DEFAULT_RECIPE = SHIPPED / "search" / "default.yaml"


def space_dirs() -> list[Path]:
    """Where space names are looked up: ./spaces, then the spaces/ shipped beside the package."""
    dirs = [Path.cwd() / "spaces", SHIPPED / "spaces"]
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def find_space(raw: str | Path, *, base: Path | None = None) -> str:
    """The file a space argument names: ``raw`` relative to ``base`` (a recipe's folder), else to the working
    directory, else a space of :func:`space_dirs` by name (``minilm-layers`` or ``minilm-layers.yaml``, as
    ``autopeft spaces list`` shows them); ``raw`` itself when none is a file, so the loader names what is missing.
    """
    raw = str(raw)
    candidates = [*([base / raw] if base is not None else []), Path(raw)]
    if Path(raw).name == raw:  # a bare name, not a path
        name = raw if raw.endswith((".yaml", ".yml")) else f"{raw}.yaml"
        candidates += [d / name for d in space_dirs()]
    return str(next((path for path in candidates if path.is_file()), base / raw if base is not None else raw))


def default_recipe() -> Path:
    """``search/default.yaml`` of the working directory when there is one, else the shipped one."""
    local = Path.cwd() / "search" / "default.yaml"
    return local if local.is_file() else DEFAULT_RECIPE


def unwritable(path: str | Path, *, folder: bool = True) -> str | None:
    """Why ``path`` cannot be made (a folder, or a file when ``folder`` is false) or written; ``None`` when it can.

    Nothing is created: the nearest existing ancestor must be a folder this user may write in.

    >>> unwritable("/dev/null/out")
    "'/dev/null' is a file, so no folder can be made under it"
    """
    path = Path(path)
    if path.exists():
        if folder != path.is_dir():
            return "it is a file" if folder else "it is a folder"
        return None if os.access(path, os.W_OK) else "this user cannot write it"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{str(parent)!r} is a file, so no folder can be made under it"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"this user cannot write in {str(parent)!r}"
    return None
