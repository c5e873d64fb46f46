"""Tasks and examples: what to fine-tune on and how to score it.

A :class:`Task` says which fields of a source's rows are the texts and the label, the label names, the words
a seq2seq model scores for each class (verbalizers), the prompt template and the metric; it validates itself.
:func:`~autopeft.tasks.examples.build_examples` turns a source's rows into :class:`Example` s, and
:func:`~autopeft.tasks.splits.split_examples` carves them into a :class:`~autopeft.tasks.splits.TaskData`.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from autopeft.errors import TaskError
from autopeft.tasks.sources import SOURCE_SPLIT, Source

__all__ = ["KINDS", "METRICS", "OWN_SPLITS", "REPORTED", "Example", "Task", "default_template", "split_origin"]

KINDS: tuple[str, ...] = ("classification", "generation")
#: Metrics allowed per kind; the first is the default.
METRICS: dict[str, tuple[str, ...]] = {"classification": ("accuracy",), "generation": ("rouge_l", "exact_match")}
#: The objectives a trial of each kind reports, so a search can optimise them (with ``trainable_params``): a
#: classifier's scores and calibration, a generator's text overlaps.
REPORTED: dict[str, tuple[str, ...]] = {"classification": ("accuracy", "macro_f1", "ece", "nll", "brier",
                                                           "balanced_accuracy"),
                                        "generation": ("rouge_l", "exact_match")}


@dataclass(frozen=True)
class Example:
    """One row of a task: its texts in the task's field order, the class index (-1 for generation), the target,
    and the split its source assigns it (``train``, ``validation``, ``test``; ``""``: the seeded splits decide)."""

    texts: tuple[str, ...]
    label: int
    target: str
    split: str = ""


def default_template(text_fields: Sequence[str], kind: str) -> str:
    """``"premise: {premise}\\nhypothesis: {hypothesis}\\noptions: {options}"`` (no options for generation)."""
    lines = [f"{name}: {{{name}}}" for name in text_fields]
    if kind == "classification":
        lines.append("options: {options}")
    return "\n".join(lines)


#: What a Hub dataset's own splits are called in notes, errors and status lines.
OWN_SPLITS = "the dataset's own splits"


def split_origin(split_field: str, verb: str = "") -> str:
    """What marks a task's splits, in words (with ``verb`` in the plural form, agreeing): its split column, or
    a Hub dataset's own splits.

    >>> split_origin("part", "mark"), split_origin(SOURCE_SPLIT, "mark")
    ("split column 'part' marks", "the dataset's own splits mark")
    """
    own = split_field == SOURCE_SPLIT
    subject = OWN_SPLITS if own else f"split column {split_field!r}"
    return f"{subject} {verb if own else verb + 's'}" if verb else subject


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
    split_field: str = ""                   # a column naming each row's split (train / validation / test)
    split_names: tuple[tuple[str, str], ...] = ()   # more names the split column may use: (name, split)

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
        fix("split_names", tuple((str(k), str(v)) for k, v in dict(self.split_names).items()))
        self._check_split_names()
        if self.split_field and self.split_field in (*self.text_fields, self.label_field):
            raise TaskError(f"task {self.name!r}: split_field {self.split_field!r} must be a column of its own, not a "
                            f"text field or the label field ({', '.join((*self.text_fields, self.label_field))})")
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

    def _check_split_names(self) -> None:
        bad = [f"{name}={split}" for name, split in self.split_names if split not in ("train", "validation", "test")
               or not name.strip()]
        if bad:
            raise TaskError(f"task {self.name!r}: split names {', '.join(bad)} do not name a split; allowed: "
                            "NAME=train, NAME=validation or NAME=test")
        if self.split_names and not self.split_field:
            raise TaskError(f"task {self.name!r}: split names ({', '.join(f'{k}={v}' for k, v in self.split_names)}) "
                            "rename the splits a split column or a Hub dataset marks; allowed with --split-field "
                            "COLUMN or --official-splits")

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

    def with_split_names(self, names: dict[str, str]) -> Task:
        """The task whose split column (or Hub dataset) may also name a split ``name`` for ``split`` in
        ``names`` (MNLI's ``validation_matched`` for validation)."""
        return replace(self, split_names=tuple(names.items())) if names else self

    def with_source_splits(self) -> Task:
        """The task keeping its source's own splits (a Hub dataset's ``train``, ``validation`` and ``test``, the
        official ones a benchmark reports on) instead of drawing them by seed: :mod:`autopeft.tasks.splits`
        treats them as a split column's. Only a Hub source has splits of its own."""
        if self.source.kind != "hub":
            raise TaskError(f"task {self.name!r} reads {self.source.describe()}, which has no splits of its own; "
                            "allowed: official splits with a Hub task (sst2, rte, ...), or for a file with a column "
                            "naming each row's split, --data FILE --split-field COLUMN")
        return replace(self, split_field=SOURCE_SPLIT)

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
