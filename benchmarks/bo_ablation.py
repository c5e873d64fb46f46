"""Benchmark: what each change to ``bo`` did, measured by replay on a PEFT-Bench table (nothing is trained).

    python benchmarks/bo_ablation.py                       # the MiniLM table, 20 seeds, 2 processes
    python benchmarks/bo_ablation.py --seeds 5 --processes 1 --out runs/ablation
    python benchmarks/bo_ablation.py --synthetic 0.0       # the control: the synthetic table without seed noise

Every variant is ``bo`` with some options set (the rest at their defaults), run for ``--budget`` trials (50: the
goal's budget) on the same seeds; ``random`` runs for 3x that (the goal's rival). Per variant: the
hypervolume ratio at 25 and 50 trials (mean ± standard error, median at 50), and the seeds on which it is ahead
of / tied with / behind ``random`` at 3x the budget on the same seed. Writes ``bo_ablation.json`` (every
curve) and ``bo_ablation.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.bench.recorded import recorded_command, shown_path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RANDOM_FACTOR = 3
#: ``reference: STATED`` is bo's hypervolume reference set to the one the score uses (accuracy 0, the full
#: model's parameter count: :func:`autopeft.pareto.reference_point`) instead of its own (worst seen + 10 %).
STATED = "stated"
#: Changes measured with either surrogate: the state before the changes, then each change alone and together.
_BOTH: tuple[tuple[str, Mapping[str, Any]], ...] = (
    (" before", {"incumbent": "observed", "known_inputs": False}),
    (" +predicted incumbent", {"incumbent": "predicted", "known_inputs": False}),
    (" +known inputs", {"incumbent": "observed", "known_inputs": True}),
    (" +both", {"incumbent": "predicted", "known_inputs": True}),
    (" +stated reference", {"incumbent": "observed", "known_inputs": False, "reference": STATED}),
    (" +all three", {"incumbent": "predicted", "known_inputs": True, "reference": STATED}),
    (" +initial design 16", {"n_initial": 16}),
    (" +mc 1024", {"mc_samples": 1024}),
    (" +random 0.1", {"random_fraction": 0.1}),
    (" +random 0.15", {"random_fraction": 0.15}),
    (" +random 0.2", {"random_fraction": 0.2}),
    (" +random 0.3", {"random_fraction": 0.3}),
)
#: Changes to the GP itself (the bo options ``kernel`` and ``std``, passed to ``GPSurrogate``).
_GP_ONLY: tuple[tuple[str, Mapping[str, Any]], ...] = (
    (" +matern 3/2", {"kernel": "matern32"}),
    (" +rbf", {"kernel": "rbf"}),
    (" +latent std", {"std": "latent"}),
    (" +latent std +predicted incumbent", {"std": "latent", "incumbent": "predicted"}),
)
#: (name, options) of every variant ``--variants`` can name.
VARIANTS: tuple[tuple[str, Mapping[str, Any]], ...] = tuple(
    (f"bo:{surrogate}{label}", {"surrogate": surrogate, **options})
    for surrogate in ("gp", "forest")
    for label, options in (_BOTH + _GP_ONLY if surrogate == "gp" else _BOTH)
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default=str(HERE / "peftbench" / "minilm-tweets.csv"), help="a PEFT-Bench CSV")
    p.add_argument("--synthetic", type=float, metavar="SD",
                   help="instead of --table: the synthetic table of tests/bench/synthetic.py (a closed-form accuracy "
                        "over spaces/peftbench-minilm.yaml with MiniLM's counts) with seed-to-seed noise SD, "
                        "written to a temporary folder")
    p.add_argument("--seeds", type=int, default=20, help="replay seeds per variant (default 20)")
    p.add_argument("--seed-start", type=int, default=0, help="the first replay seed (default 0)")
    p.add_argument("--reference", choices=("stated", "sharp"), default="stated",
                   help="the score's reference point: stated (accuracy 0, the full model; default) or sharp "
                        "(majority-class accuracy, 1.1 x the largest adapter), as autopeft.bench.reference")
    p.add_argument("--budget", type=int, default=50, help="trials per bo variant (default 50)")
    p.add_argument("--processes", type=int, default=2, help="replays run at once (default 2)")
    p.add_argument("--variants", help="comma-separated variant names (default: all; see VARIANTS)")
    p.add_argument("--out", default=str(HERE / "results"), help="folder for bo_ablation.{json,md}")
    args = p.parse_args(argv)
    if args.seed_start < 0:
        p.error(f"--seed-start must be >= 0, got {args.seed_start}")
    for name in ("seeds", "budget", "processes"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.synthetic is not None and not 0 <= args.synthetic < 1:
        p.error(f"--synthetic must be a noise sd in [0, 1), got {args.synthetic}")
    return args


def shown(path: str) -> str:
    """A path as the results record it: relative to the repository when inside it, else only its name."""
    return shown_path(path, ROOT)


def synthetic_table(noise: float, folder: Path) -> Path:
    """The synthetic table with seed noise ``noise`` (``tests/bench/synthetic.py``), written into ``folder``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.bench import synthetic

    return Path(synthetic.write(folder, noise=noise))


