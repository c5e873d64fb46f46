"""``autopeft search``: start a search from a recipe, or resume one from its run folder."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autopeft.cli.common import add_rows_options, add_size_options, recipe_path


def configure(sub: Any) -> None:
    s = sub.add_parser("search", help="search the Pareto front of a recipe (default: the offline default)")
    s.add_argument("recipe", nargs="?", help="a recipe YAML (default: search/default.yaml)")
    s.add_argument("--budget", type=int, help="trials in all, reference points included (default: the recipe's)")
    s.add_argument("--controller", help="bo (default), random, evolution, NNI's nni:TPE, nni:Evolution, "
                                        "nni:Anneal, nni:Random (first objective only), or, with the bench "
                                        "extra, Optuna's optuna:tpe, optuna:nsga2, optuna:gp, optuna:botorch")
    s.add_argument("--out", help="the run folder (default: runs/<recipe>-<time>)")
    s.add_argument("--seed", type=int, help="controller and training seed (default: the recipe's)")
    s.add_argument("--model", help="search the recipe on another model: an alias (minilm, flan-t5-small|base|large|"
                                    "xl), a local folder or a Hub id (default: the recipe's); the recipe's space "
                                    "must fit it, which `autopeft spaces check SPACE --model M` tells at once; with "
                                    "--resume: where the run's model folder is now, if it moved")
    s.add_argument("--task", help="search the recipe on another registered task (default: the recipe's); the "
                                   "recipe's data sizes must fit it: bbc-news has its own recipe, "
                                   "search/default-bbc-news.yaml")
    add_rows_options(s)
    add_size_options(s)
    s.add_argument("--warm-start", action="append", default=[], metavar="RUN_OR_TABLE",
                   help="repeatable: an earlier run folder or PEFT-Bench table (another task, the same space or a "
                        "shared part) whose observations bo's surrogate starts from; they do not count against "
                        "--budget")
    s.add_argument("--dry-run", action="store_true",
                   help="check everything a search checks before it starts and say what it would train (splits, "
                        "notes, reference points, budget); nothing is trained or written")
    s.add_argument("--resume", metavar="RUN",
                   help="continue RUN after a crash or Ctrl-C (with a larger --budget: extend it); the recipe, "
                        "controller and seed are the run's; --model FOLDER and --data FILE say where its model "
                        "folder and data file are now, if they moved (checked to be the same ones)")
    add_engine_options(s, engines="inprocess, pool or nni")
    add_nni_options(s)
    s.set_defaults(func=cmd_search)


def add_engine_options(parser: Any, engines: str = "inprocess or pool") -> None:
    """``--workers``, ``--workers-per-gpu`` and ``--engine``: where trials run (search and finalize)."""
    parser.add_argument("--workers", type=int, metavar="N",
                        help="trials at once (default: the recipe's search.workers, else 1): 1 runs them in this "
                             "process; N > 1 in N worker processes that each load the model once")
    parser.add_argument("--workers-per-gpu", type=int, metavar="K",
                        help="on CUDA: at most K workers share one GPU (default: spread evenly over the GPUs)")
    parser.add_argument("--engine", help=f"where trials run: {engines} (default: by --workers)")


def add_nni_options(parser: Any) -> None:
    """``--nni-port``, ``--nni-host``, ``--nni-config``: the NNI engine's settings (search only)."""
    parser.add_argument("--nni-port", type=int, metavar="PORT",
                        help="with --engine nni: the port of NNI's web UI and manager (default: 8080)")
    parser.add_argument("--nni-host", metavar="ADDRESS",
                        help="with --engine nni: the address NNI's manager listens on (default: 127.0.0.1; "
                             "0.0.0.0 for remote training services)")
    parser.add_argument("--nni-config", metavar="FILE",
                        help="with --engine nni: a YAML file with NNI's trainingService (remote machines, "
                             "Kubernetes, AML, ...); default: the local machine")


def nni_settings(port: int | None, host: str | None, config: str | None) -> Any:
    """The NNI engine's settings from the command line (``None`` when no NNI option was given)."""
    if port is None and host is None and config is None:
        return None
    from autopeft.study.engines.nni.settings import DEFAULT_HOST, DEFAULT_PORT, NniSettings

    return NniSettings(port=DEFAULT_PORT if port is None else port, host=host or DEFAULT_HOST, config=config)


