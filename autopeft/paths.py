"""Where autopeft finds what it ships beside the package: the search spaces and the recipes.

A source checkout (or an editable install) has ``spaces/`` and ``search/`` next to the package; the
working directory's own ``spaces/`` and ``search/`` come first, so a project can add its own.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_RECIPE", "SHIPPED", "default_recipe", "space_dirs"]

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


def default_recipe() -> Path:
    """``search/default.yaml`` of the working directory when there is one, else the shipped one."""
    local = Path.cwd() / "search" / "default.yaml"
    return local if local.is_file() else DEFAULT_RECIPE
