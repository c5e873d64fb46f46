"""The replays behind ``search_efficiency.py``, kept: each finished (strategy, seed) replay is a JSON file named by
what it depends on (what the replay reads of the table, the strategy, its budget, the seed, the reference point
and any warm start's bytes), with the controller options and the package versions and machine it ran on, so a
killed run of hours goes on where it stopped and a kept replay under other options is run again.

What a replay reads of its table (:func:`replay_digest`) is the rows at the fidelities its study replays and the
few sidecar fields the score uses, not the table's bytes: a table whose build goes on at the other fidelity, or
whose sidecar's build record (compute seconds, command, ``complete``) changes, keeps the single-fidelity
replays already made on it. Replays kept under the older key (the SHA-256 of the CSV and sidecar bytes,
:func:`digest`) are still found under it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

#: Controller options added after replays were first kept with their options, each with the value that does what
#: the code did before it existed: a kept replay of a controller that has the option, but lacks it, ran at that
#: value.
ADDED_SINCE: dict[str, Any] = {"prior_level_shrink": 1.0}


class Resumable:
    """Runs strategies one at a time through :func:`autopeft.bench.compare.compare`, keeping each finished
    seed's curve of each strategy in ``folder`` (keyed by what the replay reads of the table, the strategy, its
    budget, the seed and any warm start's bytes; ``table_digest``, the table's bytes, is the older key, still
    read), so a killed run of hours goes on where it stopped; replays are deterministic. Each
    kept curve records the options its controller ran with (:func:`autopeft.bench.compare.strategy_options`); one
    kept under other options than today's (a changed default) is replayed again. An option added since a curve
    was kept counts as what the code of before did (:data:`ADDED_SINCE`). Curves kept before options were
    recorded are taken as they are."""

    def __init__(self, table: Any, folder: Path, table_digest: str, common: dict[str, Any],
                 fewer: dict[str, int] | None = None) -> None:
        self.table, self.folder, self.table_digest, self.common = table, folder, table_digest, common
        self.fewer = dict(fewer or {})
        #: Where each replay behind the results ran (its file -> ``stack()`` as JSON), kept ones included;
        #: "unrecorded" for replays kept before stacks were recorded.
        self.where: dict[Path, str] = {}

    def run(self, names: list[str], budget: int, budgets: dict[str, int] | None = None, *, prior: Any = None,
            prior_digest: str = "") -> Any:
        from autopeft.bench.compare import MULTI, Comparison, Summary, compare, strategy_options
        from autopeft.bench.multifidelity import MultiFidelity

        summaries, multi = [], None
        rest = {k: v for k, v in self.common.items() if k not in ("seeds", "seed_start")}
        for name in names:
            n = (budgets or {}).get(name, budget)
            seeds = range(self.common["seed_start"],
                          self.common["seed_start"] + self.fewer.get(name, self.common["seeds"]))
            rows, seconds, study = [], 0.0, ""
            options = json.loads(json.dumps(strategy_options(name), default=repr))  # as a kept file holds them
            reads = replay_digest(self.table, study_of(name))
            warm = prior_digest if name.startswith("warm:") else ""
            for seed in seeds:
                file = kept_file(self.folder, [reads, self.table_digest], name, n, seed, self.common["reference"], warm)
                kept = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None
                added = {key: value for key, value in ADDED_SINCE.items() if key in options}
                if kept is not None and {**added, **kept.get("options", options)} != options:
                    print(f"{name} seed {seed}: {file} was replayed under other options, replaying again",
                          file=sys.stderr, flush=True)
                    kept = None
                if kept is not None:
                    study, curve, took = kept["study"], kept["curve"], kept["seconds"]
                    where = json.dumps(kept["stack"], sort_keys=True) if "stack" in kept else "unrecorded"
                    print(f"{name} seed {seed}: kept from {file}", file=sys.stderr, flush=True)
                else:
                    result = compare(self.table, [name], budget=n, seeds=1, seed_start=seed,
                                     prior=prior if name.startswith("warm:") else None, **rest)
                    multi = result.multi or multi
                    (summary,) = result.summaries
                    study, curve, took = summary.study, summary.ratios[0].tolist(), summary.seconds
                    self.folder.mkdir(parents=True, exist_ok=True)
                    file = cache_file(self.folder, reads, name, n, seed, self.common["reference"], warm)
                    tmp = file.with_suffix(".tmp")
                    tmp.write_text(json.dumps({"strategy": name, "study": study, "seed": seed, "seconds": took,
                                               "curve": curve, "stack": stack(), "options": options}),
                                   encoding="utf-8")
                    tmp.replace(file)
                    where = json.dumps(stack(), sort_keys=True)
                self.where[file] = where
                rows.append(curve)
                seconds += took
            summaries.append(Summary(name, study, tuple(seeds), np.array(rows, dtype=float), seconds))
        if multi is None and any(s.study == MULTI for s in summaries):
            multi = MultiFidelity(self.table, self.common["objectives"], reference=self.common["reference"])
        return Comparison(self.table, tuple(self.common["objectives"]), tuple(summaries), multi,
                          reference=self.common["reference"])


#: The packages whose versions a replay's numbers can depend on (the GP fits, EHVI, Optuna's samplers).
PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "optuna", "botorch")


def stack() -> dict[str, str]:
    """The package versions and the machine a replay runs on; kept with each replay, since floating-point
    differences between machines and versions can change a GP's proposals (``benchmarks/replay_drift.py``)."""
    import platform
    from importlib import metadata

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        info = []
    cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    return {"python": platform.python_version(), **versions, "machine": platform.machine(), "cpu": cpu}


