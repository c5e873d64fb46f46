"""PEFT-Bench tables: every member of a finite space, trained and evaluated, stored as data.

A table is a CSV with one row per configuration x fidelity x training seed, and a sidecar JSON of the
same name (``minilm-tweets.csv`` + ``minilm-tweets.json``) that holds what the rows need to be read:
the exact space text, the model's layout (``{"encoder": 6}``) and how the table was made. Columns:

- one per dimension of the space, a ``per_layer`` dimension one per block (``lora.ranks[encoder.2]``),
  empty where the dimension is inactive;
- ``fidelity_steps``, ``seed``, ``state`` (``complete`` / ``failed``), ``error``;
- every metric the runner records (``accuracy``, ``macro_f1``, ``ece``, ``brier``, ``nll``, ...), the
  parameter counts and the times (``trainable_params``, ``total_params``, ``train_seconds``, ...).

:func:`load_table` checks the columns against the space (naming the missing and the extra ones) and every
row against its dimension's choices; :class:`Table` answers "what did this configuration score at this
fidelity, per seed" and gives the exhaustive front and its hypervolume, measured from the same reference
point as a search (:func:`reference_point`). Pure numpy: no torch, so a replay takes seconds.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from autopeft.errors import AutopeftError, ConfigError, SpaceError
from autopeft.objectives import Objective, get_objective, reference_point, to_minimize
from autopeft.pareto import hypervolume, pareto_mask
from autopeft.space import DimensionSpec, Space, parse_space
from autopeft.space.dimensions import PerLayerSpec
from autopeft.trial import config_key

__all__ = [
    "FORMAT",
    "Entry",
    "Measurement",
    "Table",
    "TableError",
    "TableMeta",
    "cell_text",
    "config_cells",
    "config_from_cells",
    "dimension_columns",
    "load_table",
    "objectives_from",
    "sidecar_path",
    "write_table",
]

FloatArray = npt.NDArray[np.float64]
FORMAT = "peftbench/1"
DEFAULT_OBJECTIVES = ("accuracy", "trainable_params")
#: Columns every table has besides the dimensions (``error`` may be empty).
REQUIRED_COLUMNS = ("fidelity_steps", "seed", "state", "error", "trainable_params")
#: Other columns the runner records: counts, times, the device.
RECORD_COLUMNS = ("total_params", "steps", "train_fraction", "train_seconds", "eval_seconds", "peak_memory_mb",
                  "device")
STATES = ("complete", "failed")
#: Column names that are configuration keys although they have no '.' (global options and the method).
_PLAIN_KEYS = ("method", "learning_rate")


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


# ---- rows --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    """One row: a configuration trained with one seed at one fidelity."""

    seed: int
    state: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    trainable_params: float | None = None
    total_params: float | None = None
    seconds: float | None = None          # train + evaluation wall time
    error: str | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise TableError(f"state {self.state!r} is not one of {', '.join(STATES)}")

    @property
    def ok(self) -> bool:
        return self.state == "complete"

    def values(self, objectives: Sequence[Objective]) -> dict[str, float] | None:
        """The objectives' values of a complete row with every one of them finite; ``None`` otherwise."""
        if not self.ok:
            return None
        out: dict[str, float] = {}
        for o in objectives:
            value = self.trainable_params if o.name == "trainable_params" else self.metrics.get(o.name)
            if value is None or not math.isfinite(value):
                return None
            out[o.name] = float(value)
        return out


@dataclass(frozen=True)
class Entry:
    """One configuration at one fidelity: its rows, one per training seed."""

    config: dict[str, Any]
    fidelity: int
    rows: tuple[Measurement, ...]

    @property
    def key(self) -> str:
        return config_key(self.config)

    @property
    def trainable_params(self) -> float | None:
        counts = [r.trainable_params for r in self.rows if r.trainable_params is not None]
        return counts[0] if counts else None

    def mean(self, objectives: Sequence[Objective]) -> dict[str, float] | None:
        """Each objective averaged over the complete seeds; ``None`` when no seed completed."""
        rows = [v for v in (r.values(objectives) for r in self.rows) if v is not None]
        if not rows:
            return None
        return {o.name: float(np.mean([v[o.name] for v in rows])) for o in objectives}

    def seconds(self) -> float | None:
        times = [r.seconds for r in self.rows if r.ok and r.seconds is not None and r.seconds > 0]
        return float(np.mean(times)) if times else None


