"""Benchmark diagnostic: which members of a table's exhaustive front each search finds, and when.

    python benchmarks/front_trace.py --table benchmarks/peftbench/minilm-bbc-news.csv \\
        --other benchmarks/peftbench/minilm-tweets-v2.csv

The figures of ``search_efficiency.py`` say how close a search gets to the front; this says which front members
it misses and what it spends its first trials on. It replays (nothing is trained) ``bo``, and ``warm:bo`` started
from ``--other``, and with ``--random N`` random search for N trials, on the same seeds and protocol as
``search_efficiency.py`` (one training seed's row answers a proposal; the ratio is on seed means, from the sharp
reference point), and writes ``NAME.{json,md}`` into ``--out``:

- the exhaustive front (seed means at the table's main fidelity), numbered from the smallest adapter;
- per method: its rows, its best seed-mean accuracy, and how many of its rows beat every other method's best;
- per strategy: on how many seeds each front member was tried within the budget, and the median trial
  of its first try; how many trials went to each method; trials to 0.99 of the sharp ratio per seed (these
  equal ``search_efficiency.py``'s);
- the first ``--show`` proposals of the first three seeds, each as method, front number if on the front, and
  its seed-mean accuracy;
- with ``--group-by COLUMNS`` (the table's dimension columns, such as ``lora.modules,lora.ranks[encoder.5]``):
  the members grouped by method and their values in those columns, each group's rows and seed-mean accuracies,
  and how many trials each strategy spent on it (the mean per replay), so a reader sees which part of a method a
  search favours.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.bench.recorded import recorded_command, write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = 0.99  #: the share of the sharp ratio "trials to" counts up to, as search_efficiency.py


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", required=True, help="the PEFT-Bench v2 table to replay on")
    p.add_argument("--other", help="a table over the same space: warm:bo starts from it (omit: bo alone)")
    p.add_argument("--budget", type=int, default=50, help="trials per replay (default 50)")
    p.add_argument("--seeds", type=int, default=20, help="replay seeds (default 20)")
    p.add_argument("--seed-start", type=int, default=1000, help="the first seed (default 1000, the report seeds)")
    p.add_argument("--show", type=int, default=12, help="proposals listed for each of the first 3 seeds")
    p.add_argument("--random", type=int, default=0, metavar="N",
                   help="also replay random search for N trials on the same seeds (default 0: not)")
    p.add_argument("--group-by", default="", metavar="COLUMNS",
                   help="comma-separated dimension columns to count trials by (default: none)")
    p.add_argument("--out", default=str(HERE / "results" / "front_trace"), help="folder for NAME.{json,md}")
    args = p.parse_args(argv)
    for name in ("budget", "seeds", "show"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.random < 0:
        p.error(f"--random must be >= 0, got {args.random}")
    if args.seed_start < 0:
        p.error(f"--seed-start must be >= 0, got {args.seed_start}")
    return args


def key(config: Mapping[str, Any]) -> str:
    return json.dumps(dict(config), sort_keys=True)


def trace(table: Any, strategies: Mapping[str, Any], objectives: Any, seeds: Sequence[int],
          budget: int, budgets: Mapping[str, int] | None = None, group_by: Sequence[str] = ()) -> dict[str, Any]:
    """Replay every strategy on every seed (for ``budget`` trials, or its own in ``budgets``): the front,
    per-method summary and each replay's proposals (each with its group of ``group_label`` when ``group_by`` names
    columns)."""
    from autopeft.bench.reference import reference_for
    from autopeft.bench.replay import replay
    from autopeft.bench.table.cells import group_label

    steps = table.main_fidelity
    front, values, _ = table.front(steps, objectives, reference=reference_for(table, objectives, "sharp"))
    index = {key(c): i for i, c in enumerate(front)}
    members = table.configs(steps)
    points = table.points(members, steps, objectives)
    methods: dict[str, list[float]] = {}
    for config, point in zip(members, points, strict=True):
        methods.setdefault(str(config["method"]), []).append(float(point[0]))
    runs: dict[str, list[dict[str, Any]]] = {}
    for name, spec in strategies.items():
        runs[name] = []
        for seed in seeds:
            run = replay(table, spec, budget=(budgets or {}).get(name, budget), seed=seed, objectives=objectives,
                         reference="sharp")
            accuracy = table.points(list(run.configs), steps, objectives)[:, 0]
            reached = np.flatnonzero(np.asarray(run.ratio) >= TARGET - 1e-12)  # as search_efficiency.py
            runs[name].append({
                "seed": seed, "ratio": float(run.ratio[-1]),
                "to_target": int(reached[0]) + 1 if reached.size else None,
                "proposals": [{"method": str(c["method"]), "front": index.get(key(c)), "accuracy": round(float(a), 4),
                               **({"group": group_label(table.space, c, group_by)} if group_by else {})}
                              for c, a in zip(run.configs, accuracy, strict=True)]})
    groups: dict[str, list[float]] = {}
    if group_by:
        for config, point in zip(members, points, strict=True):
            groups.setdefault(group_label(table.space, config, group_by), []).append(float(point[0]))
    return {"table": table.name, "fidelity": steps,
            "front": [{"number": i, "config": dict(c), "accuracy": float(v[0]), "trainable_params": float(v[1])}
                      for i, (c, v) in enumerate(zip(front, values, strict=True))],
            "methods": {m: {"rows": len(a), "best_accuracy": max(a),
                            "rows_above_the_rest": above(a, [v for o, b in methods.items() if o != m for v in b])}
                        for m, a in sorted(methods.items())},
            "runs": runs,
            **({"group_by": list(group_by),
                "groups": {g: {"rows": len(a), "best_accuracy": max(a), "median_accuracy": float(np.median(a))}
                           for g, a in sorted(groups.items())}} if group_by else {})}


def per_group(runs: Sequence[Mapping[str, Any]], group: str) -> float:
    """The mean number of trials a replay spent on ``group``'s members."""
    return float(np.mean([sum(p.get("group") == group for p in r["proposals"]) for r in runs]))