def cache_file(folder: Path, table_digest: str, name: str, budget: int, seed: int, reference: str,
               prior_digest: str = "") -> Path:
    """Where the finished replay of (strategy ``name``, ``budget``, ``seed``) on the table with ``table_digest``
    is kept (with the warm start's ``prior_digest`` for a ``warm:`` strategy)."""
    key = hashlib.sha256(json.dumps([table_digest, name, budget, seed, reference, prior_digest]).encode())
    return folder / f"{name.replace(':', '_')}-{budget}-{seed}-{key.hexdigest()[:12]}.json"


def kept_file(folder: Path, table_digests: list[str], name: str, budget: int, seed: int, reference: str,
              prior_digest: str = "") -> Path:
    """The file of a kept replay under the first of ``table_digests`` that has one; the first's when none has."""
    files = [cache_file(folder, d, name, budget, seed, reference, prior_digest) for d in table_digests]
    return next((f for f in files if f.is_file()), files[0])


def study_of(name: str) -> str:
    """The study a strategy name replays in (:data:`autopeft.bench.compare.STUDIES`)."""
    from autopeft.bench.compare import MULTI, SINGLE, STUDIES

    prefix, colon, _ = name.partition(":")
    return MULTI if colon and prefix in STUDIES else SINGLE


def replay_digest(table: Any, study: str) -> str:
    """The SHA-256 of what a replay in ``study`` reads of ``table``: every row (all its recorded columns) at the
    fidelities the study replays, in the table's order (the main fidelity for the single-fidelity study, every
    fidelity for the multi-fidelity one), the space text and layout, the main fidelity, and the sharp reference's
    inputs (the sidecar's majority-class accuracy and total parameters, the largest adapter of any fidelity).
    Rows at other fidelities and the sidecar's build record do not enter it."""
    from autopeft.bench.compare import MULTI
    from autopeft.bench.reference import largest_adapter

    fidelities = list(table.fidelities) if study == MULTI else [table.main_fidelity]
    largest = largest_adapter(table)
    info = table.meta.info
    parts: list[Any] = ["replay/1", study, table.name, table.meta.space_text, sorted(table.meta.layout.items()),
                        table.main_fidelity, fidelities, info.get("majority_accuracy"), info.get("total_params"),
                        largest]
    for (key, fidelity), entry in table.entries.items():
        if fidelity in fidelities:
            parts.append([key, fidelity, [dataclasses.astuple(row) for row in entry.rows]])
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def digest(path: str) -> str:
    """The SHA-256 of a table's CSV and sidecar (the key replays were kept under before :func:`replay_digest`,
    and a warm start's key)."""
    csv = Path(path)
    h = hashlib.sha256(csv.read_bytes())
    h.update(csv.with_suffix(".json").read_bytes())
    return h.hexdigest()