def _one(job: tuple[str, str, Mapping[str, Any], int, int, str]) -> list[float]:
    from autopeft.bench.replay import ControllerSpec, replay
    from autopeft.bench.table import load_table, objectives_from

    table_path, controller, options, budget, seed, reference = job
    table = load_table(table_path)
    resolved = dict(options)
    if resolved.get("reference") == STATED:
        resolved["reference"] = {"accuracy": 0.0, "trainable_params": table.total_params}
    spec = ControllerSpec(controller, controller, resolved)
    run = replay(table, spec, budget=budget, seed=seed, objectives=objectives_from(["accuracy", "trainable_params"]),
                 reference=reference)
    return [float(v) for v in run.ratio]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = dict(VARIANTS)
    if args.variants:
        names = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = [n for n in names if n not in chosen]
        if unknown:
            print(f"bo_ablation.py: error: unknown variant {unknown[0]!r}; allowed: {', '.join(chosen)}",
                  file=sys.stderr)
            return 2
        chosen = {n: chosen[n] for n in names}
    with tempfile.TemporaryDirectory() as scratch:
        if args.synthetic is not None:
            table = str(synthetic_table(args.synthetic, Path(scratch)))
            label = f"the synthetic table of tests/bench/synthetic.py, seed noise sd {args.synthetic:g}"
        else:
            table, label = args.table, f"`{shown(args.table)}`"
        problem = reference_problem(table, args.reference)
        if problem:
            print(f"bo_ablation.py: error: {problem}", file=sys.stderr)
            return 2
        curves, seconds = run_plan(table, chosen, args)
    command = recorded_command("benchmarks/bo_ablation.py", argv if argv is not None else sys.argv[1:],
                               ("--table", "--out"), ROOT)
    rows = summarise(curves, chosen, args.budget)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = {"table": label, "seeds": seeds_of(args), "reference": args.reference, "budget": args.budget,
            "random_budget": RANDOM_FACTOR * args.budget,
            "command": command, "seconds": {k: round(v, 1) for k, v in seconds.items()}, "rows": rows,
            "curves": {k: v.tolist() for k, v in curves.items()}}
    (out / "bo_ablation.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (out / "bo_ablation.md").write_text(markdown(rows, data), encoding="utf-8")
    print(markdown(rows, data))
    return 0


def reference_problem(table_path: str, kind: str) -> str | None:
    """Why ``table_path`` has no reference point of ``kind`` (one line), or None: checked before any replay."""
    from autopeft.bench.reference import reference_for
    from autopeft.bench.table import load_table, objectives_from
    from autopeft.errors import AutopeftError

    try:
        reference_for(load_table(table_path), objectives_from(["accuracy", "trainable_params"]), kind)
    except AutopeftError as exc:
        return str(exc)
    return None


def seeds_of(args: argparse.Namespace) -> list[int]:
    """The replay seeds: ``--seeds`` of them from ``--seed-start``."""
    return list(range(args.seed_start, args.seed_start + args.seeds))


def run_plan(table: str, chosen: Mapping[str, Mapping[str, Any]],
             args: argparse.Namespace) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Random at 3x the budget, then every chosen variant, on the same seeds: the curves and the wall seconds."""
    seeds = seeds_of(args)
    plan: list[tuple[str, str, Mapping[str, Any], int]] = [("random", "random", {}, RANDOM_FACTOR * args.budget)]
    plan += [(name, "bo", options, args.budget) for name, options in chosen.items()]
    curves: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    pool = ProcessPoolExecutor(args.processes) if args.processes > 1 else None  # 1: in this process
    try:
        for name, controller, options, budget in plan:
            start = time.perf_counter()
            jobs = [(table, controller, options, budget, s, args.reference) for s in seeds]
            curves[name] = np.array(list(pool.map(_one, jobs) if pool else map(_one, jobs)))
            seconds[name] = time.perf_counter() - start
            print(f"{name}: mean at {budget} {curves[name][:, -1].mean():.4f} ({seconds[name]:.0f} s)",
                  file=sys.stderr, flush=True)
    finally:
        if pool is not None:
            pool.shutdown()
    return curves, seconds


def summarise(curves: Mapping[str, np.ndarray], variants: Mapping[str, Mapping[str, Any]],
              budget: int) -> list[dict[str, Any]]:
    """One row per variant: ratio at 25 / ``budget`` and the paired comparison with random at 3x."""
    rival = curves["random"][:, RANDOM_FACTOR * budget - 1]
    rows = [{"variant": "random", "options": {}, "at": RANDOM_FACTOR * budget,
             "mean": float(rival.mean()), "se": float(rival.std(ddof=1) / np.sqrt(len(rival))) if len(rival) > 1
             else 0.0, "median": float(np.median(rival))}]
    for name, options in variants.items():
        ratio = curves[name]
        final = ratio[:, budget - 1]
        diff = final - rival
        rows.append({"variant": name, "options": dict(options), "at": budget,
                     "mean": float(final.mean()),
                     "se": float(final.std(ddof=1) / np.sqrt(len(final))) if len(final) > 1 else 0.0,
                     "median": float(np.median(final)),
                     "mean_at_25": float(ratio[:, min(25, budget) - 1].mean()),
                     "ahead": int((diff > 1e-12).sum()), "tied": int((abs(diff) <= 1e-12).sum()),
                     "behind": int((diff < -1e-12).sum())})
    return rows


def markdown(rows: Sequence[Mapping[str, Any]], data: Mapping[str, Any]) -> str:
    budget, rival = data["budget"], data["random_budget"]
    lines = ["# bo ablation on PEFT-Bench (replay; generated by benchmarks/bo_ablation.py)", "",
             f"`{data['command']}` on {data['table']}, seeds {data['seeds'][0]}-{data['seeds'][-1]}. Ratio: "
             "hypervolume of the seed means of everything tried / the exhaustive front's (as `autopeft bench`), "
             f"from the {data.get('reference', 'stated')} reference point.", "",
             f"| variant | ratio @25 (mean) | ratio @{budget} mean ± SE | median @{budget} | vs random @{rival} on "
             "the same seed: ahead / tied / behind | replay time |", "|---|---|---|---|---|---|"]
    for r in rows:
        secs = f"{data['seconds'][r['variant']]:.0f} s"
        if r["variant"] == "random":
            lines.append(f"| random @{rival} | - | {r['mean']:.4f} ± {r['se']:.4f} (@{rival}) | {r['median']:.4f} "
                         f"(@{rival}) | - | {secs} |")
            continue
        lines.append(f"| {r['variant']} | {r['mean_at_25']:.4f} | {r['mean']:.4f} ± {r['se']:.4f} | "
                     f"{r['median']:.4f} | {r['ahead']} / {r['tied']} / {r['behind']} | {secs} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
