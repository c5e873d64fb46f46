"""Benchmark check: do bo's committed replays come out the same on this machine and package set?

    python benchmarks/replay_drift.py --table benchmarks/peftbench/minilm-tweets-v2.csv

A replay is deterministic on one machine and package set. The results of ``search_efficiency.py`` are
assembled from replays it keeps under ``benchmarks/results/search_efficiency/NAME.done/`` and does not redo, so a
rerun on another machine mixes kept replays with new ones. This replays ``bo`` afresh on the seeds of the kept
results (nothing is trained), compares each seed's curve with the kept one, and recomputes bo's paired goals
against the kept peers with the fresh curves. It writes ``NAME.{json,md}`` into ``--out``, with the package
versions and the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.bench.recorded import recorded_command, write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Two curves "differ" at a trial when their ratios there differ by more than this.
TOLERANCE = 1e-9
TARGET = 0.99


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", required=True, help="a table that search_efficiency.py has results for")
    p.add_argument("--results", default=str(HERE / "results" / "search_efficiency"),
                   help="search_efficiency.py's --out folder (NAME.json and NAME.done/)")
    p.add_argument("--out", default=str(HERE / "results" / "replay_drift"), help="folder for NAME.{json,md}")
    return p.parse_args(argv)


def first_difference(kept: np.ndarray, fresh: np.ndarray) -> int | None:
    """The first trial (1-based) at which the two curves differ, or None."""
    hit = np.flatnonzero(np.abs(kept - fresh) > TOLERANCE)
    return int(hit[0]) + 1 if hit.size else None


def paired(a: np.ndarray, b: np.ndarray) -> dict[str, int]:
    """Seeds ``a`` is ahead of / tied with / behind ``b`` on, as search_efficiency.py counts them."""
    from autopeft.bench.paired import paired_comparison

    c = paired_comparison(a, b)
    return {"ahead": c.ahead, "tied": c.tied, "behind": c.behind}


def drift(table_path: str, results: Path) -> dict[str, Any]:
    """bo's kept curves against fresh replays on the same seeds, and bo's paired goals with each."""
    from replay_cache import digest, kept_file, replay_digest, stack

    from autopeft.bench.compare import SINGLE, Summary, compare
    from autopeft.bench.table import load_table, objectives_from
    from autopeft.errors import ConfigError

    table = load_table(table_path)
    summary_file = results / f"{table.name}.json"
    if not summary_file.is_file():
        raise ConfigError(f"no search_efficiency.py results for table {table.name!r}: {summary_file.name} is not "
                          f"in {results}; allowed: a table that search_efficiency.py was run on")
    kept_summary = json.loads(summary_file.read_text(encoding="utf-8"))
    peers = {s["strategy"]: s for s in kept_summary["parts"]["peers"]["strategies"]}
    bo = peers.pop("bo")
    budget, seeds = int(bo["budget"]), [int(s) for s in bo["seeds"]]
    table_digests = [replay_digest(table, SINGLE), digest(table_path)]  # today's key, then the older one
    kept = []
    for seed in seeds:
        file = kept_file(results / f"{table.name}.done", table_digests, "bo", budget, seed, "sharp")
        if not file.is_file():
            raise ConfigError(f"bo's kept replay of seed {seed} is missing ({file.name}); allowed: the results of "
                              f"a finished search_efficiency.py run on this table")
        kept.append(json.loads(file.read_text(encoding="utf-8"))["curve"])
    kept_curves = np.array(kept, dtype=float)
    objectives = objectives_from(["accuracy", "trainable_params"])
    fresh_curves = compare(table, ["bo"], budget=budget, seeds=len(seeds), seed_start=seeds[0],
                           objectives=objectives, reference="sharp").summaries[0].ratios
    # trials to 0.99 as search_efficiency.py counts them (a seed that never gets there counts as never)
    targets = {k: Summary("bo", SINGLE, tuple(seeds), c).to_target(TARGET)
               for k, c in (("kept", kept_curves), ("fresh", fresh_curves))}
    per_seed = [{"seed": s, "first_difference": first_difference(k, f), "kept_at_budget": float(k[-1]),
                 "fresh_at_budget": float(f[-1]), "kept_to_target": tk, "fresh_to_target": tf}
                for s, k, f, tk, tf in zip(seeds, kept_curves, fresh_curves, targets["kept"][2], targets["fresh"][2],
                                           strict=True)]
    goals = {}
    for name, peer in peers.items():
        rows = [seeds.index(s) for s in peer["seeds"]]
        at = int(peer["budget"]) - 1
        # a peer's curve from NAME.json is rounded to 6 places: so are bo's curves paired with it
        theirs = np.array(peer["curves"], dtype=float)[:, at]
        goals[name] = {"budget": int(peer["budget"]), "seeds": len(rows),
                       "kept": paired(np.round(kept_curves[rows, -1], 6), theirs),
                       "fresh": paired(np.round(fresh_curves[rows, -1], 6), theirs)}
    return {"table": table.name, "budget": budget, "seeds": seeds, "stack": stack(),
            "differing_seeds": sum(r["first_difference"] is not None for r in per_seed),
            "median_at_budget": {"kept": float(np.median(kept_curves[:, -1])),
                                 "fresh": float(np.median(fresh_curves[:, -1]))},
            "median_to_target": {k: v[0] for k, v in targets.items()},
            "reached": {k: v[1] for k, v in targets.items()}, "per_seed": per_seed, "goals": goals}


def markdown(data: Mapping[str, Any], command: str) -> str:
    s = data["stack"]
    lines = [f"# bo's kept replays against fresh ones on `{data['table']}` (generated by benchmarks/replay_drift.py)",
             "", f"`{command}`: seeds {data['seeds'][0]}-{data['seeds'][-1]}, {data['budget']} trials, sharp "
             "reference. Fresh replays ran on: " + ", ".join(f"{k} {v}" for k, v in s.items()) + ".", "",
             f"- Seeds whose curve differs from the kept one: **{data['differing_seeds']} of {len(data['seeds'])}**.",
             f"- Median ratio at {data['budget']}: kept {data['median_at_budget']['kept']:.6f}, fresh "
             f"{data['median_at_budget']['fresh']:.6f}.",
             f"- Median trials to {TARGET} (a seed that never gets there counts as never): kept "
             f"{data['median_to_target']['kept']} ({data['reached']['kept']} "
             f"seeds reach it), fresh {data['median_to_target']['fresh']} ({data['reached']['fresh']}).", "",
             "| seed | first differing trial | kept @budget | fresh @budget | kept to 0.99 | fresh to 0.99 |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in data["per_seed"]:
        lines.append(f"| {r['seed']} | {r['first_difference'] or '-'} | {r['kept_at_budget']:.6f} | "
                     f"{r['fresh_at_budget']:.6f} | {r['kept_to_target']} | {r['fresh_to_target']} |")
    lines += ["", f"bo at {data['budget']} against each kept peer (ahead / tied / behind, paired by seed), with bo's "
              "kept and fresh curves:", "", "| peer | at | seeds | with kept bo | with fresh bo |",
              "|---|---:|---:|---|---|"]
    for name, g in data["goals"].items():
        k, f = g["kept"], g["fresh"]
        lines.append(f"| {name} | {g['budget']} | {g['seeds']} | {k['ahead']} / {k['tied']} / {k['behind']} | "
                     f"{f['ahead']} / {f['tied']} / {f['behind']} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from autopeft.errors import AutopeftError

    for folder in (ROOT, HERE):  # the package's tree; benchmarks/replay_cache.py
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    try:
        data = drift(os.path.relpath(args.table), Path(args.results))
    except AutopeftError as exc:
        print(f"replay_drift.py: error: {exc}", file=sys.stderr)
        return 2
    command = recorded_command("benchmarks/replay_drift.py", argv if argv is not None else sys.argv[1:],
                               ("--table", "--results", "--out"), ROOT)
    data = {"command": command, **data}
    text = markdown(data, command)
    write_results(Path(args.out) / data["table"], data, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
