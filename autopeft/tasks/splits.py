"""The seeded train/validation/test splits of a task's examples.

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
4. A task with a ``split_field`` (a column naming each row's split: a benchmark's official test set, a team's
   fixed held-out file) keeps those splits: each split the column names is that split, put in the same seeded
   order and cut to its ``n_*`` only when it has more rows (the sizes are caps here); a split it names no row of
   is carved from the train rows as in 3; train is what is left, also cut to ``n_train`` when it has more. A Hub
   task with official splits (``Task.with_source_splits``) is read the same way, its dataset's split names standing
   for the column.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autopeft.errors import TaskError
from autopeft.tasks.base import OWN_SPLITS, Example, Task, split_origin
from autopeft.tasks.sources import SOURCE_SPLIT

__all__ = ["SPLITS", "Dropped", "TaskData", "default_split_sizes", "describe_splits", "split_examples"]

SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: Default split sizes: (cap, fraction of the pool).
DEFAULT_TEST = (1000, 0.15)
DEFAULT_VALIDATION = (500, 0.10)


@dataclass(frozen=True)
class Dropped:
    """How many of a source's rows are not in the pool, and why."""

    without_text: int = 0   # an empty or missing text (or, for generation, an empty target)
    unlabelled: int = 0     # a missing label, or -1
    duplicates: int = 0     # a repeat of another row's normalised text (sources marked ``deduplicate``)

    @property
    def total(self) -> int:
        return self.without_text + self.unlabelled + self.duplicates

    def to_dict(self) -> dict[str, int]:
        return {"without_text": self.without_text, "unlabelled": self.unlabelled, "duplicates": self.duplicates}

    def describe(self) -> str:
        """``"24 with an empty text, 3 unlabelled"``: the non-zero reasons ("" when none)."""
        return describe_dropped(self.to_dict())


def describe_dropped(counts: dict[str, Any]) -> str:
    """The non-zero counts of :meth:`Dropped.to_dict` (as journaled) in words.

    >>> describe_dropped({"without_text": 24, "unlabelled": 0, "duplicates": 1})
    '24 with an empty text, 1 duplicate'
    >>> Dropped(unlabelled=3, duplicates=2).describe()
    '3 unlabelled, 2 duplicates'
    """
    words = {"without_text": ("with an empty text",) * 2, "unlabelled": ("unlabelled",) * 2,
             "duplicates": ("duplicate", "duplicates")}
    return ", ".join(f"{int(counts[key])} {word[int(counts[key]) != 1]}" for key, word in words.items()
                     if counts.get(key))


