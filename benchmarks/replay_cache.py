"""The replays behind ``search_efficiency.py``, kept: each finished (strategy, seed) replay is a JSON file named by
what it depends on (the table's bytes, the strategy, its budget, the seed, the reference point and any warm start's
bytes), with the controller options and the package versions and machine it ran on, so a killed run of hours goes
on where it stopped and a kept replay under other options is run again."""

from __future__ import annotations

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
    seed's curve of each strategy in ``folder`` (keyed by the table's bytes, the strategy, its budget, the seed and
    any warm start's bytes), so a killed run of hours goes on where it stopped; replays are deterministic. Each
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
            for seed in seeds:
                file = cache_file(self.folder, self.table_digest, name, n, seed, self.common["reference"],
                                  prior_digest if name.startswith("warm:") else "")
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


def digest(path: str) -> str:
    """The SHA-256 of a table's CSV and sidecar."""
    csv = Path(path)
    h = hashlib.sha256(csv.read_bytes())
    h.update(csv.with_suffix(".json").read_bytes())
    return h.hexdigest()
