"""What the result-writing benchmarks share: paths relative to the repository, and the JSON + Markdown pair."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def relative(path: Path) -> Path:
    """``path`` relative to the repository root where it lies inside it (as the commands in results name it)."""
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return path


def write_results(out: Path, data: dict[str, Any], markdown: str) -> None:
    """``out.json`` (``data`` with the machine it ran on) and ``out.md``; the Markdown is printed too."""
    data["machine"] = {"platform": platform.platform(), "python": platform.python_version()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown)
    print(markdown)
