"""Build a PEFT-Bench table: every member of a finite space trained at a low fidelity over training seeds,
and a subset (the low-fidelity front plus a stratified sample) at a higher fidelity with the same seeds.

    python benchmarks/peftbench/build.py                      # the MiniLM table (about 90 min on 2 CPU cores)
    python benchmarks/peftbench/build.py --dry-run            # the plan and the compute estimate, no training
    python benchmarks/peftbench/build.py --limit 3 --low-steps 2 --high-steps 4 --high-count 1 \\
        --out runs/peftbench-try --table runs/peftbench-try.csv # a smoke test in seconds
    python benchmarks/peftbench/build.py --write-only         # rewrite the CSV from the journal as it stands
    python benchmarks/peftbench/build.py --seeds 4 --import benchmarks/peftbench/minilm-tweets.csv ...
                                                              # train only what the earlier table lacks

Every evaluation is a trial in the journal of ``--out`` (``runs/peftbench-minilm-tweets``), recorded as a
search records its trials, so the build is resumable: kill it at any moment (``kill -9`` included) and run
the same command again; finished evaluations are kept and the interrupted one runs again. The high-fidelity
subset is chosen once, when every low-fidelity evaluation is done, and stored in the journal.

``--import TABLE`` puts an earlier table's rows into the journal as finished trials (low-fidelity rows at once,
high-fidelity rows of the chosen subset once it is chosen), so only what it lacks is trained. The earlier
table must have been built over the same space text and layout with the same model, task, data and training
settings; anything else is refused, naming what differs. Imported trials count their measured train + eval
seconds as compute (their setup time was not recorded), and the sidecar lists what was imported. Training is
deterministic on this stack, so an imported row is the row a rebuild would write (checked: seed 0 of four v1
members retrained to the same accuracy, NLL within 1e-6).

Writes ``--table`` (CSV, one row per configuration x fidelity x seed, see :mod:`autopeft.bench.table`), its
sidecar JSON (the space text, the layout, how it was made) and a Markdown summary beside them (counts,
compute, machine, the low-fidelity front, Spearman's rho between the fidelities).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from table_files import ORIGIN_HIGH, ORIGIN_LOW, records, write  # noqa: E402 - after the path it is found on

SETTINGS_KEY, SUBSET_KEY = "peftbench", "peftbench_high_subset"
#: Measured on this stack (2 CPU cores, MiniLM-L6, batch 16, max_length 64): seconds per training step, seconds
#: to score 500 validation examples, seconds to copy the model and build the adapter (for --dry-run estimates).
STEP_SECONDS = {"lora": 0.21, "ia3": 0.23, "ln_tuning": 0.16, "head_only": 0.12}
EVAL_SECONDS_PER_500, SETUP_SECONDS = 2.9, 1.5


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default=str(HERE / "minilm-tweets.yaml"),
                   help="model, task, space, data and training settings (default: benchmarks/peftbench/"
                        "minilm-tweets.yaml); its fidelity is the low fidelity unless --low-steps is given")
    p.add_argument("--out", default="runs/peftbench-minilm-tweets", help="the journal folder (resumable)")
    p.add_argument("--table", default=str(HERE / "minilm-tweets.csv"), help="the CSV to write (sidecar beside it)")
    p.add_argument("--low-steps", type=int, help="training steps of the low fidelity (default: the recipe's)")
    p.add_argument("--high-steps", type=int, default=60, help="training steps of the high fidelity (default 60; "
                                                               "0 = no high fidelity)")
    p.add_argument("--seeds", type=int, default=2, help="training seeds 0..N-1 per configuration (default 2)")
    p.add_argument("--high-count", type=int, default=48,
                   help="configurations trained at the high fidelity: the low-fidelity front, then a stratified "
                        "sample (default 48)")
    p.add_argument("--limit", type=int, help="only N members, evenly spread over the space (tiny/smoke mode)")
    p.add_argument("--workers", type=int, default=1,
                   help="trials at once: 1 (default) in this process, N > 1 in a pool of worker processes")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the estimated compute; train nothing")
    p.add_argument("--write-only", action="store_true", help="write the table from the journal as it is; train nothing")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="TABLE",
                   help="take the rows of an earlier table built with the same model, task, data, training settings "
                        "and space (a v1 table, or this table's own partial CSV from another machine) instead of "
                        "training them again; repeatable")
    args = p.parse_args(argv)
    for name in ("seeds", "high_count", "limit", "low_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.high_steps < 0:
        p.error(f"--high-steps must be >= 0, got {args.high_steps}")
    return args


# ---- the plan ----------------------------------------------------------------------------------------------------
def spread(members: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """``limit`` members at evenly spaced positions of the space's order (every method gets a look-in)."""
    if limit is None or limit >= len(members):
        return members
    picks = sorted({round(i * (len(members) - 1) / max(limit - 1, 1)) for i in range(limit)})
    return [members[i] for i in picks]


