"""``autopeft trial``: one configuration of a recipe, at the recipe's fidelity or one given on the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from autopeft.cli.common import add_rows_options, add_size_options, parse_json, recipe_path
from autopeft.errors import ConfigError, check_seed
from autopeft.trial import Fidelity, TrialResult


def configure(sub: Any) -> None:
    t = sub.add_parser("trial", help="fine-tune and evaluate one configuration; print one JSON record")
    t.add_argument("--recipe", help="a recipe YAML (default: search/default.yaml, the offline default)")
    t.add_argument("--config", required=True, help="the configuration as JSON (or a .json file)")
    t.add_argument("--steps", type=int, help="training steps (default: the recipe's fidelity)")
    t.add_argument("--train-fraction", type=float, help="share of the training split to use, in (0, 1]")
    t.add_argument("--seed", type=int, help="training seed (default: the recipe's)")
    t.add_argument("--test", action="store_true", help="also score the test split (kept out of searches)")
    t.add_argument("--model", help="override the recipe's model")
    t.add_argument("--task", help="override the recipe's task with a registered task")
    add_rows_options(t)
    add_size_options(t)
    t.set_defaults(func=cmd_trial)


def cmd_trial(args: argparse.Namespace) -> int:
    config = parse_json(args.config, "--config")
    if not isinstance(config, dict):
        raise ConfigError(f"--config must be a JSON object such as '{{\"method\": \"ia3\"}}', got {args.config!r}")
    record = run_trial_command(
        recipe=recipe_path(args.recipe), config=config, steps=args.steps,
        train_fraction=args.train_fraction, seed=args.seed, test=args.test, model=args.model, task=args.task,
        data=args.data, hub_dataset=args.hub_dataset, hub_config=args.hub_config, text_fields=args.text_fields,
        label_field=args.label_field, split_field=args.split_field,
        n_train=args.n_train, n_validation=args.n_validation, n_test=args.n_test,
        official_splits=args.official_splits, split_names=args.split_names,
    )
    print(json.dumps(record.to_dict()))
    return 0 if record.ok else 1


def run_trial_command(*, recipe: Path, config: Any, steps: int | None = None, train_fraction: float | None = None,
                      seed: int | None = None, test: bool = False, **overrides: Any) -> TrialResult:
    """Load the recipe with its overrides, check ``config`` against its space, train and score it once."""
    from autopeft.methods.checks import check_space
    from autopeft.runner.worker import Worker
    from autopeft.study.overrides import apply_overrides
    from autopeft.study.recipe import load_recipe

    check_seed("--seed", seed)
    rec = apply_overrides(load_recipe(recipe), **overrides)
    fidelity = Fidelity(steps=steps if steps is not None else rec.fidelity.steps,
                        train_fraction=train_fraction if train_fraction is not None else rec.fidelity.train_fraction)
    spec = rec.load_space()
    data = rec.task_data()  # task problems surface before the model loads
    worker = Worker(rec.model, data, rec.training)
    worker.space = check_space(spec, worker.graph, rec.model).space
    worker.check_config(config)
    return worker.run(config, fidelity, rec.seed if seed is None else seed, test=test)
