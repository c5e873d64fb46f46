"""Benchmark: search efficiency against the peers on a PEFT-Bench v2 table, scored against the sharp reference.

    python benchmarks/search_efficiency.py --table benchmarks/peftbench/minilm-tweets-v2.csv \\
        --other benchmarks/peftbench/minilm-bbc-news.csv
    python benchmarks/search_efficiency.py --table benchmarks/peftbench/minilm-bbc-news.csv \\
        --other benchmarks/peftbench/minilm-tweets-v2.csv
    python benchmarks/search_efficiency.py --table T.csv --parts peers --seeds 2 --partial   # a smoke run

Everything is a replay (nothing is trained): each proposal is answered with one training seed's row, drawn by
the replay seed, and every search is scored on seed means, against the **sharp** reference point (the
majority-class accuracy of the validation split, 1.1 x the table's largest adapter; log10 parameters).
Seeds ``--seed-start`` .. (default **1000-1019**): the project tuned bo and wrote its earlier results on seeds
0-19 and never used these.

Three parts (``--parts``, default all three), each with its goal (budgets as at the default ``--budget 50``):

- ``peers``: ``bo`` (bo:gp) at 50 trials against Optuna's samplers (``optuna:tpe``, ``optuna:nsga2``,
  ``optuna:gp``, ``optuna:botorch``), NNI's TPE (``nni:TPE``) at 50, and ``random`` at 150. Goal: bo ahead of every
  Optuna sampler on at least 14 of 20 seeds (paired by seed), and its median at 50 at least random's at 150.
  bo is also paired against random at 50, the same budget: not a goal, but whether bo's model helps at all.
- ``mf``: the multi-fidelity study on the configurations the table has at both fidelities, costs in low-fidelity
  trials: ``mf:bo`` (ASHA promotion by Pareto rank, eta 3) against ``high:bo`` (every proposal at the high
  fidelity, the single-fidelity search). Goal: mf:bo reaches high:bo's median ratio at 100 cost units for at
  most half of the cost high:bo needs for it; otherwise the figures say by how much it does not pay.
- ``warm``: ``warm:bo`` started from ``--other`` (another task's table over the same space) against cold ``bo``.
  Goal: the median number of trials to reach 0.99 of the sharp ratio at most half of the cold start's.

The goals also give the oracle's curve: the best ratio any search could have after k trials (the best k members
of the exhaustive front, :mod:`autopeft.bench.oracle`), the floor under every "trials to 0.99".

Every paired count ("ahead on 16, tied on 0, behind on 4") comes with two-sided p-values of the sign test and
the Wilcoxon signed-rank test over the seeds (:mod:`autopeft.bench.paired`), so a split that seed luck
explains reads as one.

Writes ``NAME.json`` (every curve, every per-seed number, the goals), ``NAME.png`` (the ratio and the regret
1 - ratio on a log axis, mean +- standard error over seeds) and ``NAME.md`` under ``--out``
(default ``benchmarks/results/search_efficiency``), NAME being the table's name. A table whose build is not
finished (its sidecar says ``complete: false``) is refused unless ``--partial`` is given, and a partial run's
files say so. Resumable: every finished (strategy, seed) replay is kept in ``--out``/NAME.done/, and the same
command run again after a kill replays only what is missing. Replays are deterministic on one machine and
package set, not across them: a GP's fit can differ in the last bits and change a later proposal. So each kept
replay records the versions and machine it ran on (``stack``), and ``benchmarks/replay_drift.py`` replays bo
afresh to show how far the kept results move on the machine at hand.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from replay_cache import Resumable, digest  # noqa: E402 - after the path it is found on

PEERS = ("optuna:tpe", "optuna:nsga2", "optuna:gp", "optuna:botorch", "nni:TPE")
OPTUNA = tuple(p for p in PEERS if p.startswith("optuna:"))
PARTS = ("peers", "mf", "warm")
WIN_SEEDS, WARM_TARGET = 14, 0.99
SEED_START = 1000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default=str(HERE / "peftbench" / "minilm-tweets-v2.csv"), help="a PEFT-Bench v2 CSV")
    p.add_argument("--other", help="the table warm:bo starts from (another task, the same space); needed by 'warm'")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of: {', '.join(PARTS)}")
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated peer controllers")
    p.add_argument("--seeds", type=int, default=20, help="replay seeds per strategy (default 20)")
    p.add_argument("--seeds-for", action="append", default=[], metavar="NAME=N",
                   help="fewer seeds for one strategy (the first N), e.g. optuna:botorch=5; repeatable")
    p.add_argument("--budget", type=int, default=50,
                   help="trials per search (default 50); random gets 3x, the multi-fidelity study 2x in cost units")
    p.add_argument("--seed-start", type=int, default=SEED_START, help=f"first seed (default {SEED_START})")
    p.add_argument("--out", default=str(HERE / "results" / "search_efficiency"), help="folder for the results")
    p.add_argument("--partial", action="store_true", help="accept a table whose build is unfinished (smoke runs)")
    return p.parse_args(argv)


def paired(a: Any, b: Any, at_a: int, at_b: int) -> dict[str, Any]:
    """Seeds on which ``a`` after ``at_a`` is ahead of / tied with / behind ``b`` after ``at_b``, over the seeds
    both ran (a peer given fewer seeds with ``--seeds-for`` is paired on its own), with the median difference
    and the paired tests' p-values (:func:`autopeft.bench.paired.paired_comparison`)."""
    from autopeft.bench.paired import paired_comparison

    common = [s for s in a.seeds if s in b.seeds]
    rows_a = [a.seeds.index(s) for s in common]
    rows_b = [b.seeds.index(s) for s in common]
    return paired_comparison(a.ratios[rows_a, at_a - 1], b.ratios[rows_b, at_b - 1]).as_dict()


