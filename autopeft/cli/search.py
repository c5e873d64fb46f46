"""``autopeft search``: start a search from a recipe, or resume one from its run folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from autopeft.cli.common import recipe_path
from autopeft.cli.results import status_text
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
    s.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    recipe = None if args.resume else recipe_path(args.recipe)
    print(search(recipe, budget=args.budget, controller=args.controller, out=args.out, seed=args.seed,
                 resume=args.resume, task=args.task))
    return 0


def default_out(recipe_name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{recipe_name}-{stamp}"


def search(recipe: Path | None, *, budget: int | None, controller: str | None, out: str | None,
           seed: int | None, resume: str | None, task: str | None = None) -> str:
    """Run or resume a search; the run's status text."""
    from autopeft.study.recipe import load_recipe, with_task
    from autopeft.study.search import run_search

    if budget is not None and budget < 1:
        raise ConfigError(f"--budget must be >= 1, got {budget}")
    if resume:
        if recipe is not None and out is not None:
            raise ConfigError("--resume RUN takes the recipe from the run; do not give RECIPE or --out with it")
        if task is not None:
            raise ConfigError("--resume RUN takes the task from the run; do not give --task with it")
        folder = Path(resume)
        run_search(None, folder, budget=budget, resume=True)
    else:
        rec = load_recipe(recipe) if recipe is not None else None
        assert rec is not None
        if task is not None:
            rec = with_task(rec, task)
        folder = Path(out) if out else default_out(rec.name)
        run_search(rec, folder, budget=budget, controller=controller, seed=seed)
    return status_text(folder)