# ---- the sidecar ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TableMeta:
    """The sidecar JSON: the space text and layout the rows are read with, plus how the table was made."""

    name: str
    space_text: str
    space_source: str
    layout: Mapping[str, int]
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.space_text, str) or not self.space_text.strip():
            raise TableError(f"table {self.name!r}: the sidecar has no space text ('space_text')")
        if not isinstance(self.layout, Mapping) or not self.layout or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v > 0
                for k, v in self.layout.items()):
            raise TableError(f"table {self.name!r}: the sidecar's layout must map stacks to block counts, "
                             f"got {self.layout!r}; allowed: e.g. {{\"encoder\": 6}}")

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "name": self.name, "space_source": self.space_source,
                "space_text": self.space_text, "layout": dict(self.layout), **dict(self.info)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> TableMeta:
        if data.get("format") != FORMAT:
            raise TableError(f"{where}: format {data.get('format')!r} is not {FORMAT!r}")
        known = ("format", "name", "space_source", "space_text", "layout")
        return cls(name=str(data.get("name") or Path(where).stem), space_text=data.get("space_text", ""),
                   space_source=str(data.get("space_source") or "<table>"), layout=data.get("layout") or {},
                   info={k: v for k, v in data.items() if k not in known})


def sidecar_path(table: str | Path) -> Path:
    """``NAME.csv`` -> ``NAME.json``."""
    return Path(table).with_suffix(".json")


# ---- the table ------------------------------------------------------------------------------------------------------
def objectives_from(names: Sequence[str]) -> list[Objective]:
    """Objectives by name; an unknown name or a list without ``trainable_params`` is a ConfigError."""
    try:
        objectives = [get_objective(n) for n in names]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if "trainable_params" not in names or len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(f"objectives {list(names)} must be distinct and include trainable_params and at least "
                          f"one other, e.g. accuracy,trainable_params")
    return objectives