def choose_subset(low: Sequence[tuple[dict[str, Any], float, float]], count: int, seed: int) -> list[dict[str, Any]]:
    """The high-fidelity subset from (config, seed-mean accuracy, trainable params) at the low fidelity.

    First the low-fidelity front (accuracy up, log-parameters down), then round-robin over strata (method x
    parameter quintile), a seeded random member from each in turn, until ``count``. Deterministic.
    """
    from autopeft.pareto import pareto_mask
    from autopeft.trial import config_key

    if not low:
        return []
    points = np.array([[-acc, math.log10(params)] for _, acc, params in low])
    chosen = [low[int(i)][0] for i in np.flatnonzero(pareto_mask(points))][:count]
    taken = {config_key(c) for c in chosen}
    edges = np.quantile(points[:, 1], [0.2, 0.4, 0.6, 0.8])
    strata: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for (config, _, _), point in zip(low, points, strict=True):
        if config_key(config) not in taken:
            strata.setdefault((str(config["method"]), int(np.searchsorted(edges, point[1]))), []).append(config)
    rng = np.random.default_rng(seed)
    for members in strata.values():
        rng.shuffle(members)  # type: ignore[arg-type]
    order = sorted(strata)
    while len(chosen) < count and any(strata.values()):
        for key in order:
            if strata[key] and len(chosen) < count:
                chosen.append(strata[key].pop())
    return chosen


def estimate(members: Sequence[Mapping[str, Any]], steps: int, seeds: int, n_validation: int) -> float:
    """Estimated seconds for ``members`` x ``seeds`` trials of ``steps`` steps on 2 CPU cores."""
    evaluation = EVAL_SECONDS_PER_500 * n_validation / 500
    return seeds * sum(STEP_SECONDS.get(str(c["method"]), 0.21) * steps + evaluation + SETUP_SECONDS
                       for c in members)


# ---- the journal -------------------------------------------------------------------------------------------------
def open_journal(out: Path, recipe: Any, settings: dict[str, Any]) -> Any:
    """The build's journal: created with the recipe, or reopened (and checked) to resume."""
    from autopeft.errors import ConfigError
    from autopeft.study.journal import DB_NAME, Journal

    if (out / DB_NAME).exists():
        journal = Journal.open(out)
        stored = journal.meta(SETTINGS_KEY)
        if stored is None:
            journal.close()
            raise ConfigError(f"{out} holds a search, not a PEFT-Bench build; choose another --out")
        if stored != settings:
            journal.close()
            changed = sorted(k for k in settings if stored.get(k) != settings[k])
            raise ConfigError(f"{out} was built with other settings ({', '.join(changed)}: "
                              f"{ {k: stored.get(k) for k in changed} }); rerun with them or choose another --out")
        return journal
    base = str(Path(recipe.source).resolve().parent)
    journal = Journal.create(out, {"text": recipe.text, "source": recipe.source, "base": base, "overrides": {},
                                   **recipe.to_dict()})
    journal.set_meta(SETTINGS_KEY, settings)
    journal.set_meta("started", time.time())
    return journal


def run_phase(journal: Any, ctx: Any, engine: Any, members: Sequence[dict[str, Any]], steps: int, seeds: int,
              origin: str, label: str) -> None:
    """Train every member x seed at ``steps`` that the journal has not finished, through the study loop and
    ``engine`` (one trial each; trials of this phase that a crash interrupted run first)."""
    from collections import deque

    from autopeft.study.engines import Job
    from autopeft.study.loop import Planned, run_loop
    from autopeft.trial import Fidelity, config_key, describe

    fidelity = Fidelity(steps=steps, train_fraction=ctx.recipe.fidelity.train_fraction)
    done: dict[tuple[str, int], Any] = {}
    for trial in journal.trials():
        if trial.origin == origin:
            done[(config_key(trial.config), trial.seed)] = trial
    # seed-major: every member's seed 0, then every member's seed 1, ... so that a build stopped part-way
    # leaves whole seeds (a table with fewer seeds is still a table; a table with some members missing is not)
    plan = [(c, s) for s in range(seeds) for c in members]
    todo = [(c, s) for c, s in plan if (config_key(c), s) not in done or done[(config_key(c), s)].state == "waiting"]
    if not todo:
        return
    fresh = deque((c, s) for c, s in todo if (config_key(c), s) not in done)

    class Plan:
        def next(self, state: Any) -> Planned | None:
            if not fresh:
                return None
            config, seed = fresh.popleft()
            return Planned(config, fidelity, seed, origin)

        def finished(self, trial: Any, state: Any) -> None:
            return None

    times: list[float] = []
    count = [len(plan) - len(todo)]

    def report(trial: Any, finished: Any, state: Any) -> None:
        result = trial.result
        count[0] += 1
        times.append((trial.finished or 0.0) - (trial.started or 0.0))
        eta = float(np.median(times)) * (len(plan) - count[0]) / max(1, state.slots) / 60
        what = (f"acc {result.metrics.get('accuracy', float('nan')):.3f} params {result.trainable_params:,}"
                if result.ok else f"FAILED: {(result.error or '')[:60]}")
        print(f"[{label} {count[0]}/{len(plan)}] #{trial.number} {describe(trial.config)} seed {trial.seed} | "
              f"{what} | {times[-1]:.1f} s | ETA {eta:.1f} min", file=sys.stderr, flush=True)

    run_loop(journal, engine, Plan(), make_job=lambda t: Job(t.number, t.config, t.fidelity, t.seed),
             on_finish=report, resume=lambda t: t.origin == origin)


