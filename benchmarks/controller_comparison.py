"""Benchmark: the controllers compared on a PEFT-Bench table by replay (nothing is trained).

    python benchmarks/controller_comparison.py                          # the MiniLM table, 20 seeds
    python benchmarks/controller_comparison.py --table T.csv --seeds 5 --out runs/comparison

On the same seeds: ``random`` with 3x the budget (150 trials), each ``bo`` surrogate (``bo:gp`` is ``bo``'s
default) and ``evolution`` with 100, at the table's main (exhaustive) fidelity; with two fidelities also the
multi-fidelity study (``mf:bo``, ``mf:random``: ASHA promotion from the low to the high fidelity; ``high:bo``,
``high:random``: the high fidelity only), 100 low-fidelity-trial equivalents each.

Writes ``controllers.json`` (every curve and per-seed number), ``controllers.png`` (hypervolume ratio and
its shortfall 1 - ratio against trials on a log axis, where a shortfall below 1e-5, 0 included, is drawn at
1e-5; mean ± standard error bands) and ``controllers.md`` (the table and the
goals: ``bo`` at 50 trials reaches >= 0.98 of the exhaustive hypervolume, median over seeds, and beats random
search given 150).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOAL_RATIO, GOAL_AT, RANDOM_FACTOR = 0.98, 50, 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default=str(HERE / "peftbench" / "minilm-tweets.csv"), help="a PEFT-Bench CSV")
    p.add_argument("--seeds", type=int, default=20, help="replay seeds per strategy (default 20)")
    p.add_argument("--seed-start", type=int, default=0)
    p.add_argument("--budget", type=int, default=100, help="trials per model-based search (default 100)")
    p.add_argument("--out", default=str(HERE / "results"), help="folder for controllers.{json,png,md}")
    p.add_argument("--controllers", help="comma-separated strategies instead of the default set")
    return p.parse_args(argv)


def strategies(table: Any, chosen: str | None) -> list[str]:
    from autopeft.controllers.surrogate import surrogate_names

    if chosen:
        return [s.strip() for s in chosen.split(",") if s.strip()]
    names = ["random", *(f"bo:{s}" for s in surrogate_names()), "evolution"]
    if len(table.fidelities) > 1:
        names += ["mf:bo", "mf:random", "high:bo", "high:random"]
    return names


def goals(result: Any) -> list[dict[str, Any]]:
    """Each bo variant against the two goals (numbers, not only verdicts)."""
    out = []
    random = next((s for s in result.summaries if s.strategy == "random"), None)
    for s in result.summaries:
        if not s.strategy.startswith("bo") or s.at(GOAL_AT) is None:
            continue
        mean, se, median = s.at(GOAL_AT)
        row: dict[str, Any] = {"strategy": s.strategy, "at": GOAL_AT, "median": median, "mean": mean, "se": se,
                               "median_goal": median >= GOAL_RATIO}
        if random is not None and random.at(RANDOM_FACTOR * GOAL_AT) is not None:
            r_mean, r_se, r_median = random.at(RANDOM_FACTOR * GOAL_AT)
            paired = s.ratios[:, GOAL_AT - 1] - random.ratios[:, RANDOM_FACTOR * GOAL_AT - 1]
            row.update(random_at=RANDOM_FACTOR * GOAL_AT, random_mean=r_mean, random_se=r_se, random_median=r_median,
                       seeds_ahead=int((paired > 1e-12).sum()), seeds_tied=int((abs(paired) <= 1e-12).sum()),
                       seeds_behind=int((paired < -1e-12).sum()),
                       beats_random=bool(mean > r_mean and median >= r_median))
        out.append(row)
    return out


def plot(result: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from autopeft.bench.compare import MULTI, SINGLE

    studies = [s for s in (SINGLE, MULTI) if any(x.study == s for x in result.summaries)]
    fig, axes = plt.subplots(len(studies), 2, figsize=(12, 4.2 * len(studies)), squeeze=False)
    for row, study in enumerate(studies):
        for summary in (s for s in result.summaries if s.study == study):
            x = np.arange(1, summary.budget + 1)
            mean, se = summary.mean, summary.se
            for col, (y, low, high) in enumerate([(mean, mean - se, mean + se),
                                                  (1 - mean, np.clip(1 - mean - se, 1e-5, None), 1 - mean + se)]):
                ax = axes[row][col]
                (line,) = ax.plot(x, np.clip(y, 1e-5, None) if col else y, label=summary.strategy, lw=1.5)
                ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, lw=0)
        unit = "trials" if study == SINGLE else "cost (low-fidelity trials)"
        for col in (0, 1):
            ax = axes[row][col]
            ax.set_xlabel(unit)
            for k in (25, 50, 100):
                ax.axvline(k, color="0.85", lw=0.8, zorder=0)
            ax.grid(alpha=0.3)
        axes[row][0].axhline(GOAL_RATIO, color="0.4", ls="--", lw=0.8)
        axes[row][0].set_ylabel("hypervolume / exhaustive")
        axes[row][0].set_ylim(max(0.0, float(min(s.mean[min(4, s.budget - 1)] for s in result.summaries
                                                 if s.study == study)) - 0.02), 1.005)
        axes[row][1].set_yscale("log")
        axes[row][1].set_ylabel("1 - ratio (shortfall, log)")
        axes[row][0].set_title(f"{study}: mean ± standard error over {len(result.summaries[0].seeds)} seeds")
        axes[row][0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"PEFT-Bench replay: {result.table.name} ({result.table.space.spec.name})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(result: Any, goal_rows: list[dict[str, Any]], command: str, seconds: float) -> str:
    lines = ["# Controllers compared on PEFT-Bench (replay; generated by benchmarks/controller_comparison.py)", "",
             f"`{command}` — {seconds:.0f} s on this machine, nothing trained. Ratio = hypervolume of the seed-mean "
             "values of every configuration tried so far / hypervolume of the exhaustive front (reference point: "
             "accuracy 0 and the full model's parameter count, as `autopeft search` uses); the search itself sees "
             "one training seed's result per trial, drawn by the replay seed.", "", "```",
             result.text(), "```", "", "## Goals", ""]
    for g in goal_rows:
        verdict = "met" if g["median_goal"] else "NOT met"
        lines.append(f"- `{g['strategy']}` at {g['at']} trials: median ratio {g['median']:.4f} (mean {g['mean']:.4f} "
                     f"± {g['se']:.4f}) — goal >= {GOAL_RATIO} {verdict}.")
        if "random_at" in g:
            lines.append(f"  Against `random` at {g['random_at']} trials (median {g['random_median']:.4f}, mean "
                         f"{g['random_mean']:.4f} ± {g['random_se']:.4f}): ahead on {g['seeds_ahead']}, tied on "
                         f"{g['seeds_tied']}, behind on {g['seeds_behind']} of the seeds — "
                         f"{'beats' if g['beats_random'] else 'does NOT beat'} random with 3x the budget.")
    lines += ["", "![curves](controllers.png)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from autopeft.bench.compare import compare
    from autopeft.bench.table import load_table, objectives_from
    from autopeft.errors import AutopeftError

    try:
        table = load_table(os.path.relpath(args.table))  # shown as given: relative to the working folder
        names = strategies(table, args.controllers)
        size = len(table.configs(table.main_fidelity))
        budget = min(args.budget, size)
        budgets = {"random": min(RANDOM_FACTOR * GOAL_AT, size)}
        start = time.perf_counter()
        result = compare(table, names, budget=budget, seeds=args.seeds, seed_start=args.seed_start,
                         objectives=objectives_from(["accuracy", "trainable_params"]), budgets=budgets,
                         progress=lambda line: print(line, file=sys.stderr, flush=True))
        seconds = time.perf_counter() - start
    except AutopeftError as exc:
        print(f"controller_comparison.py: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    goal_rows = goals(result)
    given = argv if argv is not None else sys.argv[1:]
    command = "python " + " ".join(["benchmarks/controller_comparison.py", *given])
    data = {**result.to_dict(), "goals": goal_rows, "command": command, "seconds": round(seconds, 1)}
    (out / "controllers.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    plot(result, out / "controllers.png")
    (out / "controllers.md").write_text(markdown(result, goal_rows, command, seconds), encoding="utf-8")
    print(result.text())
    print(f"wrote {out / 'controllers.json'}, {out / 'controllers.png'}, {out / 'controllers.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
