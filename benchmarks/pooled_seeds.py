"""Benchmark analysis: the search-efficiency goals on every seed set at once, read from the committed results.

    python benchmarks/pooled_seeds.py

Nothing is replayed. Each goal of ``benchmarks/peftbench/README.md`` ("Search efficiency on the v2 tables") was
measured on 20 seeds at a time, and on three seed sets:

- ``dev``, seeds 0-19: the development seeds. bo's defaults, and every option tried and rejected, were tuned on
  them, so they lean towards bo;
- ``report``, seeds 1000-1019: the results of record (``search_efficiency.py``). They were later used to confirm
  or reject changes chosen on the development seeds: every change to bo's own search was rejected; two of the
  warm start's (``prior_cover``, then ``prior_levels``, then ``prior_level_shrink`` 0.25) were confirmed and
  became defaults;
- ``fresh``, seeds 2000-2019: used to check the goals with the defaults unchanged, and each accepted warm-start
  change once, after it was decided.

Twenty seeds cannot separate a goal that sits at the noise floor. This script pairs the same comparisons by seed
over the sets, per set and pooled: ``report + fresh`` (40 seeds that tuned nothing) and all 60. The comparisons:

- **bo at 50 against each Optuna sampler at 50** (``optuna:tpe``, ``optuna:nsga2``; not run on the development
  seeds): the sharp ratio at the budget, seeds ahead / tied / behind, the two-sided sign and Wilcoxon tests of
  :mod:`autopeft.bench.paired`;
- **bo at 50 against random at 150**: the same, and the two medians (the goal compares medians);
- **the warm start against a cold bo**: trials to 0.99 of the sharp ratio, their medians (a seed that never gets
  there counts as never, as in ``search_efficiency.py``) and their ratio (the goal: at most 0.5). Paired by seed,
  fewer trials is ahead; for the tests a seed that never gets there counts as ``budget + 1`` trials.

Every number comes from one of the files in :data:`SOURCES`, which keep ratios to six decimals. The script checks
that where two files hold the same strategy on the same seeds (cold bo in a warm-start file and in a comparison),
they agree, and says so in its output.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.bench.paired import paired_comparison
from autopeft.bench.recorded import recorded_command, write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
TARGET = 0.99  #: "trials to" counts up to this share of the sharp ratio
BUDGET, RANDOM_BUDGET = 50, 150
PEERS = ("optuna:tpe", "optuna:nsga2")
SETS = ("dev", "report", "fresh")
POOLS = {"report + fresh": ("report", "fresh"), "all": SETS}

#: table -> seed set -> (the file with the final ratios, its format; the file with the warm start, its format, the
#: warm start's strategy name in it). Formats: ``compare`` (``autopeft bench --out``), ``efficiency``
#: (``search_efficiency.py``), ``ablation`` (``bo_ablation.py``), ``warm`` (``warm_std.py``). The warm start is
#: today's default on every set: it covers the methods first (``prior_cover``) and gives each method a level
#: (``prior_levels``) with ``prior_level_shrink`` 0.25, read from the ``warm_std.py`` files that compared 0.25 with
#: 1 (each with its own cold bo, replayed beside it on one machine).
SOURCES: dict[str, dict[str, tuple[tuple[str, str], tuple[str, str, str]]]] = {
    "minilm-tweets-v2": {
        "dev": (("bo_ablation_v2_dev/bo_ablation.json", "ablation"),
                ("warm_level_shrink/minilm-tweets-v2.json", "warm", "warm:bo prior_level_shrink=0.25")),
        "report": (("search_efficiency/minilm-tweets-v2.json", "efficiency"),
                   ("warm_level_shrink_1000/minilm-tweets-v2.json", "warm", "warm:bo prior_level_shrink=0.25")),
        "fresh": (("fresh_seeds/peers-tweets-v2.json", "compare"),
                  ("warm_level_shrink_2000/minilm-tweets-v2.json", "warm", "warm:bo prior_level_shrink=0.25")),
    },
    "minilm-bbc-news": {
        "dev": (("bo_interleave/dev-bbc-news/bo_ablation.json", "ablation"),
                ("warm_level_shrink/minilm-bbc-news.json", "warm", "warm:bo prior_level_shrink=0.25")),
        "report": (("search_efficiency/minilm-bbc-news.json", "efficiency"),
                   ("warm_level_shrink_1000/minilm-bbc-news.json", "warm", "warm:bo prior_level_shrink=0.25")),
        "fresh": (("fresh_seeds/peers-bbc-news.json", "compare"),
                  ("warm_level_shrink_2000/minilm-bbc-news.json", "warm", "warm:bo prior_level_shrink=0.25")),
    },
}

Finals = dict[str, dict[int, float]]  # strategy -> seed -> ratio at its budget
Trials = dict[str, dict[int, int | None]]  # "cold" / "warm" -> seed -> trials to TARGET (None: never)


def _strategies(data: Mapping[str, Any]) -> Finals:
    """``autopeft bench`` results: each strategy's ratio at its budget, by seed."""
    return {s["strategy"]: {int(seed): float(c[-1]) for seed, c in zip(s["seeds"], s["curves"], strict=True)}
            for s in data["strategies"]}


