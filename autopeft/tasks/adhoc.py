"""Tasks a user defines rather than picks from the registry: over a local file (:func:`task_from_file`) or any
Hugging Face Hub dataset (:func:`task_from_hub`), checked against their rows when made.

Both name the text column(s) and the label column. A classification task's class names are, unless given, the
names a Hub dataset declares for its label column (a ``ClassLabel``), else the sorted distinct label values; a
column that reads as free text (most values distinct) is refused with the generation task it probably is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autopeft.errors import TaskError
from autopeft.tasks.base import KINDS, Task
from autopeft.tasks.examples import build_examples, check_flat
from autopeft.tasks.sources import FILE_FORMATS, SOURCE_SPLIT, Source, read_source
from autopeft.tasks.table import Table

__all__ = ["FREE_TEXT_CLASSES", "hub_task_name", "task_from_file", "task_from_hub"]

#: A label column with more distinct values than this, and more than half as many as its rows, is text.
FREE_TEXT_CLASSES = 20


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (isinstance(value, str) and not value.strip())


def _label_names_from(values: Sequence[Any]) -> tuple[str, ...]:
    """Sorted distinct label values as strings (numerically when all are integers)."""
    distinct = {str(v).strip() for v in values if not _is_missing(v)}
    if all(name.lstrip("+-").isdigit() for name in distinct):
        return tuple(sorted(distinct, key=int))
    return tuple(sorted(distinct))


def _separator_hint(columns: Sequence[str], file: Path) -> str:
    """A hint when a file read as one column looks split by another separator (a ';' CSV from a spreadsheet)."""
    if len(columns) != 1 or file.suffix.lower() not in (".csv", ".tsv"):
        return ""
    found = next((sep for sep in (";", "\t", ",", "|") if sep in columns[0]), None)
    if found is None:
        return ""
    name = {";": "';'", "\t": "tab", ",": "','", "|": "'|'"}[found]
    if found == "\t" and file.suffix.lower() == ".csv":
        return f" (one column: the file looks tab-separated; named {file.stem}.tsv it is read as such)"
    return (f" (one column: the file looks {name}-separated; allowed: comma-separated .csv, tab-separated .tsv, "
            "or JSONL / Parquet)")


def task_from_file(path: str | Path, *, text_fields: str | Sequence[str], label_field: str,
                   label_names: Sequence[str] | None = None, kind: str = "classification",
                   template: str | None = None, verbalizers: Sequence[str] | None = None, name: str | None = None,
                   metric: str | None = None, split_field: str | None = None,
                   split_names: dict[str, str] | None = None) -> Task:
    """A task over a local CSV / TSV / JSONL / Parquet file, checked against the file now.

    ``label_names`` default to the sorted distinct label values; integer labels index ``label_names`` when
    given. For ``kind="generation"``, ``label_field`` is the target text and the metric defaults to ``rouge_l``.
    ``split_field``: a column naming each row's split (train, validation or test; :mod:`autopeft.tasks.splits`),
    and ``split_names`` more names it may use (``{"holdout": "test"}``).

    >>> task = task_from_file("reviews.csv", text_fields="text", label_field="label")   # doctest: +SKIP
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise TaskError(f"data file {str(file)!r} does not exist")
    if file.suffix.lower() not in FILE_FORMATS:
        raise TaskError(f"data file {str(file)!r} has an unsupported extension {file.suffix or '(none)'!r}; "
                        f"allowed: {', '.join(FILE_FORMATS)}")
    task_name = name or file.stem
    source = Source("file", str(file.resolve()))
    table = read_source(source, task=task_name)
    return _checked(table, (task_name, source, f"local file {file.name}"),
                    what=(f"data file {str(file)!r}", "the file", f"file: {file.name}"),
                    hint=_separator_hint(table.columns, file), text_fields=text_fields, label_field=label_field,
                    label_names=label_names, kind=kind, template=template, verbalizers=verbalizers, metric=metric,
                    split_field=split_field, split_names=split_names)


