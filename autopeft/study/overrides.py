"""Command-line overrides of a recipe: ``--model``, ``--task``, ``--data`` (with its columns and split column) or
``--hub-dataset`` (with its configuration and columns), the data sizes, ``--official-splits`` and
``--split-names`` (``autopeft search`` and ``autopeft trial``). Each is recorded in the recipe's ``overrides``, so
that a run's commands can be shown again (:mod:`autopeft.study.commands`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from autopeft.errors import AutopeftError, RecipeError
from autopeft.study.recipe import Recipe
from autopeft.tasks.adhoc import hub_task_name
from autopeft.tasks.sources import SOURCE_SPLIT, Source, read_source

__all__ = ["apply_overrides", "check_one_task", "parse_split_names"]


def apply_overrides(recipe: Recipe, *, model: str | None = None, task: str | None = None, data: str | None = None,
                    hub_dataset: str | None = None, hub_config: str | None = None, text_fields: str | None = None,
                    label_field: str | None = None, n_train: int | None = None, n_validation: int | None = None,
                    n_test: int | None = None, split_field: str | None = None,
                    official_splits: bool = False, split_names: str | None = None) -> Recipe:
    """The recipe with command-line overrides of model, task (a registered one, a file or a Hub dataset, with
    their columns) and data sizes, each a flag in ``overrides``, and ``official_splits`` (a Hub task's own
    splits), ``split_names`` (``NAME=SPLIT,...``: more names for the splits)."""
    for flag, value, allowed in (("--model", model, "an alias such as minilm, a local folder or a Hub id"),
                                 ("--task", task, "a registered task name"),
                                 ("--data", data, "a CSV / TSV / JSONL / Parquet file"),
                                 ("--hub-dataset", hub_dataset, "a Hub dataset such as nyu-mll/glue"),
                                 ("--hub-config", hub_config, "a configuration of the dataset such as mnli"),
                                 ("--split-field", split_field, "the name of a column of the file"),
                                 ("--split-names", split_names, "NAME=SPLIT pairs, e.g. dev_matched=validation")):
        if value is not None and not value.strip():  # "" would quietly mean the recipe's own
            raise RecipeError(f"{flag} is empty; allowed: {allowed}")
    if model:
        recipe = replace(recipe, model=model, overrides={**recipe.overrides, "model": model})
    check_one_task(task, data, hub_dataset)
    if task:
        recipe = replace(recipe, task=task, overrides={**recipe.overrides, "task": task})
    if data or hub_dataset:
        recipe = _with_rows(recipe, data, hub_dataset, hub_config, text_fields, label_field, split_field)
    elif text_fields or label_field or split_field or hub_config:
        raise RecipeError("--text-fields, --label-field and --split-field go with --data FILE, and --text-fields, "
                          "--label-field and --hub-config with --hub-dataset NAME")
    if official_splits:
        if data:
            raise RecipeError("--official-splits keeps a Hub task's own splits, and a file has none; allowed: "
                              "--data FILE --split-field COLUMN (a column naming each row's split)")
        recipe = replace(recipe, data=replace(recipe.data, official_splits=True),
                         overrides={**recipe.overrides, "official_splits": True})
    if split_names:
        recipe = replace(recipe, data=replace(recipe.data, split_names=parse_split_names(split_names)),
                         overrides={**recipe.overrides, "split_names": split_names.strip()})
    sizes: dict[str, Any] = {k: v for k, v in {"n_train": n_train, "n_validation": n_validation,
                                                "n_test": n_test}.items() if v is not None}
    bad = {k: v for k, v in sizes.items() if v < 1}
    if bad:
        raise RecipeError(", ".join(f"--{k.replace('_', '-')} must be >= 1, got {v}" for k, v in bad.items()))
    return replace(recipe, data=replace(recipe.data, **sizes), overrides={**recipe.overrides, **sizes})


def check_one_task(task: str | None, data: str | None, hub_dataset: str | None) -> None:
    """Refuse more than one of ``--task``, ``--data`` and ``--hub-dataset``, naming those given."""
    given = [flag for flag, value in (("--task", task), ("--data", data), ("--hub-dataset", hub_dataset)) if value]
    if len(given) > 1:
        raise RecipeError(f"give one of --task, --data and --hub-dataset, not {' and '.join(given)}")


def _with_rows(recipe: Recipe, data: str | None, hub_dataset: str | None, hub_config: str | None,
               text_fields: str | None, label_field: str | None, split_field: str | None) -> Recipe:
    """The recipe on a file (``--data``) or a Hub dataset (``--hub-dataset``), with its columns."""
    flag = "--data" if data else "--hub-dataset"
    if not text_fields or not label_field:
        raise RecipeError(f"{flag} needs --text-fields and --label-field (the {'file' if data else 'dataset'}'s "
                          f"column names{_columns(data, hub_dataset, hub_config)})")
    fields = [f.strip() for f in text_fields.split(",") if f.strip()]
    columns: dict[str, Any] = {"text_fields": fields, "label_field": label_field}
    if recipe_kind(recipe) == "generation":  # a generation recipe's objectives and lengths are for text targets
        columns["kind"] = "generation"
    shown = {"text_fields": ",".join(fields), "label_field": label_field}
    if data:
        if hub_config:
            raise RecipeError("--hub-config goes with --hub-dataset NAME, not with --data FILE")
        split = {"split_field": split_field.strip()} if split_field else {}
        return replace(recipe, task={"file": str(Path(data)), **columns, **split},
                       name=f"{recipe.name}-{Path(data).stem}",
                       overrides={**recipe.overrides, "data": str(Path(data)), **shown, **split})
    assert hub_dataset is not None
    if split_field:
        raise RecipeError("--split-field names a file's column; a Hub dataset's own splits are kept with "
                          "--official-splits")
    config = {"config": hub_config.strip()} if hub_config else {}
    return replace(recipe, task={"hub": hub_dataset.strip(), **config, **columns},
                   name=f"{recipe.name}-{hub_task_name(hub_dataset, hub_config)}",
                   overrides={**recipe.overrides, "hub_dataset": hub_dataset.strip(),
                              **({"hub_config": hub_config.strip()} if hub_config else {}), **shown})


def recipe_kind(recipe: Recipe) -> str:
    """The kind of the recipe's task (classification or generation), which ``--data`` and ``--hub-dataset`` keep:
    the recipe's objectives, prompt and target length are for that kind."""
    from autopeft.tasks.registry import get_task

    if isinstance(recipe.task, str):
        try:
            return get_task(recipe.task).kind
        except AutopeftError:
            return "classification"
    return str(recipe.task.get("kind") or "classification")


