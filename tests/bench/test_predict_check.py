"""benchmarks/predict_check.py: predict on an export's own splits gives the metrics its weights recorded."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from autopeft.study.finalize import finalize
from autopeft.study.recipe import load_recipe
from autopeft.study.search import run_search
from benchmarks.reliability import tiny
from tests.bench.scripts import load_script


def test_predict_reproduces_the_recorded_metrics_on_a_tiny_run(tmp_path: Path, tiny_bert_dir: Path,
                                                               sentiment_csv: Path) -> None:
    recipe = tiny.tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv, budget=3, lr_factors=[1])
    run = tmp_path / "run"
    run_search(load_recipe(recipe), run, stream=io.StringIO())
    finalize(run, "knee", seeds=1, stream=io.StringIO())
    module = load_script("predict_check.py", "predict_check")
    assert module.main(["--run", str(run), "--out", str(tmp_path / "pc")]) == 0
    result = json.loads((tmp_path / "pc.json").read_text())
    assert [s["split"] for s in result["splits"]] == ["validation", "test"]
    assert [s["rows"] for s in result["splits"]] == [16, 16]
    for s in result["splits"]:
        assert set(s["recorded"]) == set(module.METRICS) and s["max_abs_difference"] < 1e-8
    assert result["weights"].startswith("finalized") and result["inputs"]["text_fields"] == ["text"]
    with pytest.raises(SystemExit, match="is not a run folder"):
        module.main(["--run", str(tmp_path / "nope")])


@pytest.mark.parametrize("name", ["predict_check", "predict_check_bbc_news"])
def test_the_readme_quotes_the_committed_check(name: str) -> None:
    root = Path(__file__).resolve().parents[2]
    result = json.loads((root / "benchmarks" / "results" / f"{name}.json").read_text())
    readme = " ".join((root / "README.md").read_text().split())
    assert f"`{result['command']}`" in readme
    for s in result["splits"]:
        assert s["max_abs_difference"] < 1e-8
        acc = f"{s['recorded']['accuracy']:.4f}"
        assert acc in readme, (name, s["split"], acc)