@dataclass(frozen=True)
class Table:
    """A loaded table: its space, its entries by (configuration key, fidelity), and the answers it gives."""

    source: str
    meta: TableMeta
    space: Space
    entries: Mapping[tuple[str, int], Entry]

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def fidelities(self) -> tuple[int, ...]:
        """Training steps the table has rows for, ascending."""
        return tuple(sorted({f for _, f in self.entries}))

    @property
    def main_fidelity(self) -> int:
        """The fidelity with the most configurations (the exhaustive one); the lower one on a tie."""
        counts = {f: sum(1 for _, g in self.entries if g == f) for f in self.fidelities}
        return max(self.fidelities, key=lambda f: (counts[f], -f))

    @property
    def total_params(self) -> float:
        """The full model's parameter count: the hypervolume's reference on the parameter axis."""
        counts = [r.total_params for e in self.entries.values() for r in e.rows if r.total_params]
        if counts:
            return float(max(counts))
        stated = self.meta.info.get("total_params")
        if isinstance(stated, (int, float)) and stated > 0:
            return float(stated)
        raise TableError(f"table {self.name!r} records no total_params; add the column or 'total_params' to "
                         f"{sidecar_path(self.source)}")

    def check_fidelity(self, fidelity: int) -> int:
        if fidelity not in self.fidelities:
            raise TableError(f"table {self.name!r} has no rows at {fidelity} steps; allowed: "
                             f"{', '.join(map(str, self.fidelities))}")
        return fidelity

    def entry(self, config: Mapping[str, Any], fidelity: int) -> Entry:
        """The rows of ``config`` at ``fidelity``; a configuration the table lacks is a TableError naming it."""
        member = self._member(config)
        found = self.entries.get((config_key(member), fidelity))
        if found is None:
            raise TableError(f"table {self.name!r} has no row for configuration {config_key(member)} at "
                             f"{fidelity} steps ({self._coverage(fidelity)})")
        return found

    def has(self, config: Mapping[str, Any], fidelity: int) -> bool:
        """Whether ``config`` has at least one complete row at ``fidelity``."""
        try:
            entry = self.entries.get((config_key(self.space.validate(config, fill=False)), fidelity))
        except ConfigError:
            return False
        return entry is not None and any(r.ok for r in entry.rows)

    def trainable_params(self, config: Mapping[str, Any]) -> float:
        """The recorded count (the ``known`` objective of a replay).

        A configuration whose every row failed before counting (it does not build) is a ConfigError, which
        the controllers read as infeasible; one the table lacks is a TableError naming it.
        """
        member = self._member(config)
        key = config_key(member)
        found = [e for (k, _), e in self.entries.items() if k == key]
        if not found:
            raise TableError(f"table {self.name!r} has no row for configuration {key} "
                             f"({self._coverage(self.main_fidelity)})")
        counts = [e.trainable_params for e in found if e.trainable_params is not None]
        if not counts:
            errors = {r.error for e in found for r in e.rows if r.error}
            raise ConfigError(f"configuration {key} does not build: {'; '.join(sorted(errors)) or 'no count'}")
        return float(counts[0])

    def configs(self, fidelity: int) -> list[dict[str, Any]]:
        """Members a controller can be answered for at ``fidelity``: rows present and a parameter count."""
        return [e.config for (_, f), e in self.entries.items() if f == fidelity and e.trainable_params is not None]

    def unbuildable(self, fidelity: int) -> list[dict[str, Any]]:
        """Members whose rows at ``fidelity`` all failed before a parameter count (they do not build)."""
        return [e.config for (_, f), e in self.entries.items() if f == fidelity and e.trainable_params is None]

    def paired(self, low: int, high: int) -> list[dict[str, Any]]:
        """Members with a complete row at both fidelities (what a multi-fidelity replay may promote)."""
        return [e.config for (k, f), e in self.entries.items()
                if f == low and self.has(e.config, low) and self.has(e.config, high)]

    def points(self, configs: Iterable[Mapping[str, Any]], fidelity: int,
               objectives: Sequence[Objective]) -> FloatArray:
        """Seed-mean objective values (raw units) of the configurations with a complete row."""
        rows = []
        for config in configs:
            mean = self.entry(config, fidelity).mean(objectives)
            if mean is not None:
                rows.append([mean[o.name] for o in objectives])
        return np.asarray(rows, dtype=float).reshape(len(rows), len(objectives))

    def hypervolume(self, configs: Iterable[Mapping[str, Any]], fidelity: int,
                    objectives: Sequence[Objective], reference: FloatArray | None = None) -> float:
        """Hypervolume of the seed-mean values of ``configs`` (those with a complete row), from ``reference``
        (minimisation space; default: the stated one, see :mod:`autopeft.bench.reference`)."""
        points = self.points(configs, fidelity, objectives)
        if not len(points):
            return 0.0
        ref = reference if reference is not None else reference_point(objectives, self.total_params)
        return float(hypervolume(to_minimize(points, objectives), ref))

    def front(self, fidelity: int, objectives: Sequence[Objective],
              configs: Sequence[Mapping[str, Any]] | None = None,
              reference: FloatArray | None = None) -> tuple[list[dict[str, Any]], FloatArray, float]:
        """The exhaustive front at ``fidelity`` (of ``configs``, default every member): configs, values, HV
        (from ``reference``, as :meth:`hypervolume`)."""
        members = [dict(c) for c in (configs if configs is not None else self.configs(fidelity))
                   if self.entry(c, fidelity).mean(objectives) is not None]
        values = self.points(members, fidelity, objectives)
        if not members:
            return [], values, 0.0
        mask = pareto_mask(to_minimize(values, objectives))
        hv = self.hypervolume(members, fidelity, objectives, reference)
        idx = [int(i) for i in np.flatnonzero(mask)]
        p_col = [o.name for o in objectives].index("trainable_params")
        idx.sort(key=lambda i: values[i, p_col])
        return [members[i] for i in idx], values[idx], hv

    def _member(self, config: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self.space.validate(config, fill=False)
        except ConfigError as exc:
            raise TableError(f"table {self.name!r}: configuration {config_key(config)} is not a member of "
                             f"space {self.space.spec.name!r}: {exc}") from None

    def _coverage(self, fidelity: int) -> str:
        have = sum(1 for _, f in self.entries if f == fidelity)
        size = self.space.cardinality()
        return f"it has {have} of the space's {int(size) if math.isfinite(size) else size} members at {fidelity} steps"


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
    looks_like_key = [c for c in header if c not in dims and ("." in c or "[" in c or c in _PLAIN_KEYS)]
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
    total = _number(row.get("total_params"), f"{where}: column 'total_params'")
    times = [_number(row.get(c), f"{where}: column {c!r}") for c in ("train_seconds", "eval_seconds")]
    seconds = sum(t for t in times if t is not None) if any(t is not None for t in times) else None
    return int(steps), Measurement(seed=int(seed), state=state, metrics=metrics, trainable_params=params,
                                   total_params=total, seconds=seconds, error=(row.get("error") or None))


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
