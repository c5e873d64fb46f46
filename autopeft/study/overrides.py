"""Command-line overrides of a recipe: ``--model``, ``--data`` with its columns and split column, the data
sizes and ``--official-splits`` (``autopeft search`` and ``autopeft trial``). Each is recorded in the recipe's
``overrides``, so that a run's commands can be shown again (:mod:`autopeft.study.commands`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from autopeft.errors import RecipeError
from autopeft.study.recipe import Recipe

__all__ = ["apply_overrides"]


def apply_overrides(recipe: Recipe, *, model: str | None = None, task: str | None = None, data: str | None = None,
                    text_fields: str | None = None, label_field: str | None = None, n_train: int | None = None,
                    n_validation: int | None = None, n_test: int | None = None,
                    split_field: str | None = None, official_splits: bool = False) -> Recipe:
    """The recipe with command-line overrides of model, task and data sizes (each size a flag in ``overrides``), and
    ``official_splits`` (a Hub task's own splits)."""
    for flag, value, allowed in (("--model", model, "an alias such as minilm, a local folder or a Hub id"),
                                 ("--task", task, "a registered task name"),
                                 ("--data", data, "a CSV / TSV / JSONL / Parquet file"),
                                 ("--split-field", split_field, "the name of a column of the file")):
        if value is not None and not value.strip():  # "" would quietly mean the recipe's own
            raise RecipeError(f"{flag} is empty; allowed: {allowed}")
    if model:
        recipe = replace(recipe, model=model, overrides={**recipe.overrides, "model": model})
    if task and data:
        raise RecipeError("give either --task or --data, not both")
    if task:
        recipe = replace(recipe, task=task, overrides={**recipe.overrides, "task": task})
    if data:
        if not text_fields or not label_field:
            raise RecipeError("--data needs --text-fields and --label-field (the file's column names)")
        fields = [f.strip() for f in text_fields.split(",") if f.strip()]
        split = {"split_field": split_field.strip()} if split_field else {}
        recipe = replace(recipe, task={"file": str(Path(data)), "text_fields": fields, "label_field": label_field,
                                       **split},
                         name=f"{recipe.name}-{Path(data).stem}",
                         overrides={**recipe.overrides, "data": str(Path(data)), "text_fields": ",".join(fields),
                                    "label_field": label_field, **split})
    elif text_fields or label_field or split_field:
        raise RecipeError("--text-fields, --label-field and --split-field go with --data FILE")
    if official_splits:
        if data:
            raise RecipeError("--official-splits keeps a Hub task's own splits, and a file has none; allowed: "
                              "--data FILE --split-field COLUMN (a column naming each row's split)")
        recipe = replace(recipe, data=replace(recipe.data, official_splits=True),
                         overrides={**recipe.overrides, "official_splits": True})
    sizes: dict[str, Any] = {k: v for k, v in {"n_train": n_train, "n_validation": n_validation,
                                                "n_test": n_test}.items() if v is not None}
    bad = {k: v for k, v in sizes.items() if v < 1}
    if bad:
        raise RecipeError(", ".join(f"--{k.replace('_', '-')} must be >= 1, got {v}" for k, v in bad.items()))
    return replace(recipe, data=replace(recipe.data, **sizes), overrides={**recipe.overrides, **sizes})
