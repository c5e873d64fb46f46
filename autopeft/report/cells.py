"""How a report writes one value: a metric, a parameter count, a wall time, a test mean ± std, a learning rate,
a path, and rows as CSV text. Empty text stands for a missing value."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from autopeft.objectives import OBJECTIVES

__all__ = ["csv_text", "lr_text", "metric_label", "minutes", "num", "params_text", "plus_minus", "shown_path"]


def metric_label(name: str) -> str:
    """A metric's label for a table or an axis: the registered objective's, else the name in words."""
    return OBJECTIVES[name].label if name in OBJECTIVES else name.replace("_", " ")


def num(value: Any, digits: int = 4) -> str:
    """A metric to ``digits`` places; ``""`` for a missing or NaN one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}"


def params_text(value: Any) -> str:
    """A parameter count with thousands separators."""
    return "" if value is None else f"{int(value):,}"


def minutes(seconds: float) -> str:
    """A wall time in minutes, or in hours from one hour on."""
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def plus_minus(row: dict[str, Any], key: str, prefix: str = "test_") -> str:
    """A finalize row's test mean ± std of metric ``key`` (another ``prefix``: another of its means)."""
    mean, std = row.get(f"{prefix}{key}_mean"), row.get(f"{prefix}{key}_std")
    return "" if mean is None else f"{mean:.4f} ± {std:.4f}"


def lr_text(value: float | None) -> str:
    """A learning rate, or what a configuration without one trains with."""
    return "as configured" if value is None else f"{value:g}"


def shown_path(path: str) -> str:
    """A path as a reader can use it: relative to the working folder when inside it, normalised."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV; the columns are every key in the order first seen (a row without one leaves it empty)."""
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
