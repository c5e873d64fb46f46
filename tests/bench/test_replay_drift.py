"""benchmarks/replay_drift.py: bo's kept replays against fresh ones, on a small search_efficiency.py run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench import synthetic
from tests.bench.scripts import load_script


def _table(folder: Path, name: str) -> Path:
    return synthetic.write_sharp(folder, name, sidecar={"complete": True})


def test_kept_and_fresh_replays_agree_here_and_a_changed_one_is_found(tmp_path: Path) -> None:
    pytest.importorskip("optuna", reason="optuna (the optional bench extra) is not installed")
    csv = _table(tmp_path, "task_a")
    results, out = tmp_path / "results", tmp_path / "drift"
    efficiency = load_script("search_efficiency.py", "search_efficiency")
    assert efficiency.main(["--table", str(csv), "--parts", "peers", "--peers", "optuna:tpe", "--seeds", "2",
                            "--budget", "5", "--out", str(results)]) == 0
    kept_one = json.loads(next((results / "task_a.done").glob("bo-5-1000-*.json")).read_text(encoding="utf-8"))
    assert kept_one["stack"]["numpy"] and kept_one["stack"]["python"]  # each kept replay says where it ran
    drift = load_script("replay_drift.py", "replay_drift")
    assert drift.main(["--table", str(csv), "--results", str(results), "--out", str(out)]) == 0
    data = json.loads((out / "task_a.json").read_text(encoding="utf-8"))
    assert data["seeds"] == [1000, 1001] and data["differing_seeds"] == 0 and data["stack"]["numpy"]
    goals = json.loads((results / "task_a.json").read_text(encoding="utf-8"))["goals"]["peers"]["peers"]
    published = {k: goals["optuna:tpe"]["bo_vs"][k] for k in ("ahead", "tied", "behind")}
    assert data["goals"]["optuna:tpe"]["kept"] == data["goals"]["optuna:tpe"]["fresh"] == published
    # a kept curve that another machine computed differently: found, from the trial it changes at
    kept = next((results / "task_a.done").glob("bo-5-1001-*.json"))
    record = json.loads(kept.read_text(encoding="utf-8"))
    record["curve"][2:] = [v - 0.01 for v in record["curve"][2:]]
    kept.write_text(json.dumps(record), encoding="utf-8")
    assert drift.main(["--table", str(csv), "--results", str(results), "--out", str(out)]) == 0
    data = json.loads((out / "task_a.json").read_text(encoding="utf-8"))
    assert data["differing_seeds"] == 1 and [r["first_difference"] for r in data["per_seed"]] == [None, 3]
    text = (out / "task_a.md").read_text(encoding="utf-8")
    assert "**1 of 2**" in text and str(tmp_path) not in text


def test_a_table_without_results_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = _table(tmp_path, "task_b")
    code = load_script("replay_drift.py", "replay_drift").main(
        ["--table", str(csv), "--results", str(tmp_path / "none"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no search_efficiency.py results for table 'task_b'" in err
