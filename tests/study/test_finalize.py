"""Which finalized seed an export takes (autopeft.study.finalize.finalized_weights): the best validation score,
checked by hand and on the committed tweets run, where seed 0 lost a class."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from autopeft.objectives import objectives_of
from autopeft.study.finalize import FINAL_DIR, finalized_weights, held_up_note
from autopeft.study.journal import Journal, Trial
from autopeft.trial import Fidelity, TrialResult


def test_export_takes_the_seed_with_the_best_validation_score(tmp_path: Path) -> None:
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


def test_the_finalize_table_gives_validation_after_the_finalize_s_training(tmp_path: Path) -> None:
    """On the committed tweets run: the knee's validation accuracy fell from 0.720 at the search's 60 steps to a
    mean of 0.681 over its 240-step seeds, which the table shows without the test split."""
    import statistics

    from autopeft.cli.finalize import finalize_text
    from autopeft.study.finalize import finalize_table

    journal_file = Path(__file__).resolve().parents[2] / "reports/minilm-default-budget50/journals/default-budget50.db"
    shutil.copyfile(journal_file, tmp_path / "study.db")
    with Journal.open(tmp_path, lock=False) as journal:
        rows = {r["trial"]: r for r in finalize_table(journal)}
    knee = rows[45]
    assert knee["validation_score_final_mean"] == pytest.approx(statistics.fmean([0.622, 0.686, 0.734]), abs=1e-9)
    assert knee["validation_score_final_std"] == pytest.approx(statistics.stdev([0.622, 0.686, 0.734]), abs=1e-9)
    assert round(knee["validation_score_search"], 3) == 0.720
    text = finalize_text(tmp_path)
    assert "val final" in text.splitlines()[1]
    (line,) = [row for row in text.splitlines() if row.lstrip().startswith("45 ")]
    assert "0.7200@60   0.6807±0.0562   0.6660±0.0563" in line, line
    assert ("After the finalize's training, trial 11 scores the best validation accuracy of the 2 finalized points "
            "(0.7367 ± 0.0145). Trial 45 (0.7200 → 0.6807) scores worse there than in the search") in text


def test_finalize_front_retrains_every_front_point_and_reuses_seeds_already_made(
        tiny_recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from autopeft.cli.main import main
    from autopeft.objectives import objectives_of as objectives
    from autopeft.study.front import front
    from autopeft.study.recipe import load_recipe
    from autopeft.study.search import run_search

    out = tmp_path / "run"
    run_search(load_recipe(tiny_recipe), out, stream=io.StringIO())
    with Journal.open(out, lock=False) as journal:
        points = [t.number for t in front(journal, objectives(["accuracy", "trainable_params"])).trials]
    assert len(points) >= 2
    assert main(["finalize", str(out), "--pick", f"trial:{points[0]}", "--seeds", "1"]) == 0
    capsys.readouterr()
    assert main(["finalize", str(out), "--pick", "front", "--seeds", "2"]) == 0
    said, err = capsys.readouterr()
    with Journal.open(out, lock=False) as journal:
        finals = journal.trials(phase="finalize")
    assert sorted((t.origin, t.seed) for t in finals) == sorted((f"finalize:{n}", s) for n in points for s in (0, 1))
    assert all(t.state == "complete" for t in finals)
    assert f"finalize trial {points[0]} seed 0:" not in err  # made by the first finalize, not trained again
    assert all(f"`autopeft export --pick trial:{n}` takes the weights finalized" in said for n in points)
    for n in points:
        assert (out / FINAL_DIR / f"trial-{n}-seed-1").is_dir()
    # export names one point: the whole front is refused in one line, naming what is allowed
    assert main(["export", str(out), "--pick", "front", "--out", str(tmp_path / "x")]) == 2
    assert "--pick 'front' is not allowed; allowed: knee, best" in capsys.readouterr().err


def test_finalize_front_of_a_run_without_a_complete_trial_is_one_line(tmp_path: Path) -> None:
    from autopeft.errors import ConfigError
    from autopeft.study.finalize import picks

    folder = tmp_path / "run"
    with Journal.create(folder, {"name": "r", "text": "", "source": "r.yaml", "base": "."}) as journal:
        journal.set_meta("settings", {"objectives": ["accuracy", "trainable_params"], "budget": 1,
                                      "controller": "random", "seed": 0})
        journal.add_trial({"method": "ia3"}, Fidelity(steps=3), seed=0, origin="random")
        with pytest.raises(ConfigError, match=r"^--pick 'front': the run has no complete trial yet, so its front is "
                                              r"empty$"):
            picks(journal, "front", objectives_of(["accuracy", "trainable_params"]))


def test_the_held_up_note_names_the_best_after_finalize_and_the_points_that_fell() -> None:
    def row(trial: int, search: float, final: float) -> dict[str, object]:
        return {"trial": trial, "validation_score_search": search, "validation_score_final_mean": final,
                "validation_score_final_std": 0.01}

    assert held_up_note([row(1, 0.7, 0.6)], "accuracy", "accuracy") == ""  # one point: nothing to compare
    assert held_up_note([row(1, 0.7, 0.6), {"trial": 2}], "accuracy", "accuracy") == ""  # finalized before it was kept
    two = held_up_note([row(1, 0.7, 0.6), row(2, 0.8, 0.7), row(3, 0.5, 0.65)], "accuracy", "accuracy")
    assert "trial 2 scores the best validation accuracy of the 3 finalized points (0.7000 ± 0.0100)" in two
    assert "Trials 1 (0.7000 → 0.6000), 2 (0.8000 → 0.7000) score worse there than in the search" in two
    # a score to minimise (ECE as the first objective): lower is better, and rising is falling
    ece = held_up_note([row(1, 0.05, 0.04), row(2, 0.03, 0.06)], "ece", "ECE")
    assert "trial 1 scores the best validation ECE" in ece and "Trial 2 (0.0300 → 0.0600) scores worse" in ece

