"""A source's rows -> a task's :class:`~autopeft.tasks.base.Example` s: labels mapped to class indices, unlabelled
and empty rows dropped, and (for sources marked ``deduplicate``) one row per normalised text."""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autopeft.errors import TaskError
from autopeft.tasks.base import Example, Task
from autopeft.tasks.sources import SOURCE_SPLIT
from autopeft.tasks.splits import Dropped
from autopeft.tasks.table import Table

__all__ = ["SPLIT_NAMES", "build_examples", "prediction_examples"]

#: What a split column may say, case and surrounding spaces aside, and the split each value names.
SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
               "val": "validation", "dev": "validation", "test": "test"}


#: Marks a Hub dataset's split that is none of :data:`SPLIT_NAMES` (``"?validation_matched"``).
_UNPLACED = "?"


@dataclass(frozen=True)
class _Bad:
    """A raw label value outside the label set."""

    value: Any


class _LabelMapper:
    """Raw label values -> class index (None: unlabelled).

    Strings match a label name (exactly, else case-insensitively), and so does a number written as one (a
    ``0.5`` label is the name ``"0.5"``); other integers (and integer strings) index the label names, and ``-1``
    means unlabelled. When every label name is itself an integer (``"1", "2", "3"``),
    an integer label is that name, not an index.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.exact = {name: i for i, name in enumerate(names)}
        self.folded = {name.casefold(): i for i, name in enumerate(names)}
        self.numeric_names = all(_as_int(name) is not None for name in names)
        self.n = len(names)

    def __call__(self, value: Any) -> int | _Bad | None:
        """The index, ``None`` for unlabelled, or the value wrapped in ``_Bad`` when outside the set."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, str):
            text = value.strip()
            if text in self.exact:
                return self.exact[text]
            if text.casefold() in self.folded:
                return self.folded[text.casefold()]
            number = _as_int(text)
            return _Bad(value) if number is None else self._from_int(number, value)
        if isinstance(value, (bool, np.bool_)):
            folded = str(bool(value)).casefold()
            return self.folded[folded] if folded in self.folded else self._from_int(int(value), value)
        if str(value) in self.exact:  # a number that is itself a label name: 0.5 is "0.5", 1.0 is "1.0"
            return self.exact[str(value)]
        number = _as_int(value)
        return _Bad(value) if number is None else self._from_int(number, value)

    def _from_int(self, number: int, raw: Any) -> int | _Bad | None:
        if self.numeric_names:
            return self.exact.get(str(number), _Bad(raw))
        if number == -1:
            return None
        return number if 0 <= number < self.n else _Bad(raw)


def _as_int(value: Any) -> int | None:
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.lstrip("+-").isdigit() else None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return operator.index(value)
    except TypeError:
        return None


def check_flat(value: Any, column: str, row: int, origin: str, what: str = "text") -> None:
    """Refuse a cell that holds a mapping or list (a nested JSON field): its Python repr would be taken for the
    text or the class label. ``row`` counts from 0."""
    if isinstance(value, (dict, list, tuple, np.ndarray)):
        kind = "mapping" if isinstance(value, dict) else "list"
        raise TaskError(f"column {column!r} of {origin} holds a {kind} in row {row + 1} ({str(value)[:60]}), not "
                        f"{what}; allowed: one text or number in every row (flatten the field into its own column)")


