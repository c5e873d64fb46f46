"""Benchmark: the same trials with 1 worker and with 2, in one run — trials per hour and their ratio.

The default recipe (MiniLM-L6 on tweets-sentiment, 60 steps per trial) and a fixed list of configurations
drawn once from its space, so both settings do exactly the same work. Each setting runs them through the study
loop and its engine (``--workers 1``: in this process with torch's default threads; ``--workers N``: a pool of N
worker processes, the cores divided among them), timed from the engine's creation (worker start-up included)
to the last trial's end. With ``--repeats R`` the settings alternate (1, 2, 2, 1, ...) so that drift on a
shared machine hits both.

    python benchmarks/parallel.py                        # 16 trials, workers 1 and 2, one repeat
    python benchmarks/parallel.py --trials 4 --steps 5   # a smoke run

Writes benchmarks/results/parallel.json and benchmarks/results/parallel.md (``--out`` for another stem).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def add_common_args(p: argparse.ArgumentParser, *, trials: int, out: str) -> None:
    """The options every benchmark of fixed trials on a recipe shares (this one, nni_overhead, partial_scores)."""
    p.add_argument("--recipe", default=str(ROOT / "search" / "default.yaml"), help="the recipe (default: the default)")
    p.add_argument("--trials", type=int, default=trials,
                   help=f"configurations, the same for every setting (default {trials})")
    p.add_argument("--steps", type=int, help="training steps per trial (default: the recipe's)")
    p.add_argument("--seed", type=int, default=2026, help="the draw of the configurations (default 2026)")
    p.add_argument("--out", default=str(RESULTS / out), help="output stem (.json and .md)")


class FixedList:
    """A scheduler that plans ``configs`` in order at ``fidelity`` (seed 0), then nothing more."""

    def __init__(self, configs: list[dict[str, Any]], fidelity: Any) -> None:
        self.todo, self.fidelity = deque(configs), fidelity

    def next(self, state: Any) -> Any:
        from autopeft.study.loop import Planned

        return Planned(self.todo.popleft(), self.fidelity, 0, "benchmark") if self.todo else None

    def finished(self, trial: Any, state: Any) -> None:
        return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(p, trials=16, out="parallel")
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    p.add_argument("--repeats", type=int, default=1, help="passes over the settings, alternating order (default 1)")
    p.add_argument("--scaling", type=int, default=2,
                   help="also time this many of the trials with 1 thread and with all cores' threads, each in a "
                        "fresh process: the ceiling of what N single-thread workers can gain (0: skip; default 2)")
    p.add_argument("--scaling-child", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def scaling_child(args: argparse.Namespace) -> int:
    """In a fresh process with ``--scaling-child`` threads: the first ``--scaling`` trials, one by one."""
    import torch

    from autopeft.study.context import make_context
    from autopeft.study.engines import Job
    from autopeft.study.recipe import load_recipe
    from autopeft.trial import Fidelity

    torch.set_num_threads(args.scaling_child)
    recipe = load_recipe(args.recipe)
    ctx = make_context(recipe)
    fidelity = Fidelity(steps=args.steps or recipe.fidelity.steps, train_fraction=recipe.fidelity.train_fraction)
    engine = ctx.engine(workers=1)
    out = []
    for i, config in enumerate(configurations(ctx.space, args.trials, args.seed)[: args.scaling]):
        engine.submit(Job(i + 1, config, fidelity, 0))
        r = engine.wait().result
        out.append({"train_seconds": r.train_seconds, "eval_seconds": r.eval_seconds})
    engine.close()
    print("SCALING " + json.dumps({"threads": torch.get_num_threads(), "trials": out}))
    return 0


def thread_scaling(args: argparse.Namespace) -> dict[str, Any] | None:
    """Train and eval seconds of the same trials with 1 thread and with every core's, and the ceiling they imply
    for ``cores`` single-thread workers against one worker using every core."""
    import subprocess

    if not args.scaling:
        return None
    cores = len(os.sched_getaffinity(0))
    runs = {}
    for threads in sorted({1, cores}):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        proc = subprocess.run([sys.executable, __file__, "--recipe", args.recipe, "--trials", str(args.trials),
                               "--seed", str(args.seed), "--scaling", str(args.scaling),
                               "--scaling-child", str(threads), *(["--steps", str(args.steps)] if args.steps else [])],
                              capture_output=True, text=True, env=env, check=True)
        line = next(x for x in proc.stdout.splitlines() if x.startswith("SCALING "))
        runs[threads] = json.loads(line.split(" ", 1)[1])["trials"]

    def total(threads: int, part: str) -> float:
        return sum(t[part] for t in runs[threads])

    one = total(1, "train_seconds") + total(1, "eval_seconds")
    many = total(cores, "train_seconds") + total(cores, "eval_seconds")
    return {"cores": cores, "trials": args.scaling, "runs": {str(k): v for k, v in runs.items()},
            "train_speedup_of_threads": round(total(1, "train_seconds") / total(cores, "train_seconds"), 3),
            "eval_speedup_of_threads": round(total(1, "eval_seconds") / total(cores, "eval_seconds"), 3),
            "ceiling_ratio": round(cores * many / one, 3)}


def configurations(space: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` distinct members of ``space``, drawn with ``seed``."""
    import numpy as np

    from autopeft.trial import config_key

    rng, out, keys = np.random.default_rng(seed), [], set()
    while len(out) < n:
        config = space.sample(rng)
        if config_key(config) not in keys:
            keys.add(config_key(config))
            out.append(config)
    return out


