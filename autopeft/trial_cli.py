"""``autopeft trial``: one configuration of a recipe, at the recipe's fidelity or one given on the command line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from autopeft.errors import RecipeError
from autopeft.recipe import Recipe, load_recipe
from autopeft.trial import Fidelity, TrialResult


def apply_overrides(recipe: Recipe, *, model: str | None = None, task: str | None = None, data: str | None = None,
                    text_fields: str | None = None, label_field: str | None = None,
                    n_train: int | None = None) -> Recipe:
    """The recipe with command-line overrides of model, task and data scale."""
    if model:
        recipe = replace(recipe, model=model)
    if task and data:
        raise RecipeError("give either --task or --data, not both")
    if task:
        recipe = replace(recipe, task=task)
    if data:
        if not text_fields or not label_field:
            raise RecipeError("--data needs --text-fields and --label-field (the file's column names)")
        fields = [f.strip() for f in text_fields.split(",") if f.strip()]
        recipe = replace(recipe, task={"file": str(Path(data)), "text_fields": fields, "label_field": label_field})
    elif text_fields or label_field:
        raise RecipeError("--text-fields and --label-field go with --data FILE")
    if n_train is not None:
        if n_train < 1:
            raise RecipeError(f"--n-train must be >= 1, got {n_train}")
        recipe = replace(recipe, data=replace(recipe.data, n_train=n_train))
    return recipe


def run_trial_command(*, recipe: Path, config: Any, steps: int | None = None, train_fraction: float | None = None,
                      seed: int | None = None, test: bool = False, **overrides: Any) -> TrialResult:
    from autopeft.checks import check_space
    from autopeft.runner import Worker

    rec = apply_overrides(load_recipe(recipe), **overrides)
    fidelity = Fidelity(steps=steps if steps is not None else rec.fidelity.steps,
                        train_fraction=train_fraction if train_fraction is not None else rec.fidelity.train_fraction)
    spec = rec.load_space()
    data = rec.task_data()  # task problems surface before the model loads
    worker = Worker(rec.model, data, rec.training)
    worker.space = check_space(spec, worker.graph, rec.model).space
    worker.check_config(config)
    return worker.run(config, fidelity, rec.seed if seed is None else seed, test=test)