def p_text(v: dict[str, Any]) -> str:
    """The p-values of a :func:`paired` result as a phrase."""
    from autopeft.bench.paired import PairedComparison

    return PairedComparison.from_dict(v).p_text()


def median_curve(summary: Any) -> np.ndarray:
    return np.asarray(np.median(summary.ratios, axis=0), dtype=float)


def cost_to_reach(summary: Any, level: float) -> int | None:
    """The first cost at which the median curve reaches ``level`` (None if it never does)."""
    hit = np.flatnonzero(median_curve(summary) >= level - 1e-12)
    return int(hit[0]) + 1 if hit.size else None


def peer_goals(result: Any, peers: list[str]) -> dict[str, Any]:
    bo, random = result.summary("bo"), result.summary("random")
    at, random_at = bo.budget, random.budget  # the budgets the goal is stated at
    rows = {}
    for name in peers:
        s = result.summary(name)
        rows[name] = {"median_at": s.at(at)[2], "mean_at": s.at(at)[0], "se_at": s.at(at)[1],
                      "bo_vs": paired(bo, s, at, at), "seconds": round(s.seconds, 1), "optuna": name in OPTUNA}
    bo_median, random_median = bo.at(at)[2], random.at(random_at)[2]
    optuna = [n for n in peers if n in OPTUNA]
    same = random.budget >= at  # not a goal: whether bo's model helps at all, against random at bo's own budget
    return {"at": at, "random_at": random_at, "bo_median_at": bo_median, "random_median_at": random_median,
            "random_median_same": random.at(at)[2] if same else None,
            "bo_vs_random": paired(bo, random, at, random_at), "peers": rows,
            "bo_vs_random_same_budget": paired(bo, random, at, at) if same else None,
            # 14 of 20 seeds, in proportion for a peer run on fewer seeds (--seeds-for)
            "goal_wins": all(rows[n]["bo_vs"]["ahead"] >= WIN_SEEDS * rows[n]["bo_vs"]["seeds"] / 20 for n in optuna),
            "goal_random": bool(bo_median >= random_median - 1e-12), "optuna_compared": optuna}


