"""Benchmark: how a warm start uses its prior — bo's ``prior_std``, ``prior_transform`` and ``prior_cover``
options, on development seeds.

    python benchmarks/warm_std.py --table benchmarks/peftbench/minilm-bbc-news.csv \\
        --other benchmarks/peftbench/minilm-tweets-v2.csv

Replays (nothing is trained), with the protocol of ``search_efficiency.py`` (one training seed's row answers a
proposal; the ratio is on seed means, from the sharp reference point), on each seed:

- ``bo``, a cold start;
- ``warm:bo`` started from ``--other`` with each of ``--settings`` (``OPTION=VALUE``, comma-separated; by default
  ``prior_std=residual,prior_std=stacked``, the two values of :data:`autopeft.controllers.transfer.PRIOR_STDS`;
  ``prior_transform=copula`` scales the sources by rank, :data:`~autopeft.controllers.transfer.PRIOR_TRANSFORMS`;
  ``prior_cover=true`` tries each method once first, :mod:`autopeft.controllers.cover`; ``prior_levels=true``
  gives the residual one level per method, :mod:`autopeft.controllers.transfer`; ``prior_level_shrink=K``, a
  number > 0: the pseudo-observations pulling each level towards the prior; ``prior_trials=N``: the
  prior guides the first N trials, 1 to 50). One warm start may set
  several options, joined by ``+``: ``prior_std=residual+prior_cover=false`` is the warm start of before
  ``prior_cover`` became bo's default; an option a setting leaves out takes bo's default.

It writes ``NAME.{json,md}`` into ``--out``: per strategy, the trials to 0.99 of the sharp ratio on each seed
(the measure of the warm-start goal), their median, how many seeds get there, the median ratio after 10 and at
the budget, and the last setting paired by seed against the first. The default seeds, 0-19, are the development seeds;
``--seed-start 1000`` gives the report seeds of ``search_efficiency.py``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.bench.recorded import recorded_command, write_results
from autopeft.controllers.transfer import PRIOR_STDS, PRIOR_TRANSFORMS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = 0.99  #: the share of the sharp ratio "trials to" counts up to, as search_efficiency.py
EARLY = 10  #: the trial count of the early median
SWITCH = {"true": True, "false": False}  #: the values of an on/off option (``prior_cover``) as written
GUIDED = tuple(str(n) for n in range(1, 51))  #: the values of ``prior_trials`` (how many trials the prior guides)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", required=True, help="the PEFT-Bench v2 table to replay on (the new task)")
    p.add_argument("--other", required=True, help="the table the warm starts start from (the same space)")
    p.add_argument("--budget", type=int, default=50, help="trials per replay (default 50)")
    p.add_argument("--seeds", type=int, default=20, help="replay seeds (default 20)")
    p.add_argument("--seed-start", type=int, default=0, help="the first seed (default 0, the development seeds)")
    p.add_argument("--settings", default=",".join(f"prior_std={v}" for v in PRIOR_STDS),
                   help="warm starts to replay, comma-separated; each OPTION=VALUE, several joined by + (OPTION: "
                        "prior_std, prior_transform, prior_cover, prior_levels, prior_level_shrink or prior_trials; "
                        "default: %(default)s)")
    p.add_argument("--out", default=str(HERE / "results" / "warm_std"), help="folder for NAME.{json,md}")
    args = p.parse_args(argv)
    try:
        args.settings = settings(args.settings)
    except ValueError as exc:
        p.error(str(exc))
    for name in ("budget", "seeds"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.seed_start < 0:
        p.error(f"--seed-start must be >= 0, got {args.seed_start}")
    return args


def settings(text: str) -> list[tuple[str, dict[str, str]]]:
    """``--settings`` as (label, options) per warm start: items are comma-separated, and one item may set several
    options joined by ``+`` (``prior_std=residual+prior_cover=false``). A malformed or unknown option, or one set
    twice in an item, is a ValueError naming what is allowed."""
    allowed = {"prior_std": PRIOR_STDS, "prior_transform": PRIOR_TRANSFORMS, "prior_cover": tuple(SWITCH),
               "prior_levels": tuple(SWITCH), "prior_trials": GUIDED}
    choices = "; ".join(f"{k}={v[0]}..{v[-1]}" if v is GUIDED else f"{k}={'|'.join(v)}" for k, v in allowed.items())
    choices += "; prior_level_shrink=a number > 0"
    out: list[tuple[str, dict[str, str]]] = []
    for item in (part.strip() for part in text.split(",")):
        options: dict[str, str] = {}
        for pair in item.split("+"):
            option, _, value = pair.strip().partition("=")
            known = positive(value) if option == "prior_level_shrink" else value in allowed.get(option, ())
            if not known:
                raise ValueError(f"--settings {pair.strip()!r}: expected OPTION=VALUE among {choices} "
                                 "(several in one warm start joined by +)")
            if option in options:
                raise ValueError(f"--settings {item!r} sets {option} twice")
            options[option] = value
        out.append(("+".join(f"{o}={v}" for o, v in options.items()), options))
    chosen = [tuple(sorted(options.items())) for _, options in out]  # the same options in another order too
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"--settings {text!r} names a setting twice")
    return out


def positive(text: str) -> bool:
    """Whether ``text`` is a finite number > 0 (the values of ``prior_level_shrink``)."""
    try:
        return 0 < float(text) < math.inf
    except ValueError:
        return False


def value(option: str, text: str) -> Any:
    """An option's value as bo takes it: a switch as a bool, ``prior_trials`` as an int, ``prior_level_shrink``
    as a float, a name as written."""
    if option == "prior_level_shrink":
        return float(text)
    return int(text) if option == "prior_trials" else SWITCH.get(text, text)


def to_target(ratio: Sequence[float]) -> int | None:
    """The first trial (1-based) at which ``ratio`` reaches :data:`TARGET`, as search_efficiency.py counts it."""
    reached = np.flatnonzero(np.asarray(ratio) >= TARGET - 1e-12)
    return int(reached[0]) + 1 if reached.size else None


def median_trials(values: Sequence[int | None]) -> float:
    """Median trials to the target; a seed that never gets there counts as never (infinity)."""
    return float(np.median([math.inf if v is None else v for v in values]))


def measure(table: Any, strategies: Mapping[str, Any], objectives: Any, seeds: Sequence[int],
            budget: int) -> dict[str, list[dict[str, Any]]]:
    """Every strategy replayed on every seed: trials to the target, and the ratio after EARLY and at the end."""
    from autopeft.bench.replay import replay

    runs: dict[str, list[dict[str, Any]]] = {}
    for name, spec in strategies.items():
        runs[name] = []
        for seed in seeds:
            run = replay(table, spec, budget=budget, seed=seed, objectives=objectives, reference="sharp")
            runs[name].append({"seed": seed, "to_target": to_target(run.ratio),
                               "early": float(run.ratio[min(EARLY, budget) - 1]), "end": float(run.ratio[-1])})
    return runs


def paired(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> tuple[int, int, int]:
    """Seeds on which ``a`` reaches the target in fewer / as many / more trials than ``b`` (never: infinity)."""
    fewer = same = more = 0
    for x, y in zip(a, b, strict=True):
        tx = math.inf if x["to_target"] is None else x["to_target"]
        ty = math.inf if y["to_target"] is None else y["to_target"]
        fewer, same, more = fewer + (tx < ty), same + (tx == ty), more + (tx > ty)
    return fewer, same, more


def markdown(data: Mapping[str, Any]) -> str:
    seeds = data["seeds"]
    lines = [f"# Warm-start settings on `{data['table']}`, warm-started from `{data['other']}` (replay; "
             "generated by benchmarks/warm_std.py)", "",
             f"`{data['command']}`. Seeds {seeds[0]}-{seeds[-1]}, {data['budget']} trials, sharp reference, "
             "the protocol of search_efficiency.py.", "",
             f"| strategy | median trials to {TARGET} | seeds reaching it | median ratio @{EARLY} | "
             f"median ratio @{data['budget']} |", "|---|---:|---|---:|---:|"]
    for name, runs in data["runs"].items():
        middle = median_trials([r["to_target"] for r in runs])
        reached = sum(r["to_target"] is not None for r in runs)
        lines.append(f"| {name} | {middle:g} | {reached}/{len(runs)} | {np.median([r['early'] for r in runs]):.4f} "
                     f"| {np.median([r['end'] for r in runs]):.4f} |")
    lines += ["", "Trials to the target per seed (None: not within the budget):", ""]
    lines += [f"- {name}: " + ", ".join(str(r["to_target"]) for r in runs) for name, runs in data["runs"].items()]
    if data.get("paired"):
        first, last, (fewer, same, more) = data["paired"]
        lines += ["", f"`{last}` against `{first}`, paired by seed: fewer trials on {fewer}, as many on "
                  f"{same}, more on {more}."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from autopeft.bench.replay import controller_spec
    from autopeft.bench.table import load_table, objectives_from
    from autopeft.bench.warm_start import load_prior
    from autopeft.errors import AutopeftError

    objectives = objectives_from(["accuracy", "trainable_params"])
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    try:
        table = load_table(os.path.relpath(args.table))
        prior = load_prior([os.path.relpath(args.other)], table.space, objectives)
        bo = controller_spec("bo")
        strategies: dict[str, Any] = {"bo": bo}
        for label, options in args.settings:
            name = f"warm:bo {label}"
            strategies[name] = bo.warm(prior, name, **{o: value(o, v) for o, v in options.items()})
        runs = measure(table, strategies, objectives, seeds, args.budget)
    except AutopeftError as exc:
        print(f"warm_std.py: error: {exc}", file=sys.stderr)
        return 2
    command = recorded_command("benchmarks/warm_std.py", argv if argv is not None else sys.argv[1:],
                               ("--table", "--other", "--out"), ROOT)
    data = {"command": command, "table": table.name, "other": Path(args.other).stem, "seeds": seeds,
            "budget": args.budget, "target": TARGET, "runs": runs}
    if len(args.settings) > 1:
        first, last = args.settings[0][0], args.settings[-1][0]
        data["paired"] = [first, last, list(paired(runs[f"warm:bo {last}"], runs[f"warm:bo {first}"]))]
    text = markdown(data)
    write_results(Path(args.out) / table.name, data, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
