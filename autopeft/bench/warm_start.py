"""Load a warm start's sources: earlier runs (a run folder's journal) or PEFT-Bench tables, as a
:class:`~autopeft.controllers.transfer.Prior` over a new search's space.

    prior = load_prior(["runs/tweets-search", "benchmarks/peftbench/minilm-tweets.csv"], space, objectives)

- **A run**: its complete search trials (finalize's seeds are left out), one observation per configuration at
  the most training steps it ran (a multi-fidelity run's promoted configuration counts at its highest rung, not
  averaged with its lower ones); the mean where it was trained more than once at those steps.
- **A table**: the seed means of every configuration at its main fidelity (the one with the most
  configurations).

Only configurations the new space accepts are kept (:meth:`Space.validate`); the rest are counted as dropped.
A source that leaves nothing, one that recorded none of the objectives bo learns (every objective but the parameter
count, which is known), or a path that is neither a run folder nor a table, is a ConfigError naming it. An
objective a source recorded on fewer than two configurations gets no prior from it, and its note says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.bench.table import TableError, load_table
from autopeft.controllers.transfer import Prior, PriorSource
from autopeft.errors import ConfigError
from autopeft.objectives import PARAMS, Objective
from autopeft.space import Space
from autopeft.study.journal import DB_NAME, Journal, JournalError
from autopeft.trial import config_key

__all__ = ["load_prior", "load_source"]


def load_prior(paths: Sequence[str | Path], space: Space, objectives: Sequence[Objective]) -> Prior:
    """Every path as a source (see the module docstring); duplicates are refused."""
    names = [str(p) for p in paths]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"--warm-start {twice[0]} is given twice; allowed: each run or table once")
    return Prior(tuple(load_source(p, space, objectives) for p in paths))


def load_source(path: str | Path, space: Space, objectives: Sequence[Objective]) -> PriorSource:
    """One run folder or table as a :class:`PriorSource` over ``space``."""
    where = Path(path)
    references: set[str] = set()  # a run's reference points: fixed configurations, most of them outside the space
    if where.is_dir() and (where / DB_NAME).is_file():
        kind, observed, note, references = "run", *_from_run(where, objectives)
    elif where.is_file() and where.suffix == ".csv":
        kind, observed, note = "table", *_from_table(where, objectives)
    else:
        raise ConfigError(f"--warm-start {path}: not a run folder (no {DB_NAME}) or a PEFT-Bench table (.csv); "
                          f"allowed: a folder made by `autopeft search --out`, or a table such as "
                          f"benchmarks/peftbench/minilm-tweets.csv")
    configs: list[dict[str, Any]] = []
    rows: list[Mapping[str, float]] = []
    dropped = dropped_references = 0
    for config, values in observed:
        try:
            member = space.validate(config, fill=False)
        except ConfigError:
            dropped += 1
            dropped_references += config_key(config) in references
            continue
        configs.append(member)
        rows.append(values)
    if not configs:
        why = ""
        if dropped_references:
            why = (f" ({'all' if dropped_references == dropped else dropped_references} of them its reference points, "
                   "fixed configurations outside the space, which a search trains before it proposes members)")
        raise ConfigError(f"--warm-start {path}: none of its {dropped} observations is a member of this search's "
                          f"space {space.spec.name!r}{why}; allowed: a run or table over the same space or a shared "
                          "part, with complete trials of members (a run whose budget went past its reference points)")
    columns = {o.name: tuple(float(r.get(o.name, math.nan)) for r in rows) for o in objectives}
    usable = {name for name, column in columns.items() if sum(math.isfinite(v) for v in column) >= 2}
    modelled = [o.name for o in objectives if o.name != PARAMS]  # the parameter count is known, not learned
    if modelled and not usable.intersection(modelled):
        raise ConfigError(f"--warm-start {path}: it recorded {' or '.join(modelled)} on fewer than two of its "
                          f"{len(configs)} configurations in this space, so it has nothing to transfer to this "
                          f"search; allowed: a run or table that recorded {', '.join(modelled)} (a run searched "
                          "with the same objectives)")
    missing = [name for name in modelled if name not in usable]
    if missing:
        note += f"; no prior for {', '.join(missing)}, which it did not record"
    return PriorSource(str(path), kind, tuple(configs), {k: v for k, v in columns.items() if k in usable},
                       dropped=dropped, note=note, dropped_references=dropped_references)


def _from_run(folder: Path, objectives: Sequence[Objective]) -> tuple[list[tuple[dict[str, Any], dict[str, float]]],
                                                                       str, set[str]]:
    try:
        with Journal.open(folder, lock=False) as journal:
            trials = journal.trials(states=("complete",))
            task, model = journal.recipe.get("task"), journal.recipe.get("model")
    except JournalError as exc:
        raise ConfigError(f"--warm-start {folder}: {exc}") from None
    top: dict[str, int] = {}                    # per configuration: the most training steps it ran
    for trial in trials:
        key = config_key(trial.config)
        top[key] = max(top.get(key, 0), trial.fidelity.steps)
    grouped: dict[str, tuple[dict[str, Any], list[dict[str, float]]]] = {}
    steps: set[int] = set()
    for trial in trials:
        key = config_key(trial.config)
        if trial.result is None or trial.fidelity.steps != top[key]:
            continue
        values = {**{k: float(v) for k, v in trial.result.metrics.items()},
                  "trainable_params": float(trial.result.trainable_params or math.nan)}
        grouped.setdefault(key, (dict(trial.config), []))[1].append(values)
        steps.add(trial.fidelity.steps)
    observed = [(config, _mean(rows, objectives)) for config, rows in grouped.values()]
    references = {config_key(t.config) for t in trials if t.origin.startswith("reference:")}
    return observed, (f"model {model}, task {task if isinstance(task, str) else 'from a file'}, "
                      f"{_steps(steps)}"), references


def _from_table(path: Path, objectives: Sequence[Objective]) -> tuple[list[tuple[dict[str, Any], dict[str, float]]],
                                                                      str]:
    try:
        table = load_table(path)
    except TableError as exc:
        raise ConfigError(f"--warm-start {path}: {exc}") from None
    fidelity = table.main_fidelity
    observed = []
    for (_, steps), entry in table.entries.items():
        if steps != fidelity:
            continue
        rows = [{**r.metrics, "trainable_params": r.trainable_params if r.trainable_params else math.nan}
                for r in entry.rows if r.ok]
        if rows:
            observed.append((entry.config, _mean(rows, objectives)))
    info = table.meta.info  # the model is named as a run's note names it, so a transfer across models shows
    return observed, f"model {info.get('model', '?')}, task {info.get('task', '?')}, seed means at {fidelity} steps"


def _mean(rows: Sequence[Mapping[str, float | None]], objectives: Sequence[Objective]) -> dict[str, float]:
    out = {}
    for o in objectives:
        values = [float(v) for v in (r.get(o.name) for r in rows) if v is not None and math.isfinite(float(v))]
        out[o.name] = float(np.mean(values)) if values else math.nan
    return out


def _steps(steps: set[int]) -> str:
    if not steps:
        return "no complete trials"
    return f"{min(steps)} steps" if len(steps) == 1 else f"{min(steps)}-{max(steps)} steps"