def mf_goals(result: Any) -> dict[str, Any]:
    mf, high = result.summary("mf:bo"), result.summary("high:bo")
    level = float(median_curve(high)[-1])
    c_high, c_mf = cost_to_reach(high, level), cost_to_reach(mf, level)
    out: dict[str, Any] = {"level": level, "at_cost": high.budget, "high_cost": c_high, "mf_cost": c_mf,
                           "mf_median_at_end": float(median_curve(mf)[-1]),
                           "mf_vs_high_at_end": paired(mf, high, mf.budget, high.budget)}
    for k in (25, 50, 100):
        if k <= mf.budget:
            out[f"median_at_{k}"] = {"mf:bo": float(median_curve(mf)[k - 1]),
                                     "high:bo": float(median_curve(high)[k - 1])}
    out["cost_ratio"] = None if c_mf is None or not c_high else c_mf / c_high
    out["goal"] = bool(out["cost_ratio"] is not None and out["cost_ratio"] <= 0.5)
    return out


def warm_goals(result: Any) -> dict[str, Any]:
    cold, warm = result.summary("bo"), result.summary("warm:bo")
    c_median, c_reached, c_per = cold.to_target(WARM_TARGET)
    w_median, w_reached, w_per = warm.to_target(WARM_TARGET)
    return {"target": WARM_TARGET, "cold": {"median": c_median, "reached": c_reached, "per_seed": c_per},
            "warm": {"median": w_median, "reached": w_reached, "per_seed": w_per},
            "ratio": None if c_median is None or w_median is None else w_median / c_median,
            "goal": bool(c_median is not None and w_median is not None and w_median <= 0.5 * c_median),
            "at_10": {"cold": cold.at(10)[2], "warm": warm.at(10)[2]} if cold.budget >= 10 else None,
            "warm_vs_cold_at_10": paired(warm, cold, 10, 10) if cold.budget >= 10 else None}


def oracle_part(table: Any, objectives: Any) -> dict[str, Any]:
    """The best ratio any search could have after k trials (:mod:`autopeft.bench.oracle`), and the trials it
    needs to reach the warm-start target: the floor under every "trials to 0.99"."""
    from autopeft.bench.oracle import oracle_curve, oracle_trials
    from autopeft.bench.reference import reference_for

    curve = oracle_curve(table, table.main_fidelity, objectives, reference_for(table, objectives, "sharp"))
    return {"curve": [round(v, 6) for v in curve], "trials_to_target": oracle_trials(curve, WARM_TARGET)}


def machines_text(machines: dict[str, int]) -> str:
    """``machines`` (a replay's ``replay_cache.stack()`` as JSON -> count) as one sentence."""
    parts = []
    for where, n in sorted(machines.items(), key=lambda kv: -kv[1]):
        if where == "unrecorded":
            parts.append(f"{n} kept before machines were recorded")
        else:
            s = json.loads(where)
            versions = ", ".join(f"{k} {v}" for k, v in s.items() if k not in ("machine", "cpu"))
            parts.append(f"{n} on {s.get('cpu') or 'an unnamed CPU'} ({s.get('machine', '?')}; {versions})")
    return "; ".join(parts)


