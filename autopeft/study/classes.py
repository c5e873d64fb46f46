"""Per-class results: a run's class names, the classes a trial lost, and the per-class test table of its
finalized points, from the confusion matrices the trial records keep. numpy only (no torch, no scikit-learn), so
``pareto`` and ``report`` can use it."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

import autopeft.metrics as M
from autopeft.errors import AutopeftError
from autopeft.study.journal import Journal, Trial
from autopeft.trial import TrialResult


def finalized_groups(journal: Journal) -> list[tuple[str, list[Trial]]]:
    """(``finalize:N``, its complete seeds) for each finalized trial N, in trial order."""
    groups: dict[str, list[Trial]] = {}
    for t in journal.trials(phase="finalize", states=("complete",)):
        groups.setdefault(t.origin, []).append(t)
    return sorted(groups.items(), key=lambda kv: int(kv[0].split(":")[1]))


def class_names(recipe: Mapping[str, Any]) -> tuple[str, ...]:
    """A run's class names in label order, read from its journaled recipe; ``()`` for a generation task, or where
    they cannot be read here (a task file that has moved)."""
    from autopeft.study.recipe import stored_recipe

    try:
        return tuple(str(name) for name in stored_recipe(recipe).load_task().label_names)
    except (AutopeftError, OSError, KeyError, TypeError, ValueError):
        return ()


def class_labels(names: Sequence[str], k: int) -> list[str]:
    """``names`` when they name ``k`` classes, else ``class 0``, ``class 1``, ..."""
    return list(names) if len(names) == k else [f"class {i}" for i in range(k)]


def lost_classes(result: TrialResult | None, split: str, names: Sequence[str] = ()) -> list[str] | None:
    """The classes a trial lost on ``split``: those with examples there of which none was predicted as the class
    (recall 0). ``None`` when the record has no confusion matrix for the split (generation, or an older record).

    >>> from autopeft.trial import Fidelity
    >>> r = TrialResult(config={}, fidelity=Fidelity(steps=1), seed=0, status="complete",
    ...                 confusion={"validation": ((5, 0, 0), (3, 0, 1), (0, 0, 0))})
    >>> lost_classes(r, "validation", ("neg", "neu", "pos"))
    ['neu']
    """
    if result is None or not result.confusion or split not in result.confusion:
        return None
    matrix = np.asarray(result.confusion[split])
    labels = class_labels(names, matrix.shape[0])
    return [labels[i] for i in range(matrix.shape[0]) if matrix[i].sum() and not matrix[i, i]]


#: Scores within this of chance count as chance: the same number computed two ways differs in its last bits.
CHANCE_TOLERANCE = 1e-12
#: The objectives a classifier that always predicts the majority class has a score for: (y_true, y_pred) -> score.
CHANCE_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": M.accuracy, "macro_f1": M.macro_f1, "balanced_accuracy": M.balanced_accuracy}


def chance_score(result: TrialResult | None, split: str, metric: str) -> float | None:
    """``metric`` of the constant classifier that predicts the majority class of ``split`` (ties: the first
    class), from the class counts of the trial's confusion matrix: the score of a model that learned nothing.
    ``None`` for a metric without one here (``CHANCE_METRICS``) or a record without a confusion matrix.

    >>> from autopeft.trial import Fidelity
    >>> r = TrialResult(config={}, fidelity=Fidelity(steps=1), seed=0, status="complete",
    ...                 confusion={"validation": ((5, 1), (2, 2))})
    >>> chance_score(r, "validation", "accuracy"), chance_score(r, "validation", "balanced_accuracy")
    (0.6, 0.5)
    """
    if result is None or not result.confusion or split not in result.confusion:
        return None
    return chance_of_counts(np.asarray(result.confusion[split]).sum(axis=1).tolist(), metric)


def chance_of_counts(counts: Sequence[int], metric: str) -> float | None:
    """``metric`` of always predicting the most frequent class (ties: the first), for a split with ``counts``
    examples of each class in label order; ``None`` for a metric without one here or a split without examples.

    >>> chance_of_counts([2, 6, 2], "accuracy"), chance_of_counts([2, 6, 2], "balanced_accuracy")
    (0.6, 0.3333333333333333)
    """
    score = CHANCE_METRICS.get(metric)
    if score is None or not sum(counts):
        return None
    y_true = np.repeat(np.arange(len(counts)), counts)
    return float(score(y_true, np.full(y_true.size, int(np.argmax(counts)))))


def run_chance(trials: Iterable[Trial], metric: str, split: str = "validation") -> float | None:
    """:func:`chance_score` on a split of a run, from the first of ``trials`` that recorded its class counts there
    (every trial of a run scores the same split)."""
    scores = (chance_score(t.result, split, metric) for t in trials)
    return next((c for c in scores if c is not None), None)


def at_chance(value: float | None, chance: float | None) -> bool | None:
    """Whether a score ``value`` is no better than ``chance`` (:func:`run_chance`; a float's last bits aside);
    ``None`` when either is unknown. Every chance score here is of a score that is maximised."""
    return None if value is None or chance is None else value <= chance + CHANCE_TOLERANCE


def per_class_table(journal: Journal, names: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Per finalized trial and class, on the test split: precision, recall and F1 mean ± std over the seeds
    (``<metric>_mean`` / ``_std``), the class's test examples (``support``) and the confusion matrix's row summed
    over the seeds (``predicted <class>``: how often its examples were predicted as each class), and the seeds on
    which none of its test examples was predicted as it (``lost_on_seeds``: recall 0, a seed that lost the class).
    A class with no test example has recall and F1 ``None``: they are 0 by scikit-learn's convention, which would
    read as a class the model fails on.

    Classes are named by ``names`` (:func:`class_names`), or ``class 0``, ``class 1``, ... when they do not fit.
    Seeds journaled before autopeft kept confusion matrices are left out; a finalized trial with none is absent.
    """
    rows: list[dict[str, Any]] = []
    for origin, trials in finalized_groups(journal):
        seeded = [(t.seed, np.asarray(t.result.confusion["test"])) for t in trials
                  if t.result is not None and t.result.confusion and "test" in t.result.confusion]
        matrices = [m for _, m in seeded]
        if not matrices:
            continue
        k = matrices[0].shape[0]
        labels = class_labels(names, k)
        scores, summed = [M.per_class(m) for m in matrices], np.sum(matrices, axis=0)
        for i, label in enumerate(labels):
            row: dict[str, Any] = {"trial": int(origin.split(":")[1]), "class": label, "seeds": len(matrices),
                                   "support": int(matrices[0][i].sum())}
            for key in ("precision", "recall", "f1"):
                values = [float(s[key][i]) for s in scores]
                absent = key != "precision" and row["support"] == 0  # no test example: recall and F1 say nothing
                row[f"{key}_mean"] = None if absent else statistics.fmean(values)
                row[f"{key}_std"] = None if absent else statistics.stdev(values) if len(values) > 1 else 0.0
            row.update({f"predicted {other}": int(summed[i, j]) for j, other in enumerate(labels)})
            row["lost_on_seeds"] = [seed for seed, m in seeded if m[i].sum() and not m[i, i]]
            rows.append(row)
    return rows


__all__ = [
    "CHANCE_METRICS",
    "CHANCE_TOLERANCE",
    "at_chance",
    "chance_of_counts",
    "chance_score",
    "class_labels",
    "class_names",
    "finalized_groups",
    "lost_classes",
    "per_class_table",
    "run_chance",
]
