"""Benchmark: were a run's reference points tuned? Each reference whose best learning rate sits at an edge of its
sweep is trained again further out, at the run's own fidelity, seed and validation split.

A search compares itself with each reference's *tuned* point, the best of its learning-rate sweep
(``search.reference_lr_factors``, default 1x, 4x and 16x its method's default). When that best is the sweep's
largest (or smallest) rate, a wider sweep might find a better baseline, and "the search beat the tuned
reference" would not hold. This script takes the references of a committed run, and for each one whose best is at
an edge it trains the factors past that edge (``--factors``, multiples of the method's default: 32 and 64 past
the top of the default sweep, 0.25 past its bottom).

It also trains the run's first edge point again, at its recorded seed, and says whether the record comes back
(the same validation accuracy), so that the new points can be read beside the committed ones.

    python benchmarks/reference_sweep.py --run reports/default-budget50 --factors 32,64

Writes benchmarks/results/reference_sweep.json and .md (``--out`` for another stem). Nothing is written to the
run: its journal is opened read-only.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, default=ROOT / "reports" / "default-budget50",
                   help="a run folder, or a journal file (such as reports/*/journals/NAME.db)")
    p.add_argument("--factors", default="32,64",
                   help="comma-separated multiples of each method's default learning rate; those past the edge where a "
                        "reference's best sits are trained (default 32,64)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "reference_sweep",
                   help="output stem (.json and .md)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    args = parse_args(argv)
    factors = sorted(float(f) for f in args.factors.split(",") if f.strip())
    from autopeft.methods import get_method
    from autopeft.report.collect import load_run
    from autopeft.report.references import reference_points
    from autopeft.runner.worker import Worker
    from autopeft.study.journal import Journal
    from autopeft.study.provenance import run_recipe
    from autopeft.trial import Fidelity

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.run
        if args.run.is_file():  # a journal kept as a file (reports/*/journals/NAME.db): read from a copy
            folder = Path(scratch)
            shutil.copyfile(args.run, folder / "study.db")
        with Journal.open(folder, lock=False) as journal:
            recipe = run_recipe(journal)
        run = load_run(folder, details=False)
    score = run.score
    # each reference's sweep by rate and its tuned point, as the report shows them; an unswept one is left out
    refs = [r for r in reference_points(run) if any(p.learning_rate is not None for p in r.sweep)]
    worker = Worker(recipe.model, recipe.task_data(), recipe.training)
    fidelity = Fidelity(steps=recipe.fidelity.steps, train_fraction=recipe.fidelity.train_fraction)

    def train(config: dict[str, Any], seed: int) -> tuple[float, float]:
        start = time.perf_counter()
        record = worker.run(config, fidelity, seed, in_space=False)  # a reference is no member of the space
        if not record.ok:
            raise SystemExit(f"trial {config} failed: {record.error}")
        return float(record.metrics[score]), time.perf_counter() - start

    rows: list[dict[str, Any]] = []
    check: dict[str, Any] | None = None
    for ref in refs:
        best = ref.tuned
        rates = [p.learning_rate for p in ref.sweep if p.learning_rate is not None]
        top, bottom = ref.edge == "largest", ref.edge == "smallest"
        row: dict[str, Any] = {
            "reference": ref.name, "method": best.config["method"],
            "default_learning_rate": float(get_method(best.config["method"]).default_learning_rate),
            "sweep": [{"learning_rate": p.learning_rate, score: p.trial.values.get(score), "trial": p.trial.number}
                      for p in ref.sweep],
            "best_at": "top" if top else "bottom" if bottom else "inside", "added": [],
        }
        if top or bottom:
            if check is None:  # the committed edge point again: does its record come back?
                value, seconds = train(dict(best.config), best.seed)
                check = {"reference": ref.name, "trial": best.number, "recorded": best.values[score], "again": value,
                         "seconds": round(seconds, 1)}
                print(f"check: trial {best.number} recorded {best.values[score]:.4f}, again {value:.4f}", flush=True)
            for factor in factors:
                lr = float(f"{row['default_learning_rate'] * factor:.3g}")
                if (lr <= max(rates)) if top else (lr >= min(rates)):  # only further out, past the edge
                    continue
                value, seconds = train({**best.config, "learning_rate": lr}, best.seed)
                row["added"].append({"factor": factor, "learning_rate": lr, score: value, "seconds": round(seconds, 1)})
                print(f"{ref.name}: lr {lr:g} -> {score} {value:.4f} ({seconds:.0f} s)", flush=True)
        rows.append(row)

    result = {
        "command": "python benchmarks/reference_sweep.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "run": str(args.run.resolve().relative_to(ROOT) if args.run.resolve().is_relative_to(ROOT) else args.run),
        "score": score, "fidelity": {"steps": fidelity.steps, "train_fraction": fidelity.train_fraction},
        "factors": factors, "check": check, "references": rows,
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(f"wrote {args.out.with_suffix('.json')} and .md")
    return 0


def markdown(result: dict[str, Any]) -> str:
    score = result["score"]
    lines = [f"# Reference sweeps of `{result['run']}`, widened where the best sat at an edge",
             "", f"`{result['command']}`", "",
             f"Validation {score} at the run's fidelity ({result['fidelity']['steps']} steps) and seed; the sweep's "
             "points are the run's own trials, the added ones were trained by this script.", "",
             f"| reference | best of the run's sweep | run's sweep ({score} by learning rate) "
             f"| added ({score} by learning rate) |", "|---|---|---|---|"]
    for row in result["references"]:
        sweep = ", ".join(f"{p['learning_rate']:g}: {p[score]:.3f}" for p in row["sweep"])
        added = ", ".join(f"{p['learning_rate']:g}: {p[score]:.3f}" for p in row["added"]) or "-"
        lines.append(f"| {row['reference']} | {row['best_at']} | {sweep} | {added} |")
    check = result["check"]
    if check:
        same = "the same" if abs(check["again"] - check["recorded"]) < 1e-9 else "not the same"
        lines += ["", f"Trained again, trial {check['trial']} ({check['reference']}) scored {check['again']:.4f} "
                      f"where the run recorded {check['recorded']:.4f}: {same}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
