"""benchmarks/front_finalize.py: every front point finalized in a scratch copy; the committed run is untouched."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from autopeft.study.finalize import finalize
from autopeft.study.journal import Journal
from autopeft.study.recipe import load_recipe
from autopeft.study.search import run_search
from benchmarks.reliability import tiny
from tests.bench.scripts import load_script


def test_every_front_point_is_finalized_in_a_copy_and_the_picks_are_the_brute_force_ones(
        tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    recipe = tiny.tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv, budget=5, lr_factors=[1])
    run = tmp_path / "run"
    run_search(load_recipe(recipe), run, stream=io.StringIO())
    (kept,) = {t.origin for t in finalize(run, "knee", seeds=1, stream=io.StringIO())}
    before = (run / "study.db").read_bytes()
    module = load_script("front_finalize.py", "front_finalize")
    args = ["--run", str(run), "--seeds", "1", "--scratch", str(tmp_path / "scratch"), "--out", str(tmp_path / "ff")]
    assert module.main(args) == 0
    assert (run / "study.db").read_bytes() == before  # the run itself is only read
    result = json.loads((tmp_path / "ff.json").read_text())
    rows = result["rows"]
    assert len(rows) >= 2 and result["trained"] == len(rows) - 1  # the knee's seed was kept, not trained again
    assert [r["trial"] for r in rows if r["search_knee"]] == [int(kept.split(":")[1])]
    assert all(r["seeds"] == 1 and r["validation_score_final_mean"] is not None for r in rows)
    # the picks, by brute force over the rows: front of (finalized validation mean, trainable parameters)
    points = [(r["validation_score_final_mean"], r["trainable_params"], r["trial"]) for r in rows]
    front = [t for a, p, t in points
             if not any(a2 >= a and p2 <= p and (a2 > a or p2 < p) for a2, p2, _ in points)]
    assert sorted(result["picks"]["finalized_front"]) == sorted(front)
    best = max(points, key=lambda x: (x[0], -x[1]))[2]
    assert result["picks"]["best_by_finalized_validation"] == best
    assert result["picks"]["knee_of_finalized_front"] in front
    assert "| val accuracy (finalized) |" in (tmp_path / "ff.md").read_text()
    assert module.main(args) == 0  # again: every seed is there, nothing is trained
    assert json.loads((tmp_path / "ff.json").read_text())["trained"] == 0
    with Journal.open(tmp_path / "scratch", lock=False) as journal:
        assert len(journal.trials(phase="finalize")) == len(rows)


@pytest.mark.parametrize(("name", "picks", "trained", "seconds"), [
    ("front_finalize", {"best_by_finalized_validation": 11, "finalized_front": [24, 39, 44, 11],
                        "knee_of_finalized_front": 39}, 15, "1,671"),
    ("front_finalize_bbc_news", {"best_by_finalized_validation": 35, "finalized_front": [22, 35],
                                 "knee_of_finalized_front": 22}, 9, "1,704"),
])
def test_the_readme_quotes_the_committed_results(name: str, picks: dict[str, object], trained: int,
                                                  seconds: str) -> None:
    root = Path(__file__).resolve().parents[2]
    result = json.loads((root / "benchmarks" / "results" / f"{name}.json").read_text())
    readme = " ".join((root / "README.md").read_text().split())
    assert result["picks"] == picks
    for r in result["rows"]:
        final = f"{r['validation_score_final_mean']:.3f} ± {r['validation_score_final_std']:.3f}"
        test = f"{r['test_accuracy_mean']:.3f} ± {r['test_accuracy_std']:.3f}"
        assert f"| {r['trainable_params']:,} | {r['validation_search']:.3f} | {final} | {test} |" in readme, r["trial"]
    assert result["trained"] == trained and f"{round(result['seconds']):,}" == seconds and f"{seconds} s" in readme


def test_the_knee_of_the_finalized_front_leaves_out_points_at_chance() -> None:
    """The search's rule: a two-point front's knee is the point that alone dominates more hypervolume (here the
    one at chance, 0.50 at 112 parameters), unless it scored no better than chance."""
    module = load_script("front_finalize.py", "front_finalize")
    done = [{"trial": 1, "validation_score_final_mean": 0.5, "trainable_params": 112},
            {"trial": 2, "validation_score_final_mean": 0.625, "trainable_params": 3584},
            {"trial": 3, "validation_score_final_mean": 0.6, "trainable_params": 4000}]
    free = module.picks_of(done, "accuracy", 100_000, None)
    assert free == {"best_by_finalized_validation": 2, "finalized_front": [1, 2], "knee_of_finalized_front": 1}
    assert module.picks_of(done, "accuracy", 100_000, 0.5)["knee_of_finalized_front"] == 2
    at_chance = [{**r, "validation_score_final_mean": 0.5} for r in done]  # none above: chosen from them all
    assert module.picks_of(at_chance, "accuracy", 100_000, 0.5)["knee_of_finalized_front"] == 1
    assert module.picks_of([], "accuracy", 100_000, 0.5) == {}