def _text(value: Any, column: str, row: int, origin: str) -> str:
    """A cell as stripped text ("" when missing); see :func:`check_flat`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    check_flat(value, column, row, origin)
    return (value if isinstance(value, str) else str(value)).strip()


def build_examples(task: Task, table: Table) -> tuple[tuple[Example, ...], Dropped]:
    """The task's examples from a source's rows, and how many rows were dropped, and why.

    Rows with an empty text (or an empty target) and unlabelled rows are dropped; a label outside the label
    set is an error naming up to 5 bad values.
    """
    needed = (*task.text_fields, task.label_field, *([task.split_field] if task.split_field else []))
    missing = [name for name in needed if name not in table.columns]
    if missing:
        raise TaskError(f"task {task.name!r}: column(s) {', '.join(map(repr, missing))} not in {table.origin}; "
                        f"it has columns: {', '.join(table.columns)}")
    columns = [table.column(name) for name in task.text_fields]
    raw_labels = table.column(task.label_field)
    splits = _split_column(task, table) if task.split_field else ("",) * len(raw_labels)
    examples: list[Example] = []
    bad: dict[str, None] = {}   # the first 5 distinct bad values, in order
    n_bad = without_text = unlabelled = 0
    mapper = _LabelMapper(task.label_names) if task.kind == "classification" else None
    for row, raw in enumerate(raw_labels):
        texts = tuple(_text(col[row], name, row, table.origin)
                      for name, col in zip(task.text_fields, columns, strict=True))
        if not all(texts):
            without_text += 1
            continue
        if mapper is None:
            target = _text(raw, task.label_field, row, table.origin)
            if target:
                examples.append(Example(texts, -1, target, splits[row]))
            else:
                without_text += 1
            continue
        label = mapper(raw)
        if isinstance(label, _Bad):
            n_bad += 1
            if len(bad) < 5:
                bad.setdefault(repr(label.value), None)
            continue
        if label is None:
            unlabelled += 1
        else:
            examples.append(Example(texts, label, task.verbalizers[label], splits[row]))
    _check_placed(task, examples, table.origin)
    if bad:
        raise TaskError(f"task {task.name!r}: {n_bad} row(s) with label values outside the label set in "
                        f"{table.origin}: {', '.join(bad)}; allowed: {', '.join(task.label_names)} or their "
                        f"indices 0..{task.n_classes - 1}")
    if not examples:
        counts = Dropped(without_text, unlabelled).describe() or "no rows"
        raise TaskError(f"task {task.name!r}: {table.origin} has no labelled rows with non-empty "
                        f"{', '.join(task.text_fields)} (its {len(raw_labels)} rows: {counts})")
    if not task.source.deduplicate:
        return tuple(examples), Dropped(without_text, unlabelled)
    unique = _deduplicate(examples, task)
    return unique, Dropped(without_text, unlabelled, len(examples) - len(unique))


def _split_column(task: Task, table: Table) -> tuple[str, ...]:
    """Each row's split as the task's split column names it (:data:`SPLIT_NAMES`); an error naming up to 5 values
    it cannot read, or the rows that name none. A Hub dataset's own split that is none of these is kept as
    ``"?name"``: :func:`build_examples` refuses it only where it holds labelled rows (an unlabelled split, such as
    IMDB's ``unsupervised``, is left out with the other unlabelled rows)."""
    values = table.column(task.split_field)
    names = {**SPLIT_NAMES, **{name.strip().casefold(): split for name, split in task.split_names}}
    out: list[str] = []
    bad: dict[str, None] = {}
    empty = 0
    for row, value in enumerate(values):
        text = _text(value, task.split_field, row, table.origin)
        name = names.get(text.casefold())
        if not text:
            empty += 1
        elif name is None and task.split_field == SOURCE_SPLIT:
            name = _UNPLACED + text
        elif name is None:
            bad.setdefault(repr(value), None)
        out.append(name or "")
    if bad or empty:
        what = ", ".join(list(bad)[:5]) if bad else f"{empty} empty cell(s)"
        raise TaskError(f"task {task.name!r}: split column {task.split_field!r} of {table.origin} has {what}; "
                        f"allowed in every row: {', '.join(names)} (train, validation or test; more with --split-names "
                        "NAME=SPLIT)")
    return tuple(out)


def _check_placed(task: Task, examples: Sequence[Example], origin: str) -> None:
    """Refuse labelled rows in a Hub dataset's split that official splits cannot place, naming the splits."""
    unplaced = sorted({ex.split[1:] for ex in examples if ex.split.startswith(_UNPLACED)})
    if unplaced:
        raise TaskError(f"task {task.name!r}: {origin} has labelled rows in the split(s) "
                        f"{', '.join(map(repr, unplaced))}, which official splits cannot place; allowed split names: "
                        f"{', '.join(SPLIT_NAMES)} (train, validation or test), or others named with --split-names "
                        f"NAME=SPLIT (--split-names {unplaced[0]}=validation)")


def prediction_examples(task: Task, table: Table, columns: Sequence[str],
                        label_column: str | None = None) -> list[Example | None]:
    """One entry per row of ``table``, in order, for a model to predict: the row as an example of ``task`` (its
    texts from ``columns``, which stand for the task's text fields in order; the class index of ``label_column``'s
    value, -1 where it is empty or there is no such column; for generation its text as the target), or ``None``
    for a row with an empty text, which has nothing to predict from. A label outside the task's label set is an
    error naming up to 5 such values, as :func:`build_examples` gives."""
    if len(columns) != len(task.text_fields):
        raise TaskError(f"{len(columns)} text column(s) {', '.join(map(repr, columns))} for a task of "
                        f"{len(task.text_fields)} text field(s) ({', '.join(task.text_fields)}); allowed: one column "
                        "per text field, in that order")
    texts = [table.column(name) for name in columns]
    raw = table.column(label_column) if label_column is not None else (None,) * len(table)
    mapper = _LabelMapper(task.label_names) if task.kind == "classification" else None
    out: list[Example | None] = []
    bad: dict[str, None] = {}
    for row, value in enumerate(raw):
        cells = tuple(_text(col[row], name, row, table.origin) for name, col in zip(columns, texts, strict=True))
        if not all(cells):
            out.append(None)
            continue
        if mapper is None:
            target = _text(value, label_column or "", row, table.origin) if label_column is not None else ""
            out.append(Example(cells, -1, target))
            continue
        label = mapper(value)
        if isinstance(label, _Bad):
            bad.setdefault(repr(label.value), None)
            label = None
        out.append(Example(cells, -1 if label is None else label, ""))
    if bad:
        shown = ", ".join(list(bad)[:5])
        raise TaskError(f"column {label_column!r} of {table.origin} has label values outside the model's classes: "
                        f"{shown}; allowed: {', '.join(task.label_names)} or their indices "
                        f"0..{task.n_classes - 1} (or an empty cell)")
    return out


def _deduplicate(examples: list[Example], task: Task) -> tuple[Example, ...]:
    """One example per normalised text tuple, with the majority label (ties: first seen), in first-seen order."""
    groups: dict[tuple[str, ...], list[Example]] = {}
    for ex in examples:
        groups.setdefault(tuple(" ".join(t.split()).casefold() for t in ex.texts), []).append(ex)
    kept: list[Example] = []
    for members in groups.values():
        if len(members) == 1 or task.kind == "generation":
            kept.append(members[0])
            continue
        votes = Counter(ex.label for ex in members)
        best = max(votes.values())
        kept.append(next(ex for ex in members if votes[ex.label] == best))
    return tuple(kept)
