"""``autopeft bench``: replay controllers on a PEFT-Bench table — a controller comparison in seconds.

    autopeft bench --table benchmarks/peftbench/minilm-tweets.csv --controller bo --budget 50 --seeds 20
    autopeft bench --table T.csv --controller random,bo:forest,evolution --budget 100 --out results.json
    autopeft bench --table T.csv --controller mf:bo --controller high:bo --budget 60 --seeds 10
    autopeft bench --table B.csv --controller bo,warm:bo --warm-start A.csv --reference sharp
    autopeft bench --table T.csv --controller bo,random --budget 50 --budget-for random=150 --reference sharp

Nothing is trained: every trial is answered from the table. This module imports only argparse until
:func:`run` is called, so ``autopeft --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def configure(sub: Any) -> None:
    """Add ``bench`` to the top-level subparsers ``sub``."""
    parser = sub.add_parser("bench", help="replay controllers on a PEFT-Bench table: a comparison in seconds")
    parser.set_defaults(func=cmd_bench)
    parser.add_argument("table_file", nargs="?", metavar="TABLE",
                        help="a PEFT-Bench CSV (its sidecar NAME.json beside it), "
                             "e.g. benchmarks/peftbench/minilm-tweets.csv")
    parser.add_argument("--table", help="the same as TABLE, as an option")
    parser.add_argument("--controller", action="append", default=[], metavar="NAME",
                        help="repeatable or comma-separated: random, bo, bo:gp, bo:forest, evolution, nni:TPE, "
                             "nni:Evolution, nni:Anneal, nni:Random, optuna:tpe, optuna:nsga2, optuna:gp, "
                             "optuna:botorch (pip install \"autopeft[bench]\"); "
                             "mf:<controller> (low-fidelity search promoting to the high fidelity, ASHA) and "
                             "high:<controller> (high fidelity only) on a table with two fidelities; "
                             "warm:bo (bo warm-started from --warm-start) (default: random,bo)")
    parser.add_argument("--budget", type=int, default=50,
                        help="trials per search (multi-fidelity: cost in low-fidelity trials); default 50")
    parser.add_argument("--budget-for", action="append", default=[], metavar="NAME=N",
                        help="repeatable: another budget for one controller, e.g. --controller bo,random "
                             "--budget 50 --budget-for random=150 (bo at 50 against random at 3x the budget)")
    parser.add_argument("--seeds", type=int, default=20, help="searches per controller (default 20)")
    parser.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--objectives", default="accuracy,trainable_params",
                        help="comma-separated objectives, trainable_params among them (default: accuracy,"
                             "trainable_params)")
    parser.add_argument("--space", help="read the rows with this space file instead of the one the table's sidecar "
                                        "holds (it must have the same dimensions)")
    parser.add_argument("--reference", default="stated", choices=("stated", "sharp"),
                        help="the hypervolume's reference point: stated (accuracy 0, the full model's parameters; "
                             "the default) or sharp (the majority-class accuracy and 1.1x the table's largest "
                             "adapter; needs majority_accuracy in the table's sidecar)")
    parser.add_argument("--warm-start", action="append", default=[], metavar="RUN_OR_TABLE",
                        help="repeatable: an earlier run or table (another task, the same space) that warm:<bo> "
                             "strategies start from, e.g. --controller bo,warm:bo --warm-start OTHER.csv")
    parser.add_argument("--out", help="also write the full comparison (curves, per-seed numbers) as JSON here")


def cmd_bench(args: argparse.Namespace) -> int:
    print(run(args))
    return 0


def run(args: argparse.Namespace) -> str:
    """Load the table, replay every controller on every seed; the text table (the JSON goes to ``--out``)."""
    from autopeft.bench.compare import compare
    from autopeft.bench.table import load_table, objectives_from
    from autopeft.errors import ConfigError
    from autopeft.paths import find_space

    if args.table_file and args.table and args.table_file != args.table:
        raise ConfigError(f"two tables: {args.table_file} and --table {args.table}; allowed: one table, as TABLE or "
                          "as --table")
    args.table = args.table_file or args.table
    if not args.table:
        raise ConfigError("no table given; allowed: a PEFT-Bench CSV, e.g. `autopeft bench "
                          "benchmarks/peftbench/minilm-tweets.csv`")
    names = [n.strip() for value in (args.controller or ["random,bo"]) for n in value.split(",") if n.strip()]
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise ConfigError(f"--controller {twice!r} is given twice; allowed: each controller once (the same "
                          f"controller at another budget: --budget-for {twice}=N)")
    budgets = budgets_for(args.budget_for, names)  # bad values fail before the table is read
    if args.out:  # before the replays, so that they are not lost to a bad --out
        from autopeft.paths import unwritable

        reason = unwritable(args.out, folder=False)
        if reason:
            raise ConfigError(f"--out {args.out}: {reason}; allowed: a JSON file this user can write")
    objectives = objectives_from([n.strip() for n in args.objectives.split(",") if n.strip()])
    table = load_table(args.table, space=args.space and find_space(args.space))
    prior = None
    if args.warm_start:
        from autopeft.bench.warm_start import load_prior

        if not any(n.startswith("warm:") for n in names):
            raise ConfigError(f"--warm-start is given but no strategy uses it (--controller {','.join(names)}); "
                              "allowed: add a warm:<controller> strategy, e.g. --controller bo,warm:bo")
        same = next((w for w in args.warm_start if Path(w).resolve() == Path(args.table).resolve()), None)
        if same is not None:
            raise ConfigError(f"--warm-start {same} is the table being replayed, so the warm start would know every "
                              "answer; allowed: a run or table of another task")

        prior = load_prior(args.warm_start, table.space, objectives)
    result = compare(table, names, budget=args.budget, seeds=args.seeds, seed_start=args.seed_start,
                     objectives=objectives, reference=args.reference, prior=prior,
                     budgets=budgets)
    text = result.text()
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.to_dict(), indent=1) + "\n", encoding="utf-8")
        text += f"\nwrote {out}"
    return text


def budgets_for(values: list[str], names: list[str]) -> dict[str, int]:
    """``--budget-for NAME=N`` values as {name: N}; a malformed one, an N below 1 or a NAME not among the
    controllers is a ConfigError naming it."""
    from autopeft.errors import ConfigError

    out: dict[str, int] = {}
    for value in values:
        name, sep, number = value.partition("=")
        name = name.strip()
        try:
            budget = int(number)
        except ValueError:
            budget = 0
        if not sep or not name or budget < 1:
            raise ConfigError(f"--budget-for {value!r}: allowed: NAME=N with N an integer >= 1, e.g. random=150")
        if name not in names:
            raise ConfigError(f"--budget-for {value!r}: {name!r} is not one of the controllers compared; allowed: "
                              f"{', '.join(names)}")
        out[name] = budget
    return out
