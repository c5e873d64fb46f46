"""The per-class test table of finalized points, on a journal written by hand (no training): its means, spreads
and summed confusion rows against sums done by hand, and old seeds without confusion matrices."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopeft.study.finalize import class_names, per_class_table
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
    assert "trial 1 lost class 1 on seed 1: none of its test examples was predicted as class 1" in finalize_text(folder)


def test_export_takes_the_seed_with_the_best_validation_score(tmp_path: Path) -> None:
    from autopeft.objectives import objectives_of
    from autopeft.study.finalize import FINAL_DIR, finalized_weights
    from autopeft.study.journal import Trial

    def trial(seed: int, acc: float, ece: float) -> Trial:
        result = TrialResult(config={"method": "ia3"}, fidelity=Fidelity(steps=2), seed=seed, status="complete",
                             metrics={"accuracy": acc, "ece": ece})
        return Trial(number=10 + seed, phase="finalize", state="complete", config={"method": "ia3"},
                     fidelity=Fidelity(steps=2), seed=seed, origin="finalize:3", created=0.0, result=result)

    for name in ("trial-3-seed-0", "trial-3-seed-1", "trial-3-seed-2", "trial-3-seed-10", "trial-3-seed-x",
                 "trial-4-seed-1"):
        (tmp_path / FINAL_DIR / name).mkdir(parents=True)
    accuracy, ece = (objectives_of([n, "trainable_params"])[0] for n in ("accuracy", "ece"))
    finals = {0: trial(0, 0.62, 0.05), 1: trial(1, 0.73, 0.09), 2: trial(2, 0.73, 0.03), 10: trial(10, 0.70, 0.02)}
    seed, path, why = finalized_weights(tmp_path, 3, finals, accuracy)  # type: ignore[misc]
    assert (seed, path.name) == (1, "trial-3-seed-1")  # 0.73 twice: the lower seed
    assert why == "finalized (trial-3-seed-1: the best validation accuracy of 4 finalized seeds, 0.7300)"
    assert finalized_weights(tmp_path, 3, finals, ece)[0] == 10  # type: ignore[index]  # ECE: lower is better
    assert finalized_weights(tmp_path, 3, {}, accuracy)[:2] == (0, tmp_path / FINAL_DIR / "trial-3-seed-0")  # type: ignore[index]
    assert finalized_weights(tmp_path, 3, {2: finals[2]}, accuracy)[2] == "finalized (trial-3-seed-2)"  # type: ignore[index]
    assert finalized_weights(tmp_path, 5, finals, accuracy) is None


def test_on_the_committed_tweets_run_the_knee_exports_seed_2_not_the_seed_that_lost_a_class(tmp_path: Path) -> None:
    """The README's example: the committed journal's finalize records, with stand-in weight folders."""
    import shutil

    from autopeft.objectives import objectives_of
    from autopeft.study.finalize import FINAL_DIR, finalized_weights

    journal_file = Path(__file__).resolve().parents[2] / "reports/minilm-default-budget50/journals/default-budget50.db"
    shutil.copyfile(journal_file, tmp_path / "study.db")  # a read leaves SQLite files beside a journal
    with Journal.open(tmp_path, lock=False) as journal:
        finals = {t.seed: t for t in journal.trials(phase="finalize") if t.origin == "finalize:45"}
    for seed in finals:
        (tmp_path / FINAL_DIR / f"trial-45-seed-{seed}").mkdir(parents=True)
    chosen = finalized_weights(tmp_path, 45, finals, objectives_of(["accuracy", "trainable_params"])[0])
    assert chosen is not None
    assert [round(finals[s].values["accuracy"], 3) for s in (0, 1, 2)] == [0.622, 0.686, 0.734]
    assert round(finals[0].values["macro_f1"], 3) == 0.456
    assert chosen[2] == "finalized (trial-45-seed-2: the best validation accuracy of 3 finalized seeds, 0.7340)"