def cmd_search(args: argparse.Namespace) -> int:
    rows = {key: getattr(args, key) for key in ("data", "hub_dataset", "hub_config", "text_fields", "label_field",
                                                "split_field", "official_splits", "split_names", "n_train",
                                                "n_validation", "n_test")}
    print(search(args.recipe, budget=args.budget, controller=args.controller, out=args.out, seed=args.seed,
                 resume=args.resume, model=args.model, task=args.task, workers=args.workers,
                 workers_per_gpu=args.workers_per_gpu, engine=args.engine,
                 nni=nni_settings(args.nni_port, args.nni_host, args.nni_config), warm_start=args.warm_start,
                 dry_run=args.dry_run, **rows))
    return 0


@contextlib.contextmanager
def naming_the_run(folder: Path) -> Iterator[None]:
    """A search stopped by Ctrl-C, SIGTERM or an internal error carries its run folder (``exc.run``) once the
    folder holds a journal, so that the line it ends with can say that the trials are kept and what resumes them."""
    from autopeft.errors import AutopeftError
    from autopeft.study.journal import DB_NAME

    try:
        yield
    except AutopeftError:  # bad input, said in one line
        raise
    except (KeyboardInterrupt, Exception) as exc:  # a stop, or a fault of autopeft's own (main prints its traceback)
        if (folder / DB_NAME).is_file() and getattr(exc, "run", None) is None:
            exc.run = folder  # type: ignore[union-attr]
        raise


def search(recipe: str | Path | None, *, budget: int | None, controller: str | None, out: str | None,
           seed: int | None, resume: str | None, model: str | None = None, task: str | None = None,
           workers: int | None = None,
           workers_per_gpu: int | None = None, engine: str | None = None, data: str | None = None,
           text_fields: str | None = None, label_field: str | None = None, nni: Any = None,
           warm_start: list[str] | None = None, n_train: int | None = None, n_validation: int | None = None,
           n_test: int | None = None, split_field: str | None = None, dry_run: bool = False,
           official_splits: bool = False, hub_dataset: str | None = None, hub_config: str | None = None,
           split_names: str | None = None) -> str:
    """Run or resume a search; the run's status text."""
    from autopeft.bench.warm_start import load_prior
    from autopeft.study.overrides import apply_overrides, check_one_task
    from autopeft.study.provenance import Moved
    from autopeft.study.recipe import load_recipe, with_task
    from autopeft.study.search import check_engine, check_resume, default_out, run_search

    check_engine(engine)  # (run_search checks --budget, --workers and --workers-per-gpu before any model loads)

    if resume and dry_run:
        from autopeft.errors import ConfigError
        from autopeft.study.search import RESUME_OPTIONS

        raise ConfigError(f"--dry-run checks a new search, and a resumed one goes on from its journal (`autopeft "
                          f"status {resume}` says where it stands); allowed with --resume: {RESUME_OPTIONS}")
    if resume:
        check_resume(recipe=recipe, controller=controller, seed=seed, task=task, out=out,
                     text_fields=text_fields, label_field=label_field, split_field=split_field,
                     official_splits=official_splits, hub_dataset=hub_dataset, hub_config=hub_config,
                     split_names=split_names,
                     warm_start=bool(warm_start),
                     n_train=n_train, n_validation=n_validation, n_test=n_test)
        folder = Path(resume)
        with naming_the_run(folder):
            run_search(None, folder, budget=budget, resume=True, workers=workers, workers_per_gpu=workers_per_gpu,
                       engine=engine, nni=nni, load_prior=load_prior, moved=Moved(model=model, data=data))
    else:
        rec = load_recipe(recipe_path(str(recipe) if recipe is not None else None))
        if model is not None:
            rec = apply_overrides(rec, model=model)
        check_one_task(task, data, hub_dataset)
        if task is not None:
            rec = with_task(rec, task)
        rec = apply_overrides(rec, data=data, hub_dataset=hub_dataset, hub_config=hub_config,
                              text_fields=text_fields, label_field=label_field, split_field=split_field,
                              official_splits=official_splits, split_names=split_names, n_train=n_train,
                              n_validation=n_validation, n_test=n_test)
        if dry_run:
            from autopeft.study.plan import plan_text

            return plan_text(rec, budget=budget, controller=controller, seed=seed, warm_start=warm_start or (),
                             load_prior=load_prior, engine=engine, workers=workers, workers_per_gpu=workers_per_gpu,
                             nni=nni)
        folder = Path(out) if out else default_out(rec.name)
        with naming_the_run(folder):
            run_search(rec, folder, budget=budget, controller=controller, seed=seed, workers=workers,
                       workers_per_gpu=workers_per_gpu, engine=engine, nni=nni, warm_start=warm_start or (),
                       load_prior=load_prior)
    from autopeft.study.status import next_text, status_text

    moved = [a for flag, value in (("--model", model), ("--data", data)) if resume and value for a in (flag, value)]
    return f"{status_text(folder)}\n{next_text(folder, moved)}"
