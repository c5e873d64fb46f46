"""A configuration as a table's CSV cells and back, and the error every table module raises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autopeft.errors import AutopeftError, ConfigError
from autopeft.space import DimensionSpec, Space
from autopeft.space.dimensions import PerLayerSpec

#: Column names that are configuration keys although they have no '.' (global options and the method).
PLAIN_KEYS = ("method", "learning_rate")


class TableError(AutopeftError):
    """A table that cannot be read or does not fit its space, or a question it cannot answer.

    Deliberately not a :class:`ConfigError`: controllers treat a ConfigError from a known objective as
    "this configuration does not build", and a configuration missing from the table must not be mistaken
    for that.
    """


# ---- cells ------------------------------------------------------------------------------------------------------
def cell_text(value: Any) -> str:
    """A configuration value as a CSV cell: ``true``/``false``, numbers in their shortest form, text as is."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def dimension_columns(space: Space) -> list[str]:
    """One column per dimension, one per block for a per-layer dimension (``lora.ranks[encoder.2]``)."""
    out: list[str] = []
    for dim in space.dimensions:
        if isinstance(dim, PerLayerSpec):
            out.extend(f"{dim.name}[{block}]" for block in dim.blocks)
        else:
            out.append(dim.name)
    return out


def group_label(space: Space, config: Mapping[str, Any], columns: Sequence[str]) -> str:
    """A member's group by ``columns``: its method and its cells there, the empty ones left out.

    A diagnostic's way to split a method's members, as ``lora lora.modules=qv lora.ranks[encoder.5]=16``;
    ``columns`` come from :func:`dimension_columns` (:func:`unknown_column` checks them)."""
    cells = config_cells(space, config)
    return " ".join([str(config["method"]), *(f"{c}={cells[c]}" for c in columns if cells.get(c))])


def unknown_column(space: Space, columns: Sequence[str]) -> str | None:
    """The error for the first of ``columns`` that is not a dimension column of ``space``, or None."""
    allowed = dimension_columns(space)
    bad = [c for c in columns if c not in allowed]
    return f"{bad[0]!r} is not a dimension column of the table; allowed: {', '.join(allowed)}" if bad else None


def config_cells(space: Space, config: Mapping[str, Any]) -> dict[str, str]:
    """The dimension cells of one member (empty where a dimension is inactive)."""
    cells = dict.fromkeys(dimension_columns(space), "")
    for dim in space.dimensions:
        if dim.name not in config:
            continue
        value = config[dim.name]
        if isinstance(dim, PerLayerSpec):
            for block in dim.blocks:
                cells[f"{dim.name}[{block}]"] = cell_text(value[block])
        else:
            cells[dim.name] = cell_text(value)
    return cells


def _choices(dim: DimensionSpec) -> tuple[Any, ...] | None:
    if dim.type == "constant":
        return (dim.default_value(),)
    choices = getattr(dim, "choices", None)
    return tuple(choices) if choices is not None else None


def _parse_cell(dim: DimensionSpec, text: str, where: str) -> Any:
    choices = _choices(dim)
    if choices is None:  # integer / float ranges: any number the dimension accepts
        try:
            number: float = float(text)
        except ValueError:
            raise TableError(f"{where}: {text!r} is not a number") from None
        return int(number) if dim.type == "integer" and number.is_integer() else number
    for choice in choices:
        if cell_text(choice) == text:
            return choice
    for choice in choices:  # "0.01" for the choice 1e-2
        if isinstance(choice, (int, float)) and not isinstance(choice, bool):
            try:
                if float(text) == float(choice):
                    return choice
            except ValueError:
                break
    shown = ", ".join(cell_text(c) for c in choices)
    raise TableError(f"{where}: {text!r} is not one of the choices of {dim.name!r}; allowed: {shown}")


def config_from_cells(space: Space, row: Mapping[str, str], where: str) -> dict[str, Any]:
    """A row's configuration, read from its dimension columns (inactive ones empty); a TableError names the cell."""
    config: dict[str, Any] = {}
    for dim in space.dimensions:
        columns = ([f"{dim.name}[{b}]" for b in dim.blocks] if isinstance(dim, PerLayerSpec) else [dim.name])
        cells = [(row.get(c) or "").strip() for c in columns]
        if not space.is_active(dim, config):
            filled = [c for c, text in zip(columns, cells, strict=True) if text]
            if filled:
                raise TableError(f"{where}: column {filled[0]!r} is set but dimension {dim.name!r} is inactive "
                                 f"for this configuration; allowed: an empty cell")
            continue
        empty = [c for c, text in zip(columns, cells, strict=True) if not text]
        if empty:
            raise TableError(f"{where}: column {empty[0]!r} is empty but dimension {dim.name!r} is active; "
                             f"allowed: one of its values")
        if isinstance(dim, PerLayerSpec):
            config[dim.name] = {b: _parse_cell(dim, text, f"{where}: column {c!r}")
                                for b, c, text in zip(dim.blocks, columns, cells, strict=True)}
        else:
            config[dim.name] = _parse_cell(dim, cells[0], f"{where}: column {columns[0]!r}")
    try:
        return space.validate(config, fill=False)
    except ConfigError as exc:
        raise TableError(f"{where}: {exc}") from None