def above(accuracies: Sequence[float], others: Sequence[float]) -> int:
    """How many of ``accuracies`` beat the best of ``others`` (every row of every other method)."""
    return sum(a > max(others) for a in accuracies) if others else len(accuracies)


def per_method(runs: Sequence[Mapping[str, Any]], method: str) -> list[int]:
    """How many of each replay's trials went to ``method``'s members, one count per replay."""
    return [sum(p["method"] == method for p in r["proposals"]) for r in runs]


def found(runs: Sequence[Mapping[str, Any]], number: int) -> tuple[int, float | None]:
    """On how many replays front member ``number`` was tried, and the median trial (1-based) of its first try."""
    firsts = [next(i + 1 for i, p in enumerate(r["proposals"]) if p["front"] == number)
              for r in runs if any(p["front"] == number for p in r["proposals"])]
    return len(firsts), (float(np.median(firsts)) if firsts else None)


def markdown(data: Mapping[str, Any], command: str, show: int) -> str:
    seeds = data["seeds"]
    lines = [f"# Which front members the searches find on `{data['table']}` (replay; generated by "
             "benchmarks/front_trace.py)", "",
             f"`{command}`. Seeds {seeds[0]}-{seeds[-1]}, {data['budget']} trials"
             + (f" (random: {data['random']})" if data.get("random") else "") + ", the table's main fidelity "
             f"({data['fidelity']} steps); accuracies are seed means.", "",
             "## The exhaustive front (sharp reference)", "",
             "| # | method | trainable parameters | accuracy | " + " | ".join(
                 f"{n}: seeds that tried it (median first trial)" for n in data["runs"]) + " |",
             "|---|---|---:|---:|" + "---|" * len(data["runs"])]
    for member in data["front"]:
        cells = []
        for runs in data["runs"].values():
            count, first = found(runs, member["number"])
            cells.append(f"{count}/{len(runs)}" + (f" ({first:g})" if first is not None else ""))
        lines.append(f"| {member['number']} | {member['config']['method']} | {member['trainable_params']:,.0f} | "
                     f"{member['accuracy']:.4f} | " + " | ".join(cells) + " |")
    lines += ["", "## Methods in the table", "", "| method | rows | best accuracy | rows above every other method's "
              "best |", "|---|---:|---:|---:|"]
    lines += [f"| {m} | {v['rows']} | {v['best_accuracy']:.4f} | {v['rows_above_the_rest']} |"
              for m, v in data["methods"].items()]
    lines += ["", "## Trials per method (median over seeds, lowest-highest)", "",
              "| strategy | trials | " + " | ".join(data["methods"]) + " |",
              "|---|---:|" + "---:|" * len(data["methods"])]
    for name, runs in data["runs"].items():
        cells = []
        for method in data["methods"]:
            counts = per_method(runs, method)
            cells.append(f"{float(np.median(counts)):g} ({min(counts)}-{max(counts)})")
        lines.append(f"| {name} | {len(runs[0]['proposals'])} | " + " | ".join(cells) + " |")
    if data.get("groups"):
        columns = ", ".join(f"`{c}`" for c in data["group_by"])
        lines += ["", f"## Trials per group of method and {columns} (mean per replay)", "",
                  "| group | rows | median accuracy | best accuracy | " + " | ".join(data["runs"]) + " |",
                  "|---|---:|---:|---:|" + "---:|" * len(data["runs"])]
        for group, g in data["groups"].items():
            lines.append(f"| {group} | {g['rows']} | {g['median_accuracy']:.4f} | {g['best_accuracy']:.4f} | "
                         + " | ".join(f"{per_group(runs, group):.1f}" for runs in data["runs"].values()) + " |")
    lines += ["", f"## Trials to {TARGET} of the sharp ratio (median over seeds; one that never gets there counts as "
              "never, as in search_efficiency.py)", ""]
    for name, runs in data["runs"].items():
        reached = [r["to_target"] for r in runs if r["to_target"] is not None]
        middle = float(np.median([math.inf if r["to_target"] is None else r["to_target"] for r in runs]))
        median = f"{middle:g}" if math.isfinite(middle) else "never (most seeds do not reach it)"
        lines.append(f"- {name}: median {median} ({len(reached)}/{len(runs)} seeds reach it); per seed: "
                     + ", ".join(str(r["to_target"]) for r in runs))
    lines += ["", f"## The first {show} proposals of the first seeds", "",
              "Each as method, `*N` if it is front member N, and its seed-mean accuracy.", ""]
    for name, runs in data["runs"].items():
        for r in runs[:3]:
            shown = " ".join(f"{p['method']}{'*' + str(p['front']) if p['front'] is not None else ''}:"
                             f"{p['accuracy']:.3f}" for p in r["proposals"][:show])
            lines.append(f"- {name}, seed {r['seed']}: {shown}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from autopeft.bench.replay import controller_spec
    from autopeft.bench.table import TableError, load_table, objectives_from
    from autopeft.bench.table.cells import unknown_column
    from autopeft.errors import AutopeftError

    objectives = objectives_from(["accuracy", "trainable_params"])
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    try:
        table = load_table(os.path.relpath(args.table))
        group_by = [c.strip() for c in args.group_by.split(",")] if args.group_by else []
        problem = unknown_column(table.space, group_by)
        if problem:
            raise TableError(f"--group-by {problem}")
        bo = controller_spec("bo")
        strategies: dict[str, Any] = {"bo": bo}
        if args.other:
            from autopeft.bench.warm_start import load_prior

            prior = load_prior([os.path.relpath(args.other)], table.space, objectives)
            strategies["warm:bo"] = bo.warm(prior)
        if args.random:
            strategies["random"] = controller_spec("random")
        data = trace(table, strategies, objectives, seeds, args.budget, {"random": args.random}, group_by)
    except AutopeftError as exc:
        print(f"front_trace.py: error: {exc}", file=sys.stderr)
        return 2
    command = recorded_command("benchmarks/front_trace.py", argv if argv is not None else sys.argv[1:],
                               ("--table", "--other", "--out"), ROOT)
    data = {"command": command, "seeds": seeds, "budget": args.budget, "other": args.other and Path(args.other).name,
            **({"random": args.random} if args.random else {}), **data}
    text = markdown(data, command, args.show)
    write_results(Path(args.out) / table.name, data, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
