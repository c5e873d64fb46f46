"""A loaded table in memory: its rows (:class:`Entry`), its sidecar (:class:`TableMeta`) and :class:`Table`,
which answers what a configuration scored and gives the exhaustive front."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from autopeft.bench.table.cells import TableError
from autopeft.errors import ConfigError
from autopeft.objectives import OBJECTIVES, Objective, get_objective, reference_point, to_minimize
from autopeft.pareto import hypervolume, pareto_mask
from autopeft.space import Space
from autopeft.trial import Fidelity, TrialResult, config_key

FloatArray = npt.NDArray[np.float64]
FORMAT = "peftbench/1"
DEFAULT_OBJECTIVES = ("accuracy", "trainable_params")
#: Columns every table has besides the dimensions (``error`` may be empty).
REQUIRED_COLUMNS = ("fidelity_steps", "seed", "state", "error", "trainable_params")
#: Other columns the runner records: counts, times, the device.
RECORD_COLUMNS = ("total_params", "steps", "train_fraction", "train_seconds", "eval_seconds", "peak_memory_mb",
                  "device")
STATES = ("complete", "failed")


# ---- rows --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    """One row: a configuration trained with one seed at one fidelity, with what the runner recorded of it
    (the :data:`RECORD_COLUMNS`; ``None`` where the row leaves a column empty)."""

    seed: int
    state: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    trainable_params: float | None = None
    total_params: float | None = None
    error: str | None = None
    steps: int | None = None              # optimiser steps the run took
    train_seconds: float | None = None
    eval_seconds: float | None = None
    peak_memory_mb: float | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise TableError(f"state {self.state!r} is not one of {', '.join(STATES)}")

    @property
    def ok(self) -> bool:
        return self.state == "complete"

    @property
    def seconds(self) -> float | None:
        """Train + evaluation wall time; ``None`` when the row records neither."""
        times = [t for t in (self.train_seconds, self.eval_seconds) if t is not None]
        return float(sum(times)) if times else None

    def to_result(self, config: Mapping[str, Any], fidelity: Fidelity) -> TrialResult:
        """The runner's result this row was written from: :func:`autopeft.bench.table.write_table` flattens
        one, this undoes it (what a rebuild that imports an earlier table's rows journals)."""
        def count(value: float | None) -> int | None:
            return None if value is None else int(value)

        return TrialResult(config=dict(config), fidelity=fidelity, seed=self.seed, status=self.state,
                           error=self.error, metrics=dict(self.metrics), trainable_params=count(self.trainable_params),
                           total_params=count(self.total_params), steps=self.steps or 0,
                           train_seconds=self.train_seconds or 0.0, eval_seconds=self.eval_seconds or 0.0,
                           peak_memory_mb=self.peak_memory_mb, device=self.device or "cpu")

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

    def check_objectives(self, objectives: Sequence[Objective]) -> None:
        """A ConfigError naming every objective no row of the table recorded (the parameter count always is), and
        the metrics it did: a replay on such an objective would score every strategy 0."""
        recorded = {name for e in self.entries.values() for r in e.rows for name, v in r.metrics.items()
                    if v is not None and math.isfinite(v)}
        missing = [o.name for o in objectives if o.name != "trainable_params" and o.name not in recorded]
        if missing:
            usable = sorted(recorded.intersection(OBJECTIVES))
            raise ConfigError(f"objective(s) {', '.join(missing)}: table {self.source} did not record them; allowed: "
                              f"{', '.join(usable) or 'none'}, with trainable_params")

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