def low_means(journal: Any, members: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], float, float]]:
    """(config, seed-mean accuracy, trainable params) of the members with a complete low-fidelity trial."""
    from autopeft.trial import config_key

    scores: dict[str, list[float]] = {}
    params: dict[str, float] = {}
    for trial in journal.trials(states=("complete",)):
        if trial.origin == ORIGIN_LOW and trial.result is not None and "accuracy" in trial.result.metrics:
            key = config_key(trial.config)
            scores.setdefault(key, []).append(float(trial.result.metrics["accuracy"]))
            params[key] = float(trial.result.trainable_params or 0)
    return [(c, float(np.mean(scores[config_key(c)])), params[config_key(c)]) for c in members
            if config_key(c) in scores and params[config_key(c)] > 0]


# ---- importing an earlier table -----------------------------------------------------------------------------------
def data_fields(data: Any) -> dict[str, Any]:
    """A table's data settings with every field a later version added at its default (a table written before
    ``official_splits`` existed was built with it off)."""
    from dataclasses import fields

    from autopeft.study.recipe import DataConfig

    defaults = {f.name: getattr(DataConfig(), f.name) for f in fields(DataConfig)}
    return {**defaults, **dict(data or {})}


def check_importable(source: Any, ctx: Any, where: str) -> None:
    """Refuse a table whose rows a rebuild here would not reproduce, naming what differs."""
    from autopeft.errors import ConfigError

    info, recipe = source.meta.info, ctx.recipe
    differ = []
    if source.meta.space_text.strip() != ctx.space.spec.text.strip():
        differ.append("the space text")
    if dict(source.meta.layout) != dict(ctx.graph.layout):
        differ.append(f"the layout ({dict(source.meta.layout)} here {dict(ctx.graph.layout)})")
    for key, here in (("model", recipe.model), ("task", recipe.task_name)):
        if info.get(key) != here:
            differ.append(f"{key} ({info.get(key)!r}, here {here!r})")
    if data_fields(info.get("data")) != data_fields(vars(recipe.data)):
        differ.append(f"data ({info.get('data')!r}, here {vars(recipe.data)!r})")
    theirs, ours = dict(info.get("training") or {}), recipe.training.to_dict()
    differ += [f"training.{k} ({theirs[k]!r}, here {ours[k]!r})" for k in sorted(set(theirs) & set(ours))
               if theirs[k] != ours[k]]
    if differ:
        raise ConfigError(f"--import {where}: built with other settings: {'; '.join(differ)}; allowed: a table built "
                          f"with this recipe's model, task, data, training settings and space")


def import_rows(journal: Any, ctx: Any, path: Path, steps: int, seeds: int, origin: str,
                members: Sequence[dict[str, Any]]) -> int:
    """Add the rows of table ``path`` at ``steps`` with seeds below ``seeds`` for ``members`` that the journal
    does not hold yet, as finished trials of ``origin``; returns how many were added."""
    from autopeft.bench.table import TableError, load_table
    from autopeft.errors import ConfigError
    from autopeft.trial import Fidelity, config_key

    try:
        source = load_table(path)
    except TableError as exc:
        raise ConfigError(f"--import {path}: {exc}") from None
    check_importable(source, ctx, str(path))
    wanted = {config_key(c) for c in members}
    held = {(config_key(t.config), t.seed) for t in journal.trials() if t.origin == origin and t.state != "waiting"}
    fidelity = Fidelity(steps=steps, train_fraction=ctx.recipe.fidelity.train_fraction)
    added, now = 0, time.time()
    for entry in source.entries.values():
        if entry.fidelity != steps or entry.key not in wanted:
            continue
        for row in entry.rows:
            if row.seed >= seeds or (entry.key, row.seed) in held:
                continue
            result = row.to_result(entry.config, fidelity)
            seconds = result.train_seconds + result.eval_seconds
            journal.add_finished(entry.config, result, origin=origin, started=now - seconds, finished=now)
            held.add((entry.key, row.seed))
            added += 1
    if added:
        imported = list(journal.meta("imported", []))
        imported.append({"table": str(path), "fidelity_steps": steps, "rows": added})
        journal.set_meta("imported", imported)
    return added