def parse_split_names(text: str) -> dict[str, str]:
    """``--split-names``: comma-separated ``NAME=SPLIT`` pairs (whether each SPLIT is one is the task's check).

    >>> parse_split_names("validation_matched=validation, validation_mismatched=test")
    {'validation_matched': 'validation', 'validation_mismatched': 'test'}
    """
    pairs = [part.partition("=") for part in text.split(",") if part.strip()]
    bad = [name + sep + split for name, sep, split in pairs if not sep or not name.strip() or not split.strip()]
    if bad or not pairs:
        raise RecipeError(f"--split-names wants NAME=SPLIT pairs separated by commas, got {text!r}; allowed: e.g. "
                          "validation_matched=validation,validation_mismatched=test (SPLIT: train, validation or test)")
    return {name.strip(): split.strip() for name, _, split in pairs}


def _columns(data: str | None, hub_dataset: str | None, hub_config: str | None) -> str:
    """``": text, label (classes: neg, pos)"``: the columns of the file or dataset, where it can be read here
    (``""`` where it cannot: the error then says what is missing without them)."""
    try:
        source = (Source("file", str(Path(data).resolve())) if data
                  else Source("hub", str(hub_dataset).strip(), hub_config.strip() if hub_config else None))
        table = read_source(source)
    except AutopeftError:
        return ""
    shown = [f"{c} (classes: {', '.join(table.classes_of(c) or ())})" if table.classes_of(c) else c
             for c in table.columns if c != SOURCE_SPLIT]
    return f": {', '.join(shown)}"