@dataclass(frozen=True)
class TaskData:
    """A task's fixed splits for one seed. ``pool_size`` and ``dropped`` describe the pool: the source had
    ``pool_size + dropped.total`` rows."""

    task: Task
    train: tuple[Example, ...]
    validation: tuple[Example, ...]
    test: tuple[Example, ...]
    seed: int
    pool_size: int = 0
    dropped: Dropped = Dropped()
    #: validation or test -> the rows a split column gave it before its ``n_*`` cut it (those cut; results scored on
    #: a cut split are not comparable with others' on the whole one, so the note says so)
    capped: Mapping[str, int] = field(default_factory=dict)

    @property
    def duplicates_dropped(self) -> int:
        return self.dropped.duplicates

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

    def given(self) -> list[str]:
        """The splits the task's split column made (the others were drawn by the seeded order)."""
        return [name for name in SPLITS if self.task.split_field and any(ex.split == name for ex in self.split(name))]

    def notes(self) -> list[str]:
        """What a user should know about the splits before a search: rows left out of the pool and why (a
        deduplicated source drops repeats by design, so those are not named), the sizes a split column made, and
        the splits that lack a class (:meth:`class_notes`)."""
        notes = []
        left_out = Dropped(self.dropped.without_text, self.dropped.unlabelled)
        if left_out.total:
            rows = self.pool_size + self.dropped.total
            notes.append(f"{left_out.total} of the {rows} rows of task {self.task.name!r} are not used "
                         f"({left_out.describe()}); the splits are drawn from the {self.pool_size} examples left")
        if self.task.split_field:
            notes.append(self.given_note())
        return notes + self.class_notes()

    def given_note(self) -> str:
        """The split sizes a split column made, and the splits drawn from its train rows because it marks none."""
        sizes = ", ".join(f"{len(self.split(name))} {name}" for name in SPLITS)
        drawn = [name for name in ("test", "validation") if name not in self.given()]
        why = f" ({' and '.join(drawn)} drawn from the rows marked train: no usable row is marked so)" if drawn else ""
        column = self.task.split_field
        origin = OWN_SPLITS if column == SOURCE_SPLIT else f"the splits of column {column!r}"
        cut = "; ".join(f"{name} cut to {len(self.split(name))} of its {n} rows by n_{name} (--n-{name} {n} keeps "
                        "them all)" for name, n in self.capped.items())
        return f"{origin}: {sizes}{why}" + (f"; {cut}" if cut else "")

    def class_notes(self) -> list[str]:
        """What a split that lacks classes means: no trial can learn a class train lacks; a validation or test
        split without a class cannot tell how a model does on it (with one class left, always answering it
        scores 1.0 there, which is what the search's chance level then is).

        >>> from autopeft.tasks.base import Example, Task
        >>> from autopeft.tasks.sources import Source
        >>> task = Task("t", "classification", Source("file", "f.csv"), ("text",), "label", ("neg", "pos"))
        >>> a, b = Example(("a",), 0, "neg"), Example(("b",), 1, "pos")
        >>> (note,) = TaskData(task, train=(a, b), validation=(b,), test=(a, b), seed=0).class_notes()
        >>> note[:75]
        "class 'neg' has no example in the validation split (1 examples): the search"
        >>> note[75:143]
        ' cannot tell how a model does on it, and its at-chance level is 1.0;'
        """
        notes = []
        for split in SPLITS:
            missing = self.classes_missing(split)
            if not missing:
                continue
            names, it = (f"class {missing[0]!r} has", "it") if len(missing) == 1 else \
                (f"classes {', '.join(map(repr, missing))} have", "them")
            size = f"{names} no example in the {split} split ({len(self.split(split))} examples)"
            if split == "train":
                notes.append(f"{size}, so no trial can learn {it}; the data needs more examples of {it}")
                continue
            whom = "the search" if split == "validation" else "finalize"
            chance = (", and its at-chance level is 1.0" if split == "validation" and
                      len(missing) == self.task.n_classes - 1 else "")
            notes.append(f"{size}: {whom} cannot tell how a model does on {it}{chance}; the {split} split needs "
                         "examples of every class")
        return notes

    def classes_missing(self, split: str = "train") -> tuple[str, ...]:
        """The classes of a classification task with no example in ``split`` (none for generation tasks)."""
        if self.task.kind != "classification":
            return ()
        present = {ex.label for ex in self.split(split)}
        return tuple(name for i, name in enumerate(self.task.label_names) if i not in present)

    def summary(self) -> dict[str, Any]:
        """``{"task", "seed", "pool", "split_field", "given", "capped", "duplicates_dropped", "dropped":
        Dropped.to_dict(), "splits": {split: {"size", "labels": {name: n}}}}``."""
        splits: dict[str, Any] = {}
        for name in SPLITS:
            examples = self.split(name)
            counts = Counter(ex.label for ex in examples)
            labels = {label: counts.get(i, 0) for i, label in enumerate(self.task.label_names)}
            splits[name] = {"size": len(examples), "labels": labels}
        return {"task": self.task.name, "seed": self.seed, "pool": self.pool_size,
                "split_field": self.task.split_field or None, "given": self.given(), "capped": dict(self.capped),
                "duplicates_dropped": self.duplicates_dropped, "dropped": self.dropped.to_dict(), "splits": splits}


def describe_splits(recipe: Mapping[str, Any], made: Mapping[str, Any] | None) -> str:
    """A run's split sizes in words: as the search made them (``made``: :meth:`TaskData.summary`, journaled since
    autopeft kept it), else as the recipe's ``data`` asked (``status`` and the report's ``data`` row)."""
    if not made:
        return (f"{recipe.get('n_train') or 'all remaining'} train / {recipe.get('n_validation')} validation / "
                f"{recipe.get('n_test')} test examples (data seed {recipe.get('seed')})")
    sizes = {name: split["size"] for name, split in made["splits"].items()}
    dropped = made.get("dropped") or {}
    rows = int(made["pool"]) + sum(int(n) for n in dropped.values())
    why = f": {rows} rows less {describe_dropped(dropped)}" if any(dropped.values()) else ""
    given = [n for n in made.get("given") or () if n != "train"]
    marks = (f"{OWN_SPLITS} mark" if made.get("split_field") == SOURCE_SPLIT
             else f"column {made.get('split_field')!r} of the file marks")
    column = (f"; {' and '.join(given) or 'no split'} as {marks} {'them' if len(given) > 1 else 'it'}"
              if made.get("split_field") else "")
    return (f"{sizes['train']} train / {sizes['validation']} validation / {sizes['test']} test examples (data seed "
            f"{made['seed']}{column}; drawn from {made['pool']} examples{why})")


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