def run_setting(ctx: Any, configs: list[dict[str, Any]], fidelity: Any, workers: int) -> dict[str, Any]:
    """The configurations through the study loop with ``workers``; wall time from the engine's creation."""
    from autopeft.study.journal import Journal
    from autopeft.study.loop import run_loop, search_job

    journal = Journal.in_memory()
    t0 = time.perf_counter()
    engine = ctx.engine(workers=workers, log=sys.stderr)
    first: list[float] = []
    try:
        run_loop(journal, engine, FixedList(configs, fidelity), make_job=search_job,
                 on_finish=lambda t, d, s: first.append(time.perf_counter() - t0))
    finally:
        engine.close()
    wall = time.perf_counter() - t0
    trials = journal.trials()
    journal.close()
    failed = [t.error for t in trials if t.state != "complete"]
    if failed:
        raise SystemExit(f"parallel.py: {len(failed)} trial(s) failed with {workers} worker(s): {failed[0]}")
    return {"workers": workers, "engine": engine.name, "wall_seconds": round(wall, 2),
            "trials_per_hour": round(len(trials) / wall * 3600, 1),
            "first_result_seconds": round(first[0], 2) if first else None,
            "trial_seconds_sum": round(sum(t.finished - t.started for t in trials if t.finished and t.started), 2),
            "accuracy": {str(i): t.values["accuracy"] for i, t in enumerate(trials)}}


def machine() -> dict[str, Any]:
    import torch

    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)), "torch": torch.__version__,
            "torch_threads_default": torch.get_num_threads(), "cuda": torch.cuda.is_available()}


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    args = parse_args(argv)
    if args.scaling_child:
        return scaling_child(args)
    from autopeft.study.context import make_context
    from autopeft.study.recipe import load_recipe
    from autopeft.trial import Fidelity

    recipe = load_recipe(args.recipe)
    ctx = make_context(recipe)
    fidelity = Fidelity(steps=args.steps or recipe.fidelity.steps, train_fraction=recipe.fidelity.train_fraction)
    configs = configurations(ctx.space, args.trials, args.seed)
    settings = [int(w) for w in args.workers.split(",")]
    runs: list[dict[str, Any]] = []
    for r in range(args.repeats):
        for workers in settings if r % 2 == 0 else list(reversed(settings)):
            print(f"repeat {r + 1}: {len(configs)} trials with {workers} worker(s) ...", file=sys.stderr, flush=True)
            runs.append({"repeat": r + 1, **run_setting(ctx, configs, fidelity, workers)})
            print(f"  {runs[-1]['wall_seconds']} s, {runs[-1]['trials_per_hour']} trials/h", file=sys.stderr)
    summary = []
    base = statistics.median(x["trials_per_hour"] for x in runs if x["workers"] == settings[0])
    for workers in settings:
        mine = [x for x in runs if x["workers"] == workers]
        tph = statistics.median(x["trials_per_hour"] for x in mine)
        accs = [[x["accuracy"][str(i)] for i in range(len(configs))] for x in mine]
        summary.append({"workers": workers, "trials_per_hour": tph, "ratio": round(tph / base, 3),
                        "wall_seconds": statistics.median(x["wall_seconds"] for x in mine),
                        "mean_accuracy": round(statistics.fmean(accs[0]), 4)})
    print("thread scaling: the same trials with 1 thread and with every core's ...", file=sys.stderr, flush=True)
    scaling = thread_scaling(args)
    first_accs = [runs[0]["accuracy"][str(i)] for i in range(len(configs))]
    diffs = [abs(x["accuracy"][str(i)] - first_accs[i]) for x in runs for i in range(len(configs))]
    command = "python " + " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])])
    result = {"command": command, "recipe": os.path.relpath(Path(args.recipe).resolve(), ROOT),
              "steps": fidelity.steps, "trials": len(configs), "configurations": configs, "runs": runs,
              "summary": summary, "max_abs_accuracy_difference": round(max(diffs), 4), "thread_scaling": scaling,
              "machine": machine(),
              "written": time.strftime("%Y-%m-%d %H:%M:%S")}
    from autopeft.bench.recorded import write_results

    write_results(Path(args.out).with_suffix(""), result, markdown(result))
    print(markdown(result))
    return 0


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [f"# Trials in parallel: {result['trials']} fixed configurations of `{result['recipe']}`, "
             f"{result['steps']} steps each", "",
             f"{m['usable_cpus']} usable CPU cores, torch {m['torch']}, CUDA: {m['cuda']}; "
             f"written {result['written']}.", "",
             "| workers | trials per hour | ratio to the first | wall s (median) | mean val accuracy |",
             "|---|---|---|---|---|"]
    for s in result["summary"]:
        lines.append(f"| {s['workers']} | {s['trials_per_hour']:.1f} | {s['ratio']:.3f} | {s['wall_seconds']:.1f} | "
                     f"{s['mean_accuracy']:.4f} |")
    lines += ["", f"Wall time runs from the engine's creation (worker start-up included) to the last trial's end. "
                  f"Largest difference in any trial's validation accuracy between runs: "
                  f"{result['max_abs_accuracy_difference']} (thread counts change the order of float sums).",
              ""]
    sc = result.get("thread_scaling")
    if sc:
        lines += [f"Thread scaling, the first {sc['trials']} of these trials in one process each: {sc['cores']} torch "
                  f"threads train {sc['train_speedup_of_threads']}x and score {sc['eval_speedup_of_threads']}x as fast "
                  f"as 1 thread. So {sc['cores']} single-thread workers can at best do {sc['ceiling_ratio']}x the "
                  f"trials per hour of one worker that uses every core (before start-up and the last trials' tail).",
                  ""]
    lines += [f"`{result['command']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
