"""Per-class results (autopeft.study.classes), on journals written by hand (no training): the test table's means,
spreads and summed confusion rows against sums done by hand, lost classes, class names, and old seeds without
confusion matrices."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopeft.study.classes import class_names, per_class_table
from autopeft.study.journal import Journal
from autopeft.trial import Fidelity, TrialResult

METRICS = {"accuracy": 0.5, "macro_f1": 0.5, "ece": 0.1, "nll": 0.9}


def _journal(tmp_path: Path, seeds: list[tuple[tuple[int, ...], ...] | None]) -> Path:
    """One search trial finalized over ``len(seeds)`` seeds, each with that test confusion matrix (None: a seed
    journaled before records kept them)."""
    folder = tmp_path / "run"
    with Journal.create(folder, {"name": "tiny", "text": "", "source": "tiny.yaml", "base": "."}) as journal:
        journal.set_meta("settings", {"objectives": ["accuracy", "trainable_params"]})
        config = {"method": "ia3"}
        source = journal.add_trial(config, Fidelity(steps=1), seed=0, origin="random")
        journal.start(source.number)
        journal.finish(source.number, TrialResult(config=config, fidelity=Fidelity(steps=1), seed=0,
                                                   status="complete", metrics=METRICS, trainable_params=10))
        for seed, matrix in enumerate(seeds):
            t = journal.add_trial(config, Fidelity(steps=2), seed=seed, origin=f"finalize:{source.number}",
                                  phase="finalize")
            journal.start(t.number)
            journal.finish(t.number, TrialResult(
                config=config, fidelity=Fidelity(steps=2), seed=seed, status="complete", metrics=METRICS,
                test_metrics=METRICS, trainable_params=10,
                confusion=None if matrix is None else {"validation": matrix, "test": matrix}))
    return folder


def test_per_class_means_spreads_and_summed_rows(tmp_path: Path) -> None:
    a = ((3, 1), (0, 4))  # class 0: P 1, R 3/4, F1 6/7;   class 1: P 4/5, R 1, F1 8/9
    b = ((2, 2), (2, 2))  # class 0: P 1/2, R 1/2, F1 1/2; class 1: the same
    folder = _journal(tmp_path, [a, b, None])
    with Journal.open(folder, lock=False) as journal:
        rows = per_class_table(journal, ("neg", "pos"))
    assert [(r["trial"], r["class"], r["seeds"], r["support"]) for r in rows] == [(1, "neg", 2, 4), (1, "pos", 2, 4)]
    assert rows[0]["precision_mean"] == pytest.approx(0.75)
    assert rows[0]["recall_mean"] == pytest.approx((0.75 + 0.5) / 2)
    assert rows[0]["f1_mean"] == pytest.approx((6 / 7 + 0.5) / 2)
    assert rows[0]["f1_std"] == pytest.approx(abs(6 / 7 - 0.5) / 2 ** 0.5)  # sample sd of two values
    assert rows[1]["f1_mean"] == pytest.approx((8 / 9 + 0.5) / 2)
    assert {k: v for k, v in rows[0].items() if k.startswith("predicted")} == {"predicted neg": 5, "predicted pos": 3}
    assert {k: v for k, v in rows[1].items() if k.startswith("predicted")} == {"predicted neg": 2, "predicted pos": 6}


def test_names_that_do_not_fit_fall_back_and_old_seeds_give_no_rows(tmp_path: Path) -> None:
    with Journal.open(_journal(tmp_path, [((1, 0), (0, 1))]), lock=False) as journal:
        assert [r["class"] for r in per_class_table(journal, ("a", "b", "c"))] == ["class 0", "class 1"]
    with Journal.open(_journal(tmp_path / "old", [None, None]), lock=False) as journal:
        assert per_class_table(journal, ("a", "b")) == []


def test_class_names_from_a_recipe(tiny_recipe: Path) -> None:
    from autopeft.study.recipe import load_recipe

    recipe = load_recipe(tiny_recipe)
    assert class_names(recipe.with_space_text().to_dict()) == tuple(recipe.task_data().task.label_names)
    assert class_names({"name": "no recipe"}) == ()  # a journal without a readable recipe: no names, no error
    gone = {**recipe.with_space_text().to_dict(), "task": {"file": "/nowhere/moved.csv", "text_fields": ["text"],
                                                           "label_field": "label"}}
    assert class_names(gone) == ()  # a task file that has moved


def test_a_class_without_test_examples_has_no_recall_or_f1(tmp_path: Path) -> None:
    """sklearn scores such a class 0, which would read as a class the model fails on; the table leaves it blank."""
    matrix = ((2, 1, 0), (0, 3, 0), (0, 0, 0))
    with Journal.open(_journal(tmp_path, [matrix]), lock=False) as journal:
        rows = per_class_table(journal, ("a", "b", "rare"))
    rare = rows[2]
    assert rare["support"] == 0 and rare["recall_mean"] is None and rare["f1_mean"] is None
    assert rare["precision_mean"] == 0.0  # never predicted: 0, as scikit-learn's zero_division=0
    assert rows[0]["f1_mean"] == pytest.approx(0.8) and rows[1]["recall_mean"] == 1.0


def test_finalize_prints_each_class_and_blanks_one_without_test_examples(tmp_path: Path) -> None:
    from autopeft.cli.finalize import finalize_text

    folder = _journal(tmp_path, [((2, 1, 0), (0, 3, 0), (0, 0, 0))])
    text = finalize_text(folder)  # the hand-written recipe names no task: the classes are numbered
    assert "trial 1, test F1 per class (mean over 1 seed): class 0 0.8000, class 1 0.8571, class 2 - (no test " \
           "example)" in text


def test_a_seed_that_loses_a_class_is_named(tmp_path: Path) -> None:
    from autopeft.cli.finalize import finalize_text

    folder = _journal(tmp_path, [((3, 1), (0, 4)), ((4, 0), (4, 0)), ((4, 0), (3, 1))])  # seed 1 lost class 1
    with Journal.open(folder, lock=False) as journal:
        rows = per_class_table(journal, ("neg", "pos"))
    assert [r["lost_on_seeds"] for r in rows] == [[], [1]]
    text = finalize_text(folder)
    assert "trial 1 lost class 1 on seed 1: none of its test examples was predicted as class 1" in text
    assert "chance on the test split: accuracy 0.5000 (always predicting its majority class)" in text  # 4 and 4


def test_pareto_names_the_classes_a_front_point_lost_on_validation(tmp_path: Path) -> None:
    import csv
    import io
    import json

    from autopeft.cli.results import pareto_text

    folder = tmp_path / "run"
    with Journal.create(folder, {"name": "tiny", "text": "", "source": "tiny.yaml", "base": "."}) as journal:
        journal.set_meta("settings", {"objectives": ["accuracy", "trainable_params"]})
        for params, acc, matrix in ((10, 0.5, ((4, 0), (4, 0))), (20, 0.9, ((4, 0), (1, 3))), (30, 0.95, None)):
            config = {"method": "ia3", "r": params}
            t = journal.add_trial(config, Fidelity(steps=1), seed=0, origin="random")
            journal.start(t.number)
            journal.finish(t.number, TrialResult(
                config=config, fidelity=Fidelity(steps=1), seed=0, status="complete", trainable_params=params,
                metrics={**METRICS, "accuracy": acc}, confusion=None if matrix is None else {"validation": matrix}))
    table = pareto_text(folder, "table")
    assert "[lost on validation: class 1]" in table.splitlines()[2] and table.count("lost on validation") == 1
    rows = list(csv.DictReader(io.StringIO(pareto_text(folder, "csv"))))
    assert [r["lost_classes"] for r in rows] == ["class 1", "", ""]  # lost one; lost none; not recorded (old)
    assert [r["lost_classes"] for r in json.loads(pareto_text(folder, "json"))] == ["class 1", "", None]
    # 4 examples of each class: chance is 0.5, and trial 1 scores it; the run's counts judge trial 3 too
    assert [r["at_chance"] for r in rows] == ["True", "False", "False"]
    assert "[at chance]" in table.splitlines()[2] and table.count("[at chance]") == 1


@pytest.mark.parametrize("counts", [(5, 3), (2, 7, 1), (4, 4, 2, 10, 0)])
def test_chance_score_is_the_majority_classifiers_closed_form(counts: tuple[int, ...]) -> None:
    from autopeft.study.classes import chance_score

    k, n, top = len(counts), sum(counts), max(counts)
    present = sum(1 for c in counts if c)
    # spread the examples over the columns: chance depends on the class counts (row sums) alone
    matrix = tuple(tuple(c // 2 if j == i else c - c // 2 if j == (i + 1) % k else 0 for j in range(k))
                   for i, c in enumerate(counts))
    r = TrialResult(config={}, fidelity=Fidelity(steps=1), seed=0, status="complete", confusion={"validation": matrix})
    p = top / n
    assert chance_score(r, "validation", "accuracy") == pytest.approx(p)
    assert chance_score(r, "validation", "balanced_accuracy") == pytest.approx(1 / present)
    # F1 of the majority class: precision p, recall 1; every other present class scores 0
    assert chance_score(r, "validation", "macro_f1") == pytest.approx(2 * p / (1 + p) / present)
    assert chance_score(r, "validation", "ece") is None
    assert chance_score(r, "test", "accuracy") is None
    assert chance_score(TrialResult(config={}, fidelity=Fidelity(steps=1), seed=0, status="complete"),
                        "validation", "accuracy") is None


def _front_of(tmp_path: Path, points: list[tuple[float, int]], confusion: tuple[tuple[int, ...], ...] | None) -> int:
    """The trial number of the knee of a run whose trials score ``(accuracy, trainable params)``."""
    from autopeft.objectives import objectives_of
    from autopeft.study.front import front

    folder = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    with Journal.create(folder, {"name": "tiny", "text": "", "source": "tiny.yaml", "base": "."}) as journal:
        journal.set_meta("settings", {"objectives": ["accuracy", "trainable_params"]})
        for i, (acc, params) in enumerate(points):
            config = {"method": "lora", "r": i}
            t = journal.add_trial(config, Fidelity(steps=1), seed=0, origin="random")
            journal.start(t.number)
            journal.finish(t.number, TrialResult(
                config=config, fidelity=Fidelity(steps=1), seed=0, status="complete",
                metrics={"accuracy": acc}, trainable_params=params, total_params=12_000,
                confusion=None if confusion is None else {"validation": confusion}))
        f = front(journal, objectives_of(["accuracy", "trainable_params"]))
        assert f.knee is not None
        return f.trials[f.knee].number


def test_the_knee_is_never_a_point_at_chance_when_one_beats_it(tmp_path: Path) -> None:
    balanced = ((8, 0), (8, 0))  # 16 validation examples, 8 per class: chance is 0.5
    # the tiny T5's front: 0.50 at 112 parameters dominates more of the box alone than 0.625 at 3,584
    assert _front_of(tmp_path, [(0.50, 112), (0.625, 3584)], None) == 1
    assert _front_of(tmp_path, [(0.50, 112), (0.625, 3584)], balanced) == 2
    # below chance too; and a front whose every point is at chance keeps its knee rather than none
    assert _front_of(tmp_path, [(0.4375, 50), (0.50, 112), (0.625, 3584)], balanced) == 3
    assert _front_of(tmp_path, [(0.50, 112)], balanced) == 1
    # a point above chance is kept even when it is cheap: 0.5625 at 112 is the knee as before
    assert _front_of(tmp_path, [(0.5625, 112), (0.625, 3584)], balanced) == 1
    assert _front_of(tmp_path, [(0.5625, 112), (0.625, 3584)], None) == 1
