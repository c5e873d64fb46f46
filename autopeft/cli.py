"""The ``autopeft`` command line.

    autopeft spaces list
    autopeft spaces check spaces/minilm-layers.yaml --model minilm
    autopeft build --model minilm --config '{"method": "lora", "lora.r": 8}' [--space FILE] [--out DIR]
    autopeft trial [--recipe search/default.yaml] --config '{"method": "ia3"}' [--steps N] [--test]
    autopeft search [RECIPE] [--budget N] [--controller bo|random|evolution] [--task NAME] [--resume RUN]
    autopeft status|pareto|finalize|export RUN ...
    autopeft report RUN [RUN ...] --out reports/NAME [--random RUN]
    autopeft bench --table benchmarks/peftbench/NAME.csv --controller bo --budget 50 --seeds 20

Every error autopeft knows about prints one line (``autopeft: error: ...``) and exits with 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from autopeft import __version__
from autopeft.errors import AutopeftError, ConfigError

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own usage errors: one line, exit 2
        self.exit(2, f"autopeft: error: {message} (see {self.prog} --help)\n")


def space_dirs() -> list[Path]:
    """Where ``spaces list`` looks: ./spaces, then the spaces/ shipped beside the package."""
    dirs = [Path.cwd() / "spaces", Path(__file__).resolve().parent.parent / "spaces"]
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def cmd_spaces_list(args: argparse.Namespace) -> int:
    from autopeft.space import load_space

    files = sorted({p.resolve(): p for d in space_dirs() for p in d.glob("*.yaml")}.values())
    if not files:
        print("no space files found in ./spaces")
        return 0
    width = max(len(str(p.name)) for p in files)
    for path in files:
        try:
            spec = load_space(path)
            print(f"{path.name:<{width}}  {len(spec.dimensions):>2} dimensions  {spec.description or spec.name}")
        except AutopeftError as exc:
            print(f"{path.name:<{width}}  INVALID: {exc}")
    return 0


def cmd_spaces_check(args: argparse.Namespace) -> int:
    from autopeft.checks import check_space_file

    report = check_space_file(args.file, args.model)
    print(report.text())
    return 0


def _parse_json(text: str, what: str) -> Any:
    source = Path(text)
    if source.suffix == ".json" and source.is_file():
        text = source.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} is not valid JSON ({exc.msg} at column {exc.colno}): {text[:60]!r}") from exc


def cmd_build(args: argparse.Namespace) -> int:
    from autopeft.checks import build_from_cli

    config = _parse_json(args.config, "--config")
    result = build_from_cli(args.model, config, space_file=args.space, num_labels=args.num_labels, out=args.out)
    print(json.dumps(result, indent=2))
    return 0


DEFAULT_RECIPE = Path(__file__).resolve().parent.parent / "search" / "default.yaml"


def _recipe_path(value: str | None) -> Path:
    if value:
        return Path(value)
    local = Path.cwd() / "search" / "default.yaml"
    return local if local.is_file() else DEFAULT_RECIPE


def cmd_trial(args: argparse.Namespace) -> int:
    from autopeft.trial_cli import run_trial_command

    record = run_trial_command(
        recipe=_recipe_path(args.recipe), config=_parse_json(args.config, "--config"), steps=args.steps,
        train_fraction=args.train_fraction, seed=args.seed, test=args.test, model=args.model, task=args.task,
        data=args.data, text_fields=args.text_fields, label_field=args.label_field, n_train=args.n_train,
    )
    print(json.dumps(record.to_dict()))
    return 0 if record.ok else 1


def cmd_search(args: argparse.Namespace) -> int:
    from autopeft.search_cli import cmd_search as run

    recipe = None if args.resume else _recipe_path(args.recipe)
    print(run(recipe, budget=args.budget, controller=args.controller, out=args.out, seed=args.seed,
              resume=args.resume, task=args.task))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from autopeft.search_cli import status_text

    print(status_text(Path(args.run)))
    return 0


def cmd_pareto(args: argparse.Namespace) -> int:
    from autopeft.search_cli import pareto_text

    print(pareto_text(Path(args.run), args.format, all_trials=args.all))
    return 0


def cmd_finalize(args: argparse.Namespace) -> int:
    from autopeft.search_cli import cmd_finalize as run

    print(run(Path(args.run), args.pick, args.seeds))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from autopeft.search_cli import cmd_export as run

    print(run(Path(args.run), args.pick, Path(args.out), args.overwrite))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from autopeft.report import write_report

    print(write_report([Path(r) for r in args.runs], Path(args.out), random_runs=[Path(r) for r in args.random],
                       title=args.title))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from autopeft.bench.cli import run

    print(run(args))
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autopeft", description="Search the Pareto front of PEFT configurations.")
    parser.add_argument("--version", action="version", version=f"autopeft {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    spaces = sub.add_parser("spaces", help="list search spaces or check one against a model")
    spaces_sub = spaces.add_subparsers(dest="spaces_command", required=True, parser_class=_Parser)
    spaces_sub.add_parser("list", help="list the space files in ./spaces").set_defaults(func=cmd_spaces_list)
    check = spaces_sub.add_parser("check", help="check a space file against a model (no weights needed)")
    check.add_argument("file", help="a space YAML file, e.g. spaces/minilm-layers.yaml")
    check.add_argument("--model", required=True,
                       help="minilm, flan-t5-small|base|large|xl, a local folder or a Hub id")
    check.set_defaults(func=cmd_spaces_check)

    b = sub.add_parser("build", help="build one configuration on a model; print its parameter counts")
    b.add_argument("--model", required=True, help="minilm, a local folder or a Hub id")
    b.add_argument("--config", required=True, help="the configuration as JSON (or a .json file)")
    b.add_argument("--space", help="check the configuration is in this space first")
    b.add_argument("--num-labels", type=int, default=None, help="classes of the head (encoders); default 2")
    b.add_argument("--out", help="also export the (untrained) adapter to this folder")
    b.set_defaults(func=cmd_build)

    t = sub.add_parser("trial", help="fine-tune and evaluate one configuration; print one JSON record")
    t.add_argument("--recipe", help="a recipe YAML (default: search/default.yaml, the offline default)")
    t.add_argument("--config", required=True, help="the configuration as JSON (or a .json file)")
    t.add_argument("--steps", type=int, help="training steps (default: the recipe's fidelity)")
    t.add_argument("--train-fraction", type=float, help="share of the training split to use, in (0, 1]")
    t.add_argument("--seed", type=int, help="training seed (default: the recipe's)")
    t.add_argument("--test", action="store_true", help="also score the test split (kept out of searches)")
    t.add_argument("--model", help="override the recipe's model")
    t.add_argument("--task", help="override the recipe's task with a registered task")
    t.add_argument("--data", help="override the task with a local CSV / JSONL / Parquet file")
    t.add_argument("--text-fields", help="with --data: text column(s), comma-separated")
    t.add_argument("--label-field", help="with --data: the label column")
    t.add_argument("--n-train", type=int, help="training examples (data scale: 100, 1000, 10000)")
    t.set_defaults(func=cmd_trial)

    s = sub.add_parser("search", help="search the Pareto front of a recipe (default: the offline default)")
    s.add_argument("recipe", nargs="?", help="a recipe YAML (default: search/default.yaml)")
    s.add_argument("--budget", type=int, help="trials in all, reference points included (default: the recipe's)")
    s.add_argument("--controller", help="bo (default), random or evolution")
    s.add_argument("--out", help="the run folder (default: runs/<recipe>-<time>)")
    s.add_argument("--seed", type=int, help="controller and training seed (default: the recipe's)")
    s.add_argument("--task", help="search the recipe on another registered task, e.g. bbc-news "
                                   "(default: the recipe's)")
    s.add_argument("--resume", metavar="RUN", help="continue RUN to its budget after a crash or Ctrl-C")
    s.set_defaults(func=cmd_search)

    st = sub.add_parser("status", help="trials by state, best so far, front size, hypervolume, ETA")
    st.add_argument("run")
    st.set_defaults(func=cmd_status)

    pa = sub.add_parser("pareto", help="the Pareto front of a run (validation split)")
    pa.add_argument("run")
    pa.add_argument("--format", default="table", help="table (default), csv or json")
    pa.add_argument("--all", action="store_true", help="every trial, not only the front (marked on/off it)")
    pa.set_defaults(func=cmd_pareto)

    pick_help = "knee, best, max-params:N or trial:ID"
    fi = sub.add_parser("finalize", help="re-train picked points at full fidelity over seeds; score the test split")
    fi.add_argument("run")
    fi.add_argument("--pick", default="knee", help=pick_help)
    fi.add_argument("--seeds", type=int, help="training seeds (default: the recipe's final_seeds)")
    fi.set_defaults(func=cmd_finalize)

    ex = sub.add_parser("export", help="write a picked point as a folder plain peft loads")
    ex.add_argument("run")
    ex.add_argument("--pick", default="knee", help=pick_help)
    ex.add_argument("--out", required=True, help="the adapter folder to write")
    ex.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    ex.set_defaults(func=cmd_export)

    rp = sub.add_parser("report", help="one self-contained HTML page + Markdown + CSV for one or more runs")
    rp.add_argument("runs", nargs="+", metavar="RUN", help="run folders (one section per task or model)")
    rp.add_argument("--out", required=True, help="the report folder to write, e.g. reports/NAME")
    rp.add_argument("--random", action="append", default=[], metavar="RUN",
                    help="a random-search run of the same recipe, drawn on the hypervolume plot (repeatable)")
    rp.add_argument("--title", help="the page title (default: from the runs' recipes)")
    rp.set_defaults(func=cmd_report)

    from autopeft.bench.cli import configure as configure_bench

    be = sub.add_parser("bench", help="replay controllers on a PEFT-Bench table: a comparison in seconds")
    configure_bench(be)
    be.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    # library deprecation notices (transformers, peft) are for developers, not for people running searches
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message="Unsupported layer type")  # peft's LN tuning on LayerNorm: works
    parser = make_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except AutopeftError as exc:
        print(f"autopeft: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autopeft: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `autopeft pareto RUN | head`: the reader left, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
