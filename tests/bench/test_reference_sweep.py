"""benchmarks/reference_sweep.py: a reference whose best rate sits at an edge of its sweep is trained past it."""

from __future__ import annotations

import io
import json
from pathlib import Path

from autopeft.study.recipe import load_recipe
from autopeft.study.search import run_search
from benchmarks.reliability import tiny
from tests.bench.scripts import load_script


def test_edges_are_widened_and_the_committed_point_comes_back(tmp_path: Path, tiny_bert_dir: Path,
                                                              sentiment_csv: Path) -> None:
    recipe = tiny.tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv, budget=4, lr_factors=[1, 4])
    run_search(load_recipe(recipe), tmp_path / "run", stream=io.StringIO())
    module = load_script("reference_sweep.py", "reference_sweep")
    assert module.main(["--run", str(tmp_path / "run"), "--factors", "0.25,16", "--out", str(tmp_path / "rs")]) == 0
    result = json.loads((tmp_path / "rs.json").read_text())
    rows = result["references"]
    assert sorted(r["reference"] for r in rows) == ["later_layers_only", "peft_default_lora"]
    for row in rows:
        rates = [p["learning_rate"] for p in row["sweep"]]
        scores = [p["accuracy"] for p in row["sweep"]]
        assert rates == sorted(rates) and len(rates) == 2
        first_best = scores.index(max(scores))  # the tuned point: the first best, as tuned_references keeps it
        expect = "top" if first_best == len(rates) - 1 else "bottom" if first_best == 0 else "inside"
        assert row["best_at"] == expect
        added = [p["learning_rate"] for p in row["added"]]
        if expect == "top":
            assert added == [row["default_learning_rate"] * 16]
        elif expect == "bottom":
            assert added == [row["default_learning_rate"] * 0.25]
        assert all(0.0 <= p["accuracy"] <= 1.0 for p in row["added"])
    check = result["check"]  # trained again at its recorded seed, the edge point scores what the run recorded
    assert check is not None and check["again"] == check["recorded"]
    assert "the same." in (tmp_path / "rs.md").read_text()