def markdown(table: Any, parts: dict[str, Any], goals: dict[str, Any], command: str, data: dict[str, Any],
             partial: bool, seeds: list[int]) -> str:
    lines = [f"# Search efficiency on `{table.name}` (replay, sharp reference; "
             "generated by benchmarks/search_efficiency.py)", ""]
    if partial:
        lines += ["**A smoke run on an unfinished table: these figures are not results.**", ""]
    lines += [f"`{command}` — the replays took {data['replay_seconds']:.0f} s in all (this call "
              f"{data['seconds']:.0f} s; finished replays are kept under `{table.name}.done/` and not redone), "
              "nothing trained. "
              f"Replays: {machines_text(data['machines'])}. Seeds {seeds[0]}-{seeds[-1]} (never "
              "used to tune anything). Ratio = hypervolume of the seed-mean values of what was tried so far / that "
              "of the exhaustive front, both from the sharp reference point (majority-class accuracy, 1.1 x the "
              "largest adapter, log10 parameters); each proposal is answered by one training seed's row.", ""]
    for name, result in parts.items():
        lines += [f"## {name}", "", "```", result.text(), "```", ""]
    lines += ["## Goals", ""]
    oracle = data.get("oracle")
    if oracle:
        reached = ", ".join(f"{v:.4f}" for v in oracle["curve"][:oracle["trials_to_target"]])
        lines.append(f"- A search that knew the table (the best k members of the exhaustive front; "
                     f"`autopeft/bench/oracle.py`) has ratio {reached} after 1, 2, ... trials: "
                     f"{oracle['trials_to_target']} trials to {WARM_TARGET}, the floor under every search's.")
    if "peers" in goals:
        g = goals["peers"]
        at, random_at = g["at"], g["random_at"]
        lines.append(f"- bo at {at}: median {g['bo_median_at']:.4f}.")
        for name, row in g["peers"].items():
            v = row["bo_vs"]
            lines.append(f"  - against `{name}` at {at} (median {row['median_at']:.4f}): bo ahead on {v['ahead']}, "
                         f"tied on {v['tied']}, behind on {v['behind']} of {v['seeds']} seeds ({p_text(v)}).")
        v = g["bo_vs_random"]
        lines.append(f"  - against `random` at {random_at} (median {g['random_median_at']:.4f}): ahead on "
                     f"{v['ahead']}, tied on {v['tied']}, behind on {v['behind']} ({p_text(v)}).")
        v = g.get("bo_vs_random_same_budget")
        if v:
            lines.append(f"  - against `random` at {at}, the same budget (median {g['random_median_same']:.4f}): "
                         f"ahead on {v['ahead']}, tied on {v['tied']}, behind on {v['behind']} ({p_text(v)}).")
        lines.append(f"- Goal, bo ahead of every Optuna sampler on >= {WIN_SEEDS} of 20 seeds (pro rata on fewer): "
                     f"{'met' if g['goal_wins'] else 'NOT met'}; bo's median at {at} >= random's at {random_at}: "
                     f"{'met' if g['goal_random'] else 'NOT met'}.")
    if "mf" in goals:
        g = goals["mf"]
        ratio = "n/a (mf:bo never reaches it)" if g["cost_ratio"] is None else f"{g['cost_ratio']:.2f}"
        lines.append(f"- Multi-fidelity: high:bo's median ratio at {g['at_cost']} cost units is {g['level']:.4f}; "
                     f"high:bo first reaches it (median curve) at cost {g['high_cost']}, mf:bo at "
                     f"{g['mf_cost'] if g['mf_cost'] is not None else 'never'} (ratio {ratio}; mf:bo ends at "
                     f"{g['mf_median_at_end']:.4f}). Goal, at most half the cost: {'met' if g['goal'] else 'NOT met'}.")
    if "warm" in goals:
        g = goals["warm"]
        lines.append(f"- Warm start from `{g['source']}`: median trials to {WARM_TARGET} of the sharp ratio, cold "
                     f"{g['cold']['median']} ({g['cold']['reached']} seeds reach it), warm {g['warm']['median']} "
                     f"({g['warm']['reached']} seeds; a search that knew the table: "
                     f"{data['oracle']['trials_to_target']}). Goal, at most half: {'met' if g['goal'] else 'NOT met'}.")
        v = g.get("warm_vs_cold_at_10")
        if v:
            lines.append(f"  - after 10 trials (medians: warm {g['at_10']['warm']:.4f}, cold {g['at_10']['cold']:.4f}) "
                         f"the warm start is ahead on {v['ahead']}, tied on {v['tied']}, behind on {v['behind']} of "
                         f"{v['seeds']} seeds ({p_text(v)}).")
    lines += ["", f"![curves]({table.name}.png)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from autopeft.bench.table import load_table, objectives_from
    from autopeft.errors import AutopeftError

    parts_asked = [p.strip() for p in args.parts.split(",") if p.strip()]
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    bad = [p for p in parts_asked if p not in PARTS]
    try:
        if bad or not parts_asked:
            raise_config(f"--parts {args.parts!r}: allowed: {', '.join(PARTS)}")
        fewer = seeds_for(args.seeds_for, args.seeds)
        table = load_table(os.path.relpath(args.table))
        if table.meta.info.get("complete") is False and not args.partial:
            raise_config(f"table {table.name!r} is not finished (its sidecar says complete: false); finish its "
                         f"build first, or pass --partial for a smoke run whose figures are not results")
        if "warm" in parts_asked and not args.other:
            raise_config("--parts warm needs --other TABLE (the table warm:bo starts from)")
        objectives = objectives_from(["accuracy", "trainable_params"])
        common = {"seeds": args.seeds, "seed_start": args.seed_start, "objectives": objectives, "reference": "sharp",
                  "progress": lambda line: print(line, file=sys.stderr, flush=True)}
        size = len(table.configs(table.main_fidelity))
        oracle = oracle_part(table, objectives)
        start = time.perf_counter()
        results: dict[str, Any] = {}
        goals: dict[str, Any] = {}
        budget = min(args.budget, size)
        done = Path(args.out) / f"{table.name}.done"  # each strategy's finished seeds: a rerun goes on from here
        part = Resumable(table, done, digest(args.table), common, fewer)
        if "peers" in parts_asked:
            results["peers"] = part.run(["bo", *peers, "random"], budget, {"random": min(3 * budget, size)})
            goals["peers"] = peer_goals(results["peers"], peers)
        if "mf" in parts_asked:
            results["mf"] = part.run(["mf:bo", "high:bo"], 2 * budget)
            goals["mf"] = mf_goals(results["mf"])
        if "warm" in parts_asked:
            from autopeft.bench.warm_start import load_prior

            prior = load_prior([os.path.relpath(args.other)], table.space, objectives)
            results["warm"] = part.run(["bo", "warm:bo"], budget, prior=prior, prior_digest=digest(args.other))
            goals["warm"] = {**warm_goals(results["warm"]), "source": os.path.relpath(args.other)}
        seconds = time.perf_counter() - start
        # "to target" in the texts and the JSON: 0.99 of the sharp ratio (0.95 says little this close to the front)
        results = {name: dataclasses.replace(r, target=WARM_TARGET) for name, r in results.items()}
    except AutopeftError as exc:
        print(f"search_efficiency.py: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    given = argv if argv is not None else sys.argv[1:]
    command = "python " + " ".join(["benchmarks/search_efficiency.py", *given])
    partial = table.meta.info.get("complete") is False
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    replays = {s.strategy: s.seconds for r in results.values() for s in r.summaries}  # cold bo once
    machines = dict(collections.Counter(part.where.values()))
    data = {"table": table.name, "command": command, "seconds": round(seconds, 1),
            "replay_seconds": round(sum(replays.values()), 1), "machines": machines, "partial_table": partial,
            "seeds": seeds, "reference": "sharp", "oracle": oracle, "goals": goals,
            "parts": {name: r.to_dict() for name, r in results.items()}}
    stem = out / table.name
    stem.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    # one figure: the single-fidelity strategies in one row (cold bo once), the multi-fidelity study in another
    shown = [s for r in results.values() for s in r.summaries]
    shown = [s for i, s in enumerate(shown) if s.strategy not in {t.strategy for t in shown[:i]}]
    merged = SimpleNamespace(summaries=tuple(shown), table=table)
    comparison_plot()(merged, stem.with_suffix(".png"))
    stem.with_suffix(".md").write_text(markdown(table, results, goals, command, data, partial, seeds),
                                       encoding="utf-8")
    print("\n\n".join(r.text() for r in results.values()))
    print(f"wrote {stem}.json, {stem}.png, {stem}.md")
    return 0


def comparison_plot() -> Any:
    """``benchmarks/controller_comparison.py``'s figure (loaded by path: the benchmarks are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("controller_comparison", HERE / "controller_comparison.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plot


def seeds_for(values: list[str], seeds: int) -> dict[str, int]:
    """``--seeds-for NAME=N`` values as {name: N}; N must be 1..--seeds."""
    out = {}
    for value in values:
        name, _, count = value.partition("=")
        if not name.strip() or not count.strip().isdigit() or not 1 <= int(count) <= seeds:
            raise_config(f"--seeds-for {value!r}: expected NAME=N with N from 1 to --seeds ({seeds}), "
                         f"e.g. optuna:botorch=5")
        out[name.strip()] = int(count)
    return out


def raise_config(message: str) -> None:
    from autopeft.errors import ConfigError

    raise ConfigError(message)


if __name__ == "__main__":
    raise SystemExit(main())