# ---- main ----------------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import warnings

    from autopeft.errors import AutopeftError

    # library deprecation notices are for developers (as in autopeft.cli.main)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message="Unsupported layer type")
    from autopeft.study.recipe import load_recipe

    try:
        recipe = load_recipe(args.recipe)
        low_steps = args.low_steps or recipe.fidelity.steps
        if args.high_steps and args.high_steps <= low_steps:
            raise AutopeftError(f"--high-steps ({args.high_steps}) must be above the low fidelity ({low_steps}), "
                                f"or 0 for none")
        settings = {"low_steps": low_steps, "high_steps": args.high_steps, "seeds": args.seeds,
                    "high_count": args.high_count, "limit": args.limit}
        if args.dry_run:
            from autopeft.space import load_space

            print(plan_text(recipe, load_space(recipe.space), settings))
            return 0
        return build(recipe, args, settings)
    except AutopeftError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 2


def plan_text(recipe: Any, spec: Any, settings: Mapping[str, Any]) -> str:
    from autopeft.model.graph import ModelGraph
    from autopeft.model.loading import skeleton

    layout = dict(ModelGraph.from_model(skeleton(recipe.model)).layout)
    members = spread(list(spec.resolve(layout).enumerate()), settings["limit"])
    n_val = recipe.data.n_validation or 500
    low = estimate(members, settings["low_steps"], settings["seeds"], n_val)
    count = min(settings["high_count"], len(members)) if settings["high_steps"] else 0
    share = count / max(len(members), 1)
    high = estimate(members, settings["high_steps"], settings["seeds"], n_val) * share if count else 0.0
    return (f"{len(members)} configurations x {settings['seeds']} seeds at {settings['low_steps']} steps: "
            f"{len(members) * settings['seeds']} trials, ~{low / 60:.0f} min\n"
            f"{count} configurations x {settings['seeds']} seeds at {settings['high_steps']} steps: "
            f"{count * settings['seeds']} trials, ~{high / 60:.0f} min\n"
            f"total ~{(low + high) / 60:.0f} min on 2 CPU cores (estimate: {STEP_SECONDS} s/step, "
            f"{EVAL_SECONDS_PER_500} s per 500 validation examples, {SETUP_SECONDS} s setup per trial)")


def build(recipe: Any, args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from autopeft.study.context import make_context

    out, table = Path(args.out), Path(args.table)
    command = "python " + " ".join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    journal = open_journal(out, recipe, settings)
    try:
        ctx = make_context(recipe)
        members = spread(list(ctx.space.enumerate()), args.limit)
        if not args.write_only:
            requeued = journal.requeue_interrupted("search")  # the table's trials are search-phase rows
            if requeued:
                print(f"resuming: trial(s) {', '.join(map(str, requeued))} were interrupted and run again",
                      file=sys.stderr)
            for source in args.imports:
                added = import_rows(journal, ctx, Path(source), settings["low_steps"], args.seeds, ORIGIN_LOW, members)
                print(f"imported {added} rows at {settings['low_steps']} steps from {source}", file=sys.stderr)
            engine = ctx.engine(workers=args.workers)
            try:
                run_phase(journal, ctx, engine, members, settings["low_steps"], args.seeds, ORIGIN_LOW, "low")
                if settings["high_steps"]:
                    subset = journal.meta(SUBSET_KEY)
                    if subset is None:
                        subset = choose_subset(low_means(journal, members), args.high_count, recipe.seed)
                        journal.set_meta(SUBSET_KEY, subset)
                    for source in args.imports:
                        added = import_rows(journal, ctx, Path(source), settings["high_steps"], args.seeds,
                                            ORIGIN_HIGH, subset)
                        print(f"imported {added} rows at {settings['high_steps']} steps from {source}",
                              file=sys.stderr)
                    run_phase(journal, ctx, engine, subset, settings["high_steps"], args.seeds, ORIGIN_HIGH, "high")
            finally:
                engine.close()
            journal.set_meta("finished", time.time())
        path = write(journal, ctx, table, settings, command)
        rows = len(records(journal))
    finally:
        journal.close()
    print(f"wrote {path} ({rows} rows), {path.with_suffix('.json')} and {path.with_suffix('.md')}; journal {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