def _fitting(pool: int) -> str:
    """``"; e.g. --n-train 90 --n-validation 12 --n-test 18 fit these 120"``: sizes that fit a pool (the default
    shares of :func:`default_split_sizes`, train the rest), so a size error is fixed in one go; ``""`` for a pool
    too small to split three ways."""
    n_test, n_validation = default_split_sizes(pool)
    n_train = pool - n_test - n_validation
    if n_train < 1:
        return ""
    return f"; e.g. --n-train {n_train} --n-validation {n_validation} --n-test {n_test} fit these {pool}"


def _given_splits(task: Task, examples: Sequence[Example], seed: int, sizes: dict[str, int | None],
                  dropped: Dropped) -> TaskData:
    """The splits a task's split column assigns. A split it names is that split, in the seeded order, cut to its
    ``n_*`` when it has more rows; a split it names no row of is carved from the train rows as without the column
    (test first, then validation); train is what is left, cut to ``n_train`` when it has more."""
    groups = {name: [ex for ex in examples if ex.split == name] for name in SPLITS}
    if not groups["train"]:
        marked = ", ".join(f"{len(v)} {k}" for k, v in groups.items() if v) or "none"
        raise TaskError(f"task {task.name!r}: {split_origin(task.split_field, 'mark')} no usable row train "
                        f"({marked}); allowed: "
                        + ("a dataset with a labelled train split" if task.split_field == SOURCE_SPLIT
                           else "a column that marks the training rows train"))
    pool = [groups["train"][i] for i in _order(task, groups["train"], seed)]
    default_test, default_validation = default_split_sizes(len(pool))
    out: dict[str, tuple[Example, ...]] = {}
    capped: dict[str, int] = {}
    for name, default in (("test", default_test), ("validation", default_validation)):
        cap = sizes[f"n_{name}"]
        if groups[name]:
            ordered = [groups[name][i] for i in _order(task, groups[name], seed)]
            out[name] = tuple(ordered[:cap] if cap else ordered)
            if len(out[name]) < len(ordered):
                capped[name] = len(ordered)
            continue
        n = cap or default
        if n >= len(pool):
            raise TaskError(f"task {task.name!r}: {split_origin(task.split_field, 'mark')} no row {name}, and the "
                            f"{len(pool)} train rows left cannot give {n} {name} examples and keep one for train; "
                            f"allowed: rows marked {name}, or n_{name} below {len(pool)} (--n-{name})")
        out[name], pool = tuple(pool[:n]), pool[n:]
    return TaskData(task=task, test=out["test"], validation=out["validation"], train=tuple(pool[:sizes["n_train"]]),
                    seed=seed, pool_size=len(examples), dropped=dropped,
                    capped={name: capped[name] for name in SPLITS if name in capped})


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
                   dropped: Dropped | None = None) -> TaskData:
    """Carve the pool into test, then validation, then train (see the module docstring); ``dropped``: the
    source's rows that are not in the pool, named in the errors and kept on the result."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TaskError(f"seed must be an integer >= 0, got {seed!r}")
    sizes = {name: _size(name, value) for name, value in
             (("n_train", n_train), ("n_validation", n_validation), ("n_test", n_test))}
    if task.split_field:
        return _given_splits(task, examples, int(seed), sizes, dropped or Dropped())
    pool, dropped = len(examples), dropped or Dropped()
    why = f", from {pool + dropped.total} rows less {dropped.describe()}" if dropped.total else ""
    default_test, default_validation = default_split_sizes(pool)
    n_te = sizes["n_test"] or default_test
    n_va = sizes["n_validation"] or default_validation
    left = pool - n_te - n_va
    if left < 1:
        raise TaskError(f"task {task.name!r}: the pool has {pool} examples{why}; n_test={n_te} and n_validation={n_va} "
                        f"leave none for train; allowed: n_test + n_validation below {pool} (the recipe's data, or "
                        f"--n-test and --n-validation){_fitting(pool)}")
    n_tr = sizes["n_train"] or left
    if n_tr > left:
        raise TaskError(f"task {task.name!r}: n_train={n_tr} is more than the {left} examples available after "
                        f"test ({n_te}) and validation ({n_va}); allowed: 1..{left} (data.n_train in the recipe, "
                        f"or --n-train), or smaller test and validation splits ({pool} examples in all{why})"
                        f"{_fitting(pool)}")
    order = _order(task, examples, int(seed))

    def take(start: int, stop: int) -> tuple[Example, ...]:
        return tuple(examples[i] for i in order[start:stop])

    return TaskData(task=task, test=take(0, n_te), validation=take(n_te, n_te + n_va),
                    train=take(n_te + n_va, n_te + n_va + n_tr), seed=int(seed), pool_size=pool,
                    dropped=dropped)
