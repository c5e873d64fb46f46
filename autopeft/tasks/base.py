"""Tasks, examples and the seeded train/validation/test splits.

A :class:`Task` says which fields of a source's rows are the texts and the label, the label names, the words
a seq2seq model scores for each class (verbalizers), the prompt template and the metric; it validates itself.
:func:`build_examples` turns a source's rows into :class:`Example` s, :func:`split_examples` carves them into a
:class:`TaskData`.

How the splits are made (:func:`split_examples`):

1. The pool is every labelled row with non-empty texts (unlabelled rows, label ``-1`` or missing, are dropped:
   GLUE/SuperGLUE test splits). Sources marked ``deduplicate`` keep one row per normalised text
   (whitespace collapsed, case folded), with the majority label (ties: the first in source order).
2. The pool is put into one order by ``numpy.random.default_rng(seed)``. Classification is stratified: each
   class is shuffled, its ``i``-th member gets the key ``(i + u) / n_class`` with ``u ~ U[0, 1)``, and the
   pool is sorted by key, so every prefix of the order (and every window of it) holds each class in
   proportion to the pool, within one example per class. Generation tasks use a plain permutation.
3. Test is the first ``n_test`` of the order, validation the next ``n_validation``, train the next ``n_train``.
   So test never depends on ``n_train`` or ``n_validation``, and a smaller ``n_train`` is a prefix of a
   larger one (data scales 100 / 1k / 10k nest, as in Pu et al. 2023).
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autopeft.errors import TaskError
from autopeft.tasks.sources import Source, Table

__all__ = ["KINDS", "METRICS", "SPLITS", "Example", "Task", "TaskData", "build_examples", "default_split_sizes",
           "default_template", "split_examples"]

KINDS: tuple[str, ...] = ("classification", "generation")
#: Metrics allowed per kind; the first is the default.
METRICS: dict[str, tuple[str, ...]] = {"classification": ("accuracy",), "generation": ("rouge_l", "exact_match")}
SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: Default split sizes: (cap, fraction of the pool).
DEFAULT_TEST = (1000, 0.15)
DEFAULT_VALIDATION = (500, 0.10)


@dataclass(frozen=True)
class Example:
    """One row of a task: its texts in the task's field order, the class index (-1 for generation), the target."""

    texts: tuple[str, ...]
    label: int
    target: str


def default_template(text_fields: Sequence[str], kind: str) -> str:
    """``"premise: {premise}\\nhypothesis: {hypothesis}\\noptions: {options}"`` (no options for generation)."""
    lines = [f"{name}: {{{name}}}" for name in text_fields]
    if kind == "classification":
        lines.append("options: {options}")
    return "\n".join(lines)


