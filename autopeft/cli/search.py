"""``autopeft search``: start a search from a recipe, or resume one from its run folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from autopeft.cli.common import recipe_path
from autopeft.errors import ConfigError


def configure(sub: Any) -> None:
    s = sub.add_parser("search", help="search the Pareto front of a recipe (default: the offline default)")
    s.add_argument("recipe", nargs="?", help="a recipe YAML (default: search/default.yaml)")
    s.add_argument("--budget", type=int, help="trials in all, reference points included (default: the recipe's)")
    s.add_argument("--controller", help="bo (default), random or evolution")
    s.add_argument("--out", help="the run folder (default: runs/<recipe>-<time>)")
    s.add_argument("--seed", type=int, help="controller and training seed (default: the recipe's)")
    s.add_argument("--task", help="search the recipe on another registered task, e.g. bbc-news "
                                   "(default: the recipe's)")
    s.add_argument("--resume", metavar="RUN", help="continue RUN to its budget after a crash or Ctrl-C")
    add_engine_options(s)
    s.set_defaults(func=cmd_search)


def add_engine_options(parser: Any) -> None:
    """``--workers``, ``--workers-per-gpu`` and ``--engine``: where trials run (search and finalize)."""
    parser.add_argument("--workers", type=int, metavar="N",
                        help="trials at once (default: the recipe's search.workers, else 1): 1 runs them in this "
                             "process; N > 1 in N worker processes that each load the model once")
    parser.add_argument("--workers-per-gpu", type=int, metavar="K",
                        help="on CUDA: at most K workers share one GPU (default: spread evenly over the GPUs)")
    parser.add_argument("--engine", help="where trials run: inprocess or pool (default: by --workers)")


def cmd_search(args: argparse.Namespace) -> int:
    recipe = None if args.resume else recipe_path(args.recipe)
    print(search(recipe, budget=args.budget, controller=args.controller, out=args.out, seed=args.seed,
                 resume=args.resume, task=args.task, workers=args.workers, workers_per_gpu=args.workers_per_gpu,
                 engine=args.engine))
    return 0


def search(recipe: Path | None, *, budget: int | None, controller: str | None, out: str | None,
           seed: int | None, resume: str | None, task: str | None = None, workers: int | None = None,
           workers_per_gpu: int | None = None, engine: str | None = None) -> str:
    """Run or resume a search; the run's status text."""
    from autopeft.study.recipe import load_recipe, with_task
    from autopeft.study.search import run_search

    if budget is not None and budget < 1:
        raise ConfigError(f"--budget must be >= 1, got {budget}")
    for flag, value in (("--workers", workers), ("--workers-per-gpu", workers_per_gpu)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be an integer >= 1, got {value}")

    if resume:
        if recipe is not None and out is not None:
            raise ConfigError("--resume RUN takes the recipe from the run; do not give RECIPE or --out with it")
        if task is not None:
            raise ConfigError("--resume RUN takes the task from the run; do not give --task with it")
        folder = Path(resume)
        run_search(None, folder, budget=budget, resume=True, workers=workers, workers_per_gpu=workers_per_gpu,
                   engine=engine)
    else:
        rec = load_recipe(recipe) if recipe is not None else None
        assert rec is not None
        if task is not None:
            rec = with_task(rec, task)
        from autopeft.study.search import default_out

        folder = Path(out) if out else default_out(rec.name)
        run_search(rec, folder, budget=budget, controller=controller, seed=seed, workers=workers,
                   workers_per_gpu=workers_per_gpu, engine=engine)
    from autopeft.study.status import status_text

    return status_text(folder)