def finals(data: Mapping[str, Any], form: str) -> Finals:
    """Each strategy's ratio at the end of its budget, by seed, from a results file of format ``form``."""
    if form == "compare":
        return _strategies(data)
    if form == "efficiency":
        return _strategies(data["parts"]["peers"])
    if form == "ablation":
        names = {"random": "random", "bo:gp before": "bo"}
        return {names[k]: {int(s): float(c[-1]) for s, c in zip(data["seeds"], curves, strict=True)}
                for k, curves in data["curves"].items() if k in names}
    raise ValueError(f"unknown results format {form!r}; allowed: compare, efficiency, ablation")


def trials(data: Mapping[str, Any], form: str, warm: str) -> tuple[Trials, dict[int, float]]:
    """Cold and warm (strategy ``warm``) trials to :data:`TARGET` by seed, and cold bo's ratio at the end by seed
    where the file has it (for the consistency check)."""
    if form == "warm":
        runs = data["runs"]
        pick = {"cold": runs["bo"], "warm": runs[warm]}
        return ({k: {int(r["seed"]): r["to_target"] for r in v} for k, v in pick.items()},
                {int(r["seed"]): float(r["end"]) for r in runs["bo"]})
    raise ValueError(f"unknown results format {form!r}; allowed: warm")


def load(table: str, results: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """Seed set -> its finals, trials to the target and consistency check, for ``table``."""
    out = {}
    for name, ((ratio_file, ratio_form), (warm_file, warm_form, warm)) in SOURCES[table].items():
        ratios = finals(json.loads((results / ratio_file).read_text(encoding="utf-8")), ratio_form)
        counted, cold_end = trials(json.loads((results / warm_file).read_text(encoding="utf-8")), warm_form, warm)
        shared = sorted(set(cold_end) & set(ratios.get("bo", {})))
        agree = sum(abs(cold_end[s] - ratios["bo"][s]) <= 5e-7 for s in shared)
        out[name] = {"finals": ratios, "trials": counted, "files": sorted({ratio_file, warm_file}),
                     "cold_bo_agrees": [agree, len(shared)]}
    return out


def _paired(a: Mapping[int, float], b: Mapping[int, float]) -> dict[str, Any]:
    seeds = sorted(a)
    if sorted(b) != seeds:
        raise ValueError(f"the two strategies have different seeds: {seeds[:3]}... and {sorted(b)[:3]}...")
    result = paired_comparison([a[s] for s in seeds], [b[s] for s in seeds]).as_dict()
    return {**result, "median_a": float(np.median([a[s] for s in seeds])),
            "median_b": float(np.median([b[s] for s in seeds]))}


def _merge(sets: Mapping[str, Mapping[str, Any]], names: Sequence[str], part: str, key: str) -> dict[int, Any] | None:
    merged: dict[int, Any] = {}
    for name in names:
        values = sets[name][part].get(key)
        if values is None:
            return None
        merged.update(values)
    return merged


def _median_trials(values: Mapping[int, int | None]) -> float:
    """Median trials to the target; a seed that never gets there counts as never (infinity)."""
    return float(np.median([math.inf if t is None else t for t in values.values()]))


def _warm_against_cold(warm: Mapping[int, int | None], cold: Mapping[int, int | None]) -> dict[str, Any]:
    """Paired by seed, fewer trials ahead (never: ``BUDGET + 1`` trials), with both medians and their ratio."""
    slow = BUDGET + 1
    out = _paired({s: -(slow if t is None else t) for s, t in warm.items()},
                  {s: -(slow if t is None else t) for s, t in cold.items()})
    warm_median, cold_median = _median_trials(warm), _median_trials(cold)
    out.update(median_a=warm_median, median_b=cold_median,
               ratio=warm_median / cold_median if math.isfinite(cold_median) else None,
               reached_a=sum(t is not None for t in warm.values()),
               reached_b=sum(t is not None for t in cold.values()))
    return out


def compare_table(sets: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Every comparison on each seed set and each pool of :data:`POOLS` (a comparison missing from a set is
    missing from the pools that hold it)."""
    groups = {name: (name,) for name in SETS} | POOLS
    out: dict[str, Any] = {}
    for group, names in groups.items():
        bo = _merge(sets, names, "finals", "bo")
        if bo is None:
            raise ValueError(f"no bo results on the {group} seeds")
        row: dict[str, Any] = {"seeds": len(bo)}
        for peer in (*PEERS, "random"):
            other = _merge(sets, names, "finals", peer)
            row[peer] = None if other is None else _paired(bo, other)
        cold, warm = (_merge(sets, names, "trials", k) for k in ("cold", "warm"))
        row["warm"] = None if cold is None or warm is None else _warm_against_cold(warm, cold)
        out[group] = row
    return out


def _counts(c: Mapping[str, Any] | None) -> str:
    if c is None:
        return "-"
    p = "-" if c["sign_p"] is None else (f"{c['sign_p']:.2g}" if c["sign_p"] < 0.001 else f"{c['sign_p']:.3f}")
    return f"{c['ahead']}/{c['tied']}/{c['behind']} (p = {p})"


def markdown(data: Mapping[str, Any]) -> str:
    lines = ["# The search-efficiency goals on every seed set (generated by benchmarks/pooled_seeds.py)", "",
             f"`{data['command']}`. Nothing replayed: each figure is read from the committed results below and "
             "paired by seed. Counts are ahead/tied/behind for bo (for the warm start: fewer/as many/more trials "
             "than cold bo); p is the two-sided sign test. Seed sets: dev 0-19 (bo tuned on them), report "
             "1000-1019, fresh 2000-2019.", ""]
    for table, rows in data["tables"].items():
        lines += [f"## `{table}`", "",
                  "| seeds | n | bo against optuna:tpe | against optuna:nsga2 | against random at 150 "
                  "| median bo @50 / random @150 | warm start: trials to 0.99 | median warm / cold (ratio) |",
                  "|---|---:|---|---|---|---|---|---|"]
        for group, row in rows.items():
            rnd, warm = row["random"], row["warm"]
            medians = f"{rnd['median_a']:.4f} / {rnd['median_b']:.4f}" if rnd else "-"
            ratio = ("-" if warm is None else f"{warm['median_a']:g} / {warm['median_b']:g} ("
                     + ("-" if warm["ratio"] is None else f"{warm['ratio']:.2f}") + ")")
            lines.append(f"| {group} | {row['seeds']} | {_counts(row['optuna:tpe'])} | {_counts(row['optuna:nsga2'])} "
                         f"| {_counts(rnd)} | {medians} | {_counts(warm)} | {ratio} |")
        checks = data["sources"][table]
        lines += ["", "Files: " + "; ".join(f"{name}: " + ", ".join(f"`benchmarks/results/{f}`" for f in c["files"])
                                            for name, c in checks.items()) + ".", "",
                  "Cold bo in the warm-start file against bo in the comparison file, ratio at 50 on the same seeds: "
                  + "; ".join(f"{name}: {c['cold_bo_agrees'][0]} of {c['cold_bo_agrees'][1]} agree"
                              for name, c in checks.items() if c["cold_bo_agrees"][1]) + ".", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default=str(RESULTS), help="the folder of committed results (default: %(default)s)")
    p.add_argument("--out", default=str(RESULTS / "pooled_seeds"), help="folder for pooled.{json,md}")
    args = p.parse_args(argv)
    results = Path(args.results)
    tables, sources = {}, {}
    for table in SOURCES:
        try:
            sets = load(table, results)
        except (OSError, KeyError, ValueError) as exc:
            print(f"pooled_seeds.py: error: {table}: cannot read the results under {results}: {exc}", file=sys.stderr)
            return 2
        tables[table] = compare_table(sets)
        sources[table] = {name: {key: s[key] for key in ("files", "cold_bo_agrees")} for name, s in sets.items()}
    command = recorded_command("benchmarks/pooled_seeds.py", argv if argv is not None else sys.argv[1:],
                               ("--results", "--out"), ROOT)
    data = {"command": command, "target": TARGET, "budget": BUDGET, "random_budget": RANDOM_BUDGET,
            "tables": tables, "sources": sources}
    text = markdown(data)
    write_results(Path(args.out) / "pooled", data, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
