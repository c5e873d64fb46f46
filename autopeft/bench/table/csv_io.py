"""Reading a table (CSV + sidecar JSON) with every cell checked against its space, and writing one."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from autopeft.bench.table.cells import (
    PLAIN_KEYS,
    TableError,
    cell_text,
    config_cells,
    config_from_cells,
    dimension_columns,
)
from autopeft.bench.table.store import (
    RECORD_COLUMNS,
    REQUIRED_COLUMNS,
    STATES,
    Entry,
    Measurement,
    Table,
    TableMeta,
    sidecar_path,
)
from autopeft.errors import SpaceError
from autopeft.space import Space, parse_space
from autopeft.trial import config_key


# ---- reading ---------------------------------------------------------------------------------------------------
def _number(text: str | None, where: str, *, integer: bool = False) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise TableError(f"{where}: {text!r} is not a number") from None
    if integer and not value.is_integer():
        raise TableError(f"{where}: {text!r} is not an integer")
    return value


def _check_header(header: Sequence[str], space: Space, where: str) -> None:
    dims = dimension_columns(space)
    missing = [c for c in [*dims, *REQUIRED_COLUMNS] if c not in header]
    looks_like_key = [c for c in header if c not in dims and ("." in c or "[" in c or c in PLAIN_KEYS)]
    if missing or looks_like_key:
        parts = []
        if missing:
            parts.append(f"missing columns {', '.join(missing)}")
        if looks_like_key:
            parts.append(f"extra columns {', '.join(looks_like_key)} (not dimensions of the space)")
        raise TableError(f"{where}: the columns do not match space {space.spec.name!r}: {'; '.join(parts)}; "
                         f"allowed: the dimension columns {', '.join(dims)} plus {', '.join(REQUIRED_COLUMNS)} "
                         f"and metric columns")
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise TableError(f"{where}: duplicated columns {', '.join(duplicated)}")


def _measurement(row: Mapping[str, str], metric_columns: Sequence[str], where: str) -> tuple[int, Measurement]:
    steps = _number(row.get("fidelity_steps"), f"{where}: column 'fidelity_steps'", integer=True)
    seed = _number(row.get("seed"), f"{where}: column 'seed'", integer=True)
    if steps is None or steps < 1 or seed is None or seed < 0:
        raise TableError(f"{where}: fidelity_steps must be an integer >= 1 and seed an integer >= 0, got "
                         f"{row.get('fidelity_steps')!r} and {row.get('seed')!r}")
    state = (row.get("state") or "").strip()
    if state not in STATES:
        raise TableError(f"{where}: column 'state': {state!r} is not allowed; allowed: {', '.join(STATES)}")
    metrics: dict[str, float] = {}
    for column in metric_columns:
        value = _number(row.get(column), f"{where}: column {column!r}")
        if value is not None:
            metrics[column] = value
    params = _number(row.get("trainable_params"), f"{where}: column 'trainable_params'")
    if params is not None and params <= 0:
        raise TableError(f"{where}: column 'trainable_params' must be > 0, got {params!r}")
    if state == "complete" and params is None:
        raise TableError(f"{where}: a complete row needs 'trainable_params'")
    number = {c: _number(row.get(c), f"{where}: column {c!r}", integer=c in ("total_params", "steps"))
              for c in ("total_params", "steps", "train_seconds", "eval_seconds", "peak_memory_mb")}
    ran = number["steps"]
    return int(steps), Measurement(seed=int(seed), state=state, metrics=metrics, trainable_params=params,
                                   total_params=number["total_params"], error=(row.get("error") or None),
                                   steps=None if ran is None else int(ran), train_seconds=number["train_seconds"],
                                   eval_seconds=number["eval_seconds"], peak_memory_mb=number["peak_memory_mb"],
                                   device=(row.get("device") or "").strip() or None)


def load_table(path: str | Path, *, space: str | Path | None = None) -> Table:
    """Read ``path`` (CSV) with its sidecar JSON; ``space`` replaces the space text the sidecar holds.

    Every problem is a TableError naming the file, the row (1 = the header) and the column.
    """
    file = Path(path)
    if not file.is_file():
        raise TableError(f"{path}: no such table; allowed: a PEFT-Bench CSV such as "
                         f"benchmarks/peftbench/minilm-tweets.csv (built by benchmarks/peftbench/build.py)")
    side = sidecar_path(file)
    if not side.is_file():
        raise TableError(f"{path}: its sidecar {side} is missing; it holds the space and the model layout")
    try:
        meta = TableMeta.from_dict(json.loads(side.read_text(encoding="utf-8")), str(side))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise TableError(f"{side}: not a readable sidecar JSON: {exc}") from None
    try:
        if space is not None:
            space_file = Path(space)
            if not space_file.is_file():
                raise TableError(f"--space {space}: no such space file")
            spec = parse_space(space_file.read_text(encoding="utf-8"), str(space_file))
        else:
            spec = parse_space(meta.space_text, meta.space_source)
        resolved = spec.resolve(meta.layout)
    except SpaceError as exc:
        raise TableError(f"{path}: the table's space does not load: {exc}") from None
    if math.isinf(resolved.cardinality()):
        raise TableError(f"{path}: space {spec.name!r} has a float range; a table needs a finite space")
    with file.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        _check_header(header, resolved, str(file))
        dims = set(dimension_columns(resolved))
        metric_columns = [c for c in header if c not in dims and c not in REQUIRED_COLUMNS
                          and c not in RECORD_COLUMNS]
        grouped: dict[tuple[str, int], tuple[dict[str, Any], list[Measurement]]] = {}
        for number, row in enumerate(reader, start=2):
            where = f"{file}: row {number}"
            config = config_from_cells(resolved, row, where)
            steps, measurement = _measurement(row, metric_columns, where)
            key = (config_key(config), steps)
            _, rows = grouped.setdefault(key, (config, []))
            if any(r.seed == measurement.seed for r in rows):
                raise TableError(f"{where}: a second row for configuration {key[0]} at {steps} steps with seed "
                                 f"{measurement.seed}; allowed: one row per configuration x fidelity x seed")
            rows.append(measurement)
    if not grouped:
        raise TableError(f"{path}: the table has no rows")
    entries = {key: Entry(config, key[1], tuple(sorted(rows, key=lambda r: r.seed)))
               for key, (config, rows) in grouped.items()}
    return Table(str(file), meta, resolved, entries)


# ---- writing ---------------------------------------------------------------------------------------------------
#: Metric columns first in this order when present; any other metric follows, sorted.
METRIC_ORDER = ("accuracy", "macro_f1", "ece", "mce", "brier", "nll", "temperature", "ece_ts", "mce_ts", "brier_ts",
                "nll_ts", "score")


def write_table(path: str | Path, meta: TableMeta, space: Space, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write the CSV and its sidecar; returns the CSV path.

    Each record has ``config``, ``fidelity_steps``, ``seed``, ``state``, ``metrics`` (a mapping) and optionally
    ``error``, ``trainable_params`` and the :data:`RECORD_COLUMNS` (what a TrialResult holds, flattened).
    Rows are sorted by fidelity, then configuration order in the space, then seed, so a rebuilt table diffs
    cleanly.
    """
    rows = list(records)
    order = {config_key(c): i for i, c in enumerate(space.enumerate())}
    seen = {m for r in rows for m in (r.get("metrics") or {})}
    metrics = [m for m in METRIC_ORDER if m in seen] + sorted(seen - set(METRIC_ORDER))
    header = [*dimension_columns(space), "fidelity_steps", "seed", "state", *metrics, "trainable_params",
              *RECORD_COLUMNS, "error"]

    def sort_key(r: Mapping[str, Any]) -> tuple[int, int, int]:
        key = config_key(space.validate(r["config"], fill=False))
        if key not in order:
            raise TableError(f"configuration {key} is not a member of space {space.spec.name!r}")
        return int(r["fidelity_steps"]), order[key], int(r["seed"])

    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for r in sorted(rows, key=sort_key):
            cells = config_cells(space, space.validate(r["config"], fill=False))
            cells.update({"fidelity_steps": str(int(r["fidelity_steps"])), "seed": str(int(r["seed"])),
                          "state": str(r["state"]), "error": " ".join(str(r.get("error") or "").split())})
            for m in metrics:
                value = (r.get("metrics") or {}).get(m)
                cells[m] = "" if value is None else repr(float(value))
            for column in ("trainable_params", *RECORD_COLUMNS):
                value = r.get(column)
                cells[column] = "" if value is None else (value if isinstance(value, str) else cell_text(value))
            writer.writerow(cells)
    tmp.replace(file)
    sidecar_path(file).write_text(json.dumps(meta.to_dict(), indent=1) + "\n", encoding="utf-8")
    return file
