"""Benchmark: partial scores on a subset — trial wall time with the learning curve's early points scored on the
whole validation split ("before") and on a fixed seeded subset of it ("after", ``training.partial_examples``),
the same trials in one run; goal: trials >= 1.25x faster with the same final metrics.

The default recipe (MiniLM-L6 on tweets-sentiment, 60 steps, validation at 25 / 50 / 100 % of the steps, 500
validation examples) and 6 configurations drawn once from its space (``benchmarks/parallel.py``'s draw), one
worker in this process (the model loaded once per setting, not timed). Each trial is timed from submission to
result; the settings alternate trial by trial (before, after, after, before, ...) so drift on a shared machine
hits both. The final metrics of each configuration must be identical in both settings: only the early points'
scoring changes, and it runs in eval mode without drawing random numbers.

    python benchmarks/partial_scores.py                         # 6 trials, subset of 100
    python benchmarks/partial_scores.py --trials 2 --steps 5    # a smoke run

Writes benchmarks/results/partial_scores.json and .md (``--out`` for another stem).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/parallel.py: the shared pieces
from parallel import ROOT, add_common_args, configurations, machine


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, trials=6, out="partial_scores")
    p.add_argument("--subset", type=int, default=100, help="partial_examples of the 'after' setting (default 100)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    args = parse_args(argv)
    from autopeft.study.context import make_context
    from autopeft.study.engines import Job
    from autopeft.study.engines.inprocess import InProcessEngine
    from autopeft.study.recipe import load_recipe
    from autopeft.trial import Fidelity

    recipe = load_recipe(args.recipe)
    ctx = make_context(recipe)
    fidelity = Fidelity(steps=args.steps or recipe.fidelity.steps, train_fraction=recipe.fidelity.train_fraction)
    configs = configurations(ctx.space, args.trials, args.seed)
    settings = {"before": 0, "after": args.subset}
    engines = {}
    for name, k in settings.items():
        spec = dataclasses.replace(ctx.worker_spec, recipe=dataclasses.replace(
            recipe, training=dataclasses.replace(recipe.training, partial_examples=k)))
        engines[name] = InProcessEngine(spec, data=ctx.data, space=ctx.space)
        engines[name].worker.encoded("validation")  # the model loaded and the split tokenised before any timing
    trials: list[dict[str, Any]] = []
    for i, config in enumerate(configs):
        order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
        for name in order:
            engine = engines[name]
            t0 = time.perf_counter()
            engine.submit(Job(i + 1, config, fidelity, 0))
            result = engine.wait().result
            wall = time.perf_counter() - t0
            if not result.ok:
                raise SystemExit(f"partial_scores.py: trial {i + 1} failed ({name}): {result.error}")
            trials.append({"trial": i + 1, "setting": name, "wall_seconds": round(wall, 3),
                           "train_seconds": result.train_seconds, "eval_seconds": result.eval_seconds,
                           "metrics": dict(result.metrics), "eval_curve": [list(p) for p in result.eval_curve]})
            print(f"trial {i + 1} {name}: {wall:.1f} s (eval {result.eval_seconds:.1f} s)", file=sys.stderr,
                  flush=True)
    for engine in engines.values():
        engine.close()

    def total(name: str, key: str) -> float:
        return sum(t[key] for t in trials if t["setting"] == name)

    same = all(a["metrics"] == b["metrics"] for a, b in zip(
        (t for t in trials if t["setting"] == "before"), (t for t in trials if t["setting"] == "after"), strict=True))
    per_trial = [b["wall_seconds"] / a["wall_seconds"] for b, a in zip(
        sorted((t for t in trials if t["setting"] == "before"), key=lambda t: t["trial"]),
        sorted((t for t in trials if t["setting"] == "after"), key=lambda t: t["trial"]), strict=True)]
    command = "python " + " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])])
    result = {"command": command, "recipe": os.path.relpath(Path(args.recipe).resolve(), ROOT),
              "steps": fidelity.steps, "curve_fractions": list(recipe.training.curve_fractions),
              "validation_examples": len(ctx.data.split("validation")), "subset": args.subset,
              "trials": trials, "configurations": configs,
              "wall_seconds": {n: round(total(n, "wall_seconds"), 2) for n in settings},
              "eval_seconds": {n: round(total(n, "eval_seconds"), 2) for n in settings},
              "train_seconds": {n: round(total(n, "train_seconds"), 2) for n in settings},
              "speedup": round(total("before", "wall_seconds") / total("after", "wall_seconds"), 3),
              "speedup_per_trial": [round(x, 3) for x in per_trial],
              "median_speedup_per_trial": round(statistics.median(per_trial), 3),
              "same_final_metrics": same, "goal": 1.25, "machine": machine()}
    from autopeft.bench.recorded import write_results

    write_results(Path(args.out).with_suffix(""), result, markdown(result))
    print(markdown(result))
    return 0


def markdown(r: dict[str, Any]) -> str:
    verdict = "meets" if r["speedup"] >= r["goal"] else "misses"
    return "\n".join([
        "# Partial scores on a validation subset", "",
        f"`{r['command']}`: recipe `{r['recipe']}`, {len(r['configurations'])} configurations x {r['steps']} steps, "
        f"validation at {', '.join(f'{f:g}' for f in r['curve_fractions'])} of the steps, "
        f"{r['validation_examples']} validation examples, one worker on {r['machine']['usable_cpus']} CPU cores.", "",
        "| setting | early points scored on | wall s (sum) | train s | eval s |", "|---|---|---|---|---|",
        f"| before | all {r['validation_examples']} examples | {r['wall_seconds']['before']} | "
        f"{r['train_seconds']['before']} | {r['eval_seconds']['before']} |",
        f"| after | {r['subset']} examples (fixed seeded subset) | {r['wall_seconds']['after']} | "
        f"{r['train_seconds']['after']} | {r['eval_seconds']['after']} |", "",
        f"**Trials {r['speedup']}x faster** (median per trial {r['median_speedup_per_trial']}x); the goal is >= "
        f"{r['goal']}x, which this run {verdict}. Final metrics identical in both settings: "
        f"{'yes' if r['same_final_metrics'] else 'NO'}.", ""])


if __name__ == "__main__":
    sys.exit(main())