def _template_fields(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise TaskError(f"template {template!r} is not a valid format string: {exc}") from None


@dataclass(frozen=True)
class Task:
    """A named task. Lists passed for tuple fields are turned into tuples; empty defaults are filled in.

    ``verbalizers`` default to the label names lower-cased, ``template`` to one ``field: {field}`` line per
    text field plus ``options: {options}``, ``metric`` to ``accuracy`` (classification) or ``rouge_l``.
    """

    name: str
    kind: str                               # "classification" | "generation"
    source: Source                          # where the raw rows come from
    text_fields: tuple[str, ...]            # 1 field, or 2 for pair tasks
    label_field: str                        # the class column; for generation the target text column
    label_names: tuple[str, ...] = ()       # class names in index order; () for generation
    verbalizers: tuple[str, ...] = ()       # what a seq2seq model scores per class
    template: str = ""                      # prompt for seq2seq models: text fields and {options}
    metric: str = ""                        # "accuracy" | "rouge_l" | "exact_match"
    description: str = ""

    def __post_init__(self) -> None:
        def fix(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("text_fields", "label_names", "verbalizers"):
            value = getattr(self, name)
            fix(name, (value,) if isinstance(value, str) else tuple(value))
        if not isinstance(self.name, str) or not self.name.strip():
            raise TaskError(f"task name must be a non-empty string, got {self.name!r}")
        if self.kind not in KINDS:
            raise TaskError(f"task {self.name!r}: kind {self.kind!r} is not allowed; allowed: {', '.join(KINDS)}")
        if not isinstance(self.source, Source):
            raise TaskError(f"task {self.name!r}: source must be a Source, got {type(self.source).__name__}")
        if len(self.text_fields) not in (1, 2) or not all(isinstance(f, str) and f for f in self.text_fields):
            raise TaskError(f"task {self.name!r}: text_fields {self.text_fields!r} must be 1 or 2 non-empty names")
        if len(set(self.text_fields)) != len(self.text_fields):
            raise TaskError(f"task {self.name!r}: text_fields {self.text_fields!r} repeat a name")
        if not self.label_field or self.label_field in self.text_fields:
            raise TaskError(f"task {self.name!r}: label_field {self.label_field!r} must be a non-empty name "
                            f"that is not a text field ({', '.join(self.text_fields)})")
        if self.kind == "classification":
            self._check_labels()
            if not self.verbalizers:
                fix("verbalizers", tuple(name.lower() for name in self.label_names))
            self._check_verbalizers()
        elif self.label_names or self.verbalizers:
            raise TaskError(f"task {self.name!r}: a generation task has no label_names or verbalizers, "
                            f"got {self.label_names!r} / {self.verbalizers!r}")
        if not self.metric:
            fix("metric", METRICS[self.kind][0])
        if self.metric not in METRICS[self.kind]:
            raise TaskError(f"task {self.name!r}: metric {self.metric!r} is not allowed for {self.kind}; "
                            f"allowed: {', '.join(METRICS[self.kind])}")
        if not self.template:
            fix("template", default_template(self.text_fields, self.kind))
        self._check_template()

    def _check_labels(self) -> None:
        names = self.label_names
        if len(names) < 2 or not all(isinstance(n, str) and n.strip() for n in names):
            raise TaskError(f"task {self.name!r}: label_names {names!r} must be at least 2 non-empty strings")
        if len(set(names)) != len(names):
            repeated = sorted(n for n, k in Counter(names).items() if k > 1)
            raise TaskError(f"task {self.name!r}: label_names repeat {', '.join(map(repr, repeated))}")

    def _check_verbalizers(self) -> None:
        words = self.verbalizers
        if len(words) != len(self.label_names):
            raise TaskError(f"task {self.name!r}: {len(words)} verbalizers {words!r} for {len(self.label_names)} "
                            f"labels {self.label_names!r}; give one per label")
        if not all(isinstance(w, str) and w.strip() for w in words):
            raise TaskError(f"task {self.name!r}: verbalizers {words!r} must be non-empty strings")
        if len({w.strip() for w in words}) != len(words):
            raise TaskError(f"task {self.name!r}: verbalizers {words!r} must be distinct")

    def _check_template(self) -> None:
        allowed = (*self.text_fields, "options") if self.kind == "classification" else self.text_fields
        for field in _template_fields(self.template):
            if field not in allowed:
                raise TaskError(f"task {self.name!r}: template field {{{field}}} is not allowed; "
                                f"allowed: {', '.join('{' + a + '}' for a in allowed)}")

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    def prompt(self, ex: Example) -> str:
        """The template filled with the example's texts and the verbalizers joined by ``", "``."""
        if len(ex.texts) != len(self.text_fields):
            raise TaskError(f"task {self.name!r}: example has {len(ex.texts)} texts, the task has "
                            f"{len(self.text_fields)} text fields ({', '.join(self.text_fields)})")
        values = dict(zip(self.text_fields, ex.texts, strict=True))
        return self.template.format(**values, options=", ".join(self.verbalizers))

    def encoder_inputs(self, ex: Example) -> tuple[str, ...]:
        """The raw texts for an encoder tokenizer: ``tokenizer(*task.encoder_inputs(ex))`` (a pair when 2)."""
        return ex.texts


# --- rows -> examples -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bad:
    """A raw label value outside the label set."""

    value: Any


class _LabelMapper:
    """Raw label values -> class index (None: unlabelled).

    Strings match a label name (exactly, else case-insensitively); integers (and integer strings) index the
    label names, and ``-1`` means unlabelled. When every label name is itself an integer (``"1", "2", "3"``),
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


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return (value if isinstance(value, str) else str(value)).strip()


def build_examples(task: Task, table: Table) -> tuple[tuple[Example, ...], int]:
    """The task's examples from a source's rows, and how many duplicates were dropped.

    Rows with an empty text (or an empty target) and unlabelled rows are dropped; a label outside the label
    set is an error naming up to 5 bad values.
    """
    needed = (*task.text_fields, task.label_field)
    missing = [name for name in needed if name not in table.columns]
    if missing:
        raise TaskError(f"task {task.name!r}: column(s) {', '.join(map(repr, missing))} not in {table.origin}; "
                        f"it has columns: {', '.join(table.columns)}")
    columns = [table.column(name) for name in task.text_fields]
    raw_labels = table.column(task.label_field)
    examples: list[Example] = []
    bad: dict[str, None] = {}   # the first 5 distinct bad values, in order
    n_bad = 0
    mapper = _LabelMapper(task.label_names) if task.kind == "classification" else None
    for row, raw in enumerate(raw_labels):
        texts = tuple(_text(col[row]) for col in columns)
        if not all(texts):
            continue
        if mapper is None:
            target = _text(raw)
            if target:
                examples.append(Example(texts, -1, target))
            continue
        label = mapper(raw)
        if isinstance(label, _Bad):
            n_bad += 1
            if len(bad) < 5:
                bad.setdefault(repr(label.value), None)
            continue
        if label is not None:
            examples.append(Example(texts, label, task.verbalizers[label]))
    if bad:
        raise TaskError(f"task {task.name!r}: {n_bad} row(s) with label values outside the label set in "
                        f"{table.origin}: {', '.join(bad)}; allowed: {', '.join(task.label_names)} or their "
                        f"indices 0..{task.n_classes - 1}")
    if not examples:
        raise TaskError(f"task {task.name!r}: {table.origin} has no labelled rows with non-empty "
                        f"{', '.join(task.text_fields)}")
    if not task.source.deduplicate:
        return tuple(examples), 0
    unique = _deduplicate(examples, task)
    return unique, len(examples) - len(unique)


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


# --- splits -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskData:
    """A task's fixed splits for one seed. ``pool_size`` and ``duplicates_dropped`` describe the pool."""

    task: Task
    train: tuple[Example, ...]
    validation: tuple[Example, ...]
    test: tuple[Example, ...]
    seed: int
    pool_size: int = 0
    duplicates_dropped: int = 0

    def __post_init__(self) -> None:
        for name in SPLITS:
            if not getattr(self, name):
                raise TaskError(f"task {self.task.name!r}: the {name} split is empty")

    def split(self, name: str) -> tuple[Example, ...]:
        if name not in SPLITS:
            raise TaskError(f"unknown split {name!r}; allowed: {', '.join(SPLITS)}")
        split: tuple[Example, ...] = getattr(self, name)
        return split

    def fingerprint(self) -> str:
        """A stable hex digest of the task's definition, the seed, the split sizes and every example."""
        task = self.task
        digest = hashlib.sha256()
        header = [task.name, task.kind, self.seed, [len(self.split(s)) for s in SPLITS], task.text_fields,
                  task.label_names, task.verbalizers, task.template]
        digest.update(json.dumps(header).encode())
        for name in SPLITS:
            digest.update(f"\x1d{name}".encode())
            for ex in self.split(name):
                digest.update(("\x1f".join(ex.texts) + f"\x1e{ex.label}\x1e{ex.target}\x1c").encode())
        return digest.hexdigest()

    def summary(self) -> dict[str, Any]:
        """``{"task", "seed", "pool", "duplicates_dropped", "splits": {split: {"size", "labels": {name: n}}}}``."""
        splits: dict[str, Any] = {}
        for name in SPLITS:
            examples = self.split(name)
            counts = Counter(ex.label for ex in examples)
            labels = {label: counts.get(i, 0) for i, label in enumerate(self.task.label_names)}
            splits[name] = {"size": len(examples), "labels": labels}
        return {"task": self.task.name, "seed": self.seed, "pool": self.pool_size,
                "duplicates_dropped": self.duplicates_dropped, "splits": splits}


def _size(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise TaskError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def default_split_sizes(pool: int) -> tuple[int, int]:
    """(n_test, n_validation) for a pool: min(1000, 15%) and min(500, 10%), at least 1 each."""
    n_test = min(DEFAULT_TEST[0], max(1, int(pool * DEFAULT_TEST[1])))
    n_validation = min(DEFAULT_VALIDATION[0], max(1, int(pool * DEFAULT_VALIDATION[1])))
    return n_test, n_validation


def _order(task: Task, examples: Sequence[Example], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if task.kind != "classification":
        return rng.permutation(len(examples))
    labels = np.fromiter((ex.label for ex in examples), dtype=np.int64, count=len(examples))
    keys = np.empty(len(examples), dtype=np.float64)
    for label in range(task.n_classes):
        members = rng.permutation(np.flatnonzero(labels == label))
        jitter = rng.random(len(members))
        keys[members] = (np.arange(len(members)) + jitter) / max(len(members), 1)
    return np.lexsort((labels, keys))


def split_examples(task: Task, examples: Sequence[Example], *, seed: int = 0, n_train: int | None = None,
                   n_validation: int | None = None, n_test: int | None = None,
                   duplicates_dropped: int = 0) -> TaskData:
    """Carve the pool into test, then validation, then train (see the module docstring)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TaskError(f"seed must be an integer >= 0, got {seed!r}")
    sizes = {name: _size(name, value) for name, value in
             (("n_train", n_train), ("n_validation", n_validation), ("n_test", n_test))}
    pool = len(examples)
    default_test, default_validation = default_split_sizes(pool)
    n_te = sizes["n_test"] or default_test
    n_va = sizes["n_validation"] or default_validation
    left = pool - n_te - n_va
    if left < 1:
        raise TaskError(f"task {task.name!r}: the pool has {pool} examples; n_test={n_te} and n_validation={n_va} "
                        f"leave none for train")
    n_tr = sizes["n_train"] or left
    if n_tr > left:
        raise TaskError(f"task {task.name!r}: n_train={n_tr} is more than the {left} examples available after "
                        f"test ({n_te}) and validation ({n_va}); allowed: 1..{left}")
    order = _order(task, examples, int(seed))

    def take(start: int, stop: int) -> tuple[Example, ...]:
        return tuple(examples[i] for i in order[start:stop])

    return TaskData(task=task, test=take(0, n_te), validation=take(n_te, n_te + n_va),
                    train=take(n_te + n_va, n_te + n_va + n_tr), seed=int(seed), pool_size=pool,
                    duplicates_dropped=duplicates_dropped)