def task_from_hub(path: str, config: str | None = None, *, text_fields: str | Sequence[str], label_field: str,
                  label_names: Sequence[str] | None = None, kind: str = "classification",
                  template: str | None = None, verbalizers: Sequence[str] | None = None, name: str | None = None,
                  metric: str | None = None) -> Task:
    """A task over any Hugging Face Hub dataset (``datasets.load_dataset(path, config)``, every split pooled,
    or kept with official splits), checked against its rows now; the name defaults to ``<dataset>-<config>``.

    ``label_names`` default to the names the dataset declares for ``label_field`` (a ``ClassLabel``: its
    integers index them, -1 is unlabelled), else to the sorted distinct values, as for a file.

    >>> task = task_from_hub("nyu-mll/glue", "mnli", text_fields=["premise", "hypothesis"],
    ...                      label_field="label")                                          # doctest: +SKIP
    """
    for key, value in (("hub", path), ("config", config)):
        if (value is not None or key == "hub") and (not isinstance(value, str) or not value.strip()):
            allowed = "a Hub dataset such as nyu-mll/glue" if key == "hub" else "a configuration name such as mnli"
            raise TaskError(f"Hub task: {key} must be {allowed}, got {value!r}")
    task_name = name or hub_task_name(path, config)
    source = Source("hub", path.strip(), config.strip() if config else None)
    table = read_source(source, task=task_name)
    where = f"the Hub dataset {path}" + (f"/{config}" if config else "")
    spec = f"hub: {path}" + (f", config: {config}" if config else "")
    return _checked(table, (task_name, source, f"Hub dataset {where.rsplit(' ', 1)[-1]}"),
                    what=(where, "the dataset", spec), hint="", text_fields=text_fields, label_field=label_field,
                    label_names=label_names, kind=kind, template=template, verbalizers=verbalizers, metric=metric,
                    split_field=None, split_names=None)


def hub_task_name(path: str, config: str | None) -> str:
    """A Hub task's default name: the dataset's name, and its configuration's.

    >>> hub_task_name("nyu-mll/glue", "mnli"), hub_task_name("fancyzhx/ag_news", None)
    ('glue-mnli', 'ag_news')
    """
    return f"{path.strip().rstrip('/').rsplit('/', 1)[-1]}{f'-{config.strip()}' if config else ''}"


def _checked(table: Table, base: tuple[str, Source, str], *, what: tuple[str, str, str], hint: str,
             text_fields: str | Sequence[str], label_field: str, label_names: Sequence[str] | None, kind: str,
             template: str | None, verbalizers: Sequence[str] | None, metric: str | None,
             split_field: str | None, split_names: dict[str, str] | None) -> Task:
    """The task over ``table`` (``base``: its name, source and description; ``what``: the rows' origin, how to
    call it as the subject of "has columns", and the recipe's task line), checked against every row."""
    name, source, description = base
    where, subject, spec = what
    fields = (text_fields,) if isinstance(text_fields, str) else tuple(text_fields)
    missing = [f for f in (*fields, label_field, *([split_field] if split_field else [])) if f not in table.columns]
    if missing:
        raise TaskError(f"column(s) {', '.join(map(repr, missing))} not in {where}; {subject} has columns: "
                        f"{', '.join(c for c in table.columns if c != SOURCE_SPLIT)}{hint}")
    if kind == "classification" and label_names is None:
        label_names = table.classes_of(label_field) or _names_from_values(table, label_field, where, spec)
    if kind not in KINDS:
        raise TaskError(f"task {name!r}: kind {kind!r} is not allowed; allowed: {', '.join(KINDS)}")
    task = Task(name=name, kind=kind, source=source, text_fields=fields, label_field=label_field,
                label_names=tuple(label_names or ()), verbalizers=tuple(verbalizers or ()), template=template or "",
                metric=metric or "", description=description, split_field=split_field or "",
                split_names=tuple((split_names or {}).items()))
    build_examples(task, table)  # labels outside the set, or no usable row, fail here rather than mid-search
    return task


def _names_from_values(table: Table, label_field: str, where: str, spec: str) -> tuple[str, ...]:
    """The class names a label column's values give: at least 2, and not free text."""
    for row, value in enumerate(table.column(label_field)):
        check_flat(value, label_field, row, where, what="a class label")
    names = _label_names_from(table.column(label_field))
    if len(names) < 2:
        raise TaskError(f"label column {label_field!r} of {where.removeprefix('data file ')} has {len(names)} "
                        f"distinct value(s) {names!r}; a classification task needs at least 2")
    rows = sum(1 for v in table.column(label_field) if not _is_missing(v))
    if len(names) > FREE_TEXT_CLASSES and 2 * len(names) > rows:
        raise TaskError(f"label column {label_field!r} of {where.removeprefix('data file ')} has {len(names)} "
                        f"distinct values in {rows} rows, so most classes would have one example: it reads as free "
                        "text; allowed: a column of class labels (a recipe's task may list them in label_names), or "
                        f"for text targets a generation task (a recipe with task: {{{spec}, kind: generation, "
                        f"text_fields: [...], label_field: {label_field}}} and objectives: [rouge_l, "
                        "trainable_params])")
    return names
