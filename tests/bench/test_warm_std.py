"""benchmarks/warm_std.py on synthetic tables: its figures are the replays', and bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from autopeft.bench.replay import ControllerSpec, replay
from autopeft.bench.table import Table, load_table
from autopeft.bench.warm_start import load_prior
from autopeft.controllers.transfer import Prior
from tests.bench import synthetic
from tests.bench.scripts import load_script
from tests.bench.synthetic import OBJECTIVES


def module() -> ModuleType:
    return load_script("warm_std.py", "warm_std")


def run_script(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str, Table, Prior]:
    """warm_std.py on the synthetic pair with one seed and ``args``: its JSON and Markdown, the table and prior."""
    task, other = synthetic.sharp_pair(tmp_path)
    out = tmp_path / "out"
    assert module().main(["--table", str(task), "--other", str(other), "--seeds", "1", *args, "--out", str(out)]) == 0
    table = load_table(task)
    return (json.loads((out / "task_a.json").read_text(encoding="utf-8")),
            (out / "task_a.md").read_text(encoding="utf-8"), table, load_prior([str(other)], table.space, OBJECTIVES))


def warm_run(table: Table, prior: Prior, budget: int, seed: int, **options: Any) -> Any:
    return replay(table, ControllerSpec("w", "bo", {"prior": prior, **options}), budget=budget, seed=seed,
                  objectives=OBJECTIVES, reference="sharp")


def test_its_figures_are_the_replays(tmp_path: Path) -> None:
    data, text, table, prior = run_script(tmp_path, "--seed-start", "3", "--budget", "10")
    assert set(data["runs"]) == {"bo", "warm:bo prior_std=stacked", "warm:bo prior_std=residual"}
    assert data["command"].startswith("python benchmarks/warm_std.py --table ")
    run = warm_run(table, prior, 10, 3, prior_std="residual")
    (kept,) = data["runs"]["warm:bo prior_std=residual"]
    hit = np.flatnonzero(run.ratio >= 0.99)
    assert kept["to_target"] == (int(hit[0]) + 1 if hit.size else None)
    assert kept["end"] == pytest.approx(float(run.ratio[-1]))
    assert kept["early"] == pytest.approx(float(run.ratio[9]))
    assert "| bo |" in text
    assert data["paired"][:2] == ["prior_std=residual", "prior_std=stacked"]


def test_settings_choose_the_warm_starts_and_bad_ones_are_one_line(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data, text, table, prior = run_script(tmp_path, "--budget", "6",
                                          "--settings", "prior_std=residual,prior_transform=copula")
    assert set(data["runs"]) == {"bo", "warm:bo prior_std=residual", "warm:bo prior_transform=copula"}
    assert data["paired"][:2] == ["prior_std=residual", "prior_transform=copula"]
    run = warm_run(table, prior, 6, 0, prior_transform="copula")
    assert data["runs"]["warm:bo prior_transform=copula"][0]["end"] == pytest.approx(float(run.ratio[-1]))
    assert "`prior_transform=copula` against `prior_std=residual`" in text
    assert module().settings("prior_cover=true,prior_cover=false") == [
        ("prior_cover=true", {"prior_cover": "true"}), ("prior_cover=false", {"prior_cover": "false"})]
    assert module().settings("prior_std=residual+prior_cover=false") == [
        ("prior_std=residual+prior_cover=false", {"prior_std": "residual", "prior_cover": "false"})]
    for bad in ("prior_std=wide", "shrink=3", "prior_std", "prior_std=residual,prior_std=residual", "prior_cover=yes",
                "prior_cover=true+prior_cover=false", "prior_std=residual+", "prior_std=residual+prior_cover=no",
                "prior_levels=on", "prior_level_shrink=0", "prior_level_shrink=-1", "prior_level_shrink=inf",
                "prior_level_shrink=nan", "prior_level_shrink=few",
                "prior_std=residual+prior_cover=true,prior_cover=true+prior_std=residual"):
        with pytest.raises(SystemExit):
            module().main(["--table", "a.csv", "--other", "b.csv", "--settings", bad])
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert "--settings" in err, err


def test_each_option_reaches_the_controller_and_one_warm_start_may_set_several(tmp_path: Path) -> None:
    """``prior_cover`` and ``prior_levels`` arrive as switches, ``prior_level_shrink`` as a number,
    ``prior_trials`` as an integer, and
    ``prior_std=residual+prior_cover=false`` is one warm start with both options: the warm start of before
    ``prior_cover`` became the default. One script run replays all five, each checked against its own replay."""
    data, text, table, prior = run_script(
        tmp_path, "--budget", "6",
        "--settings", "prior_std=residual+prior_cover=false,prior_cover=true,prior_levels=false,"
                      "prior_level_shrink=0.1,prior_trials=3")
    name = "warm:bo prior_std=residual+prior_cover=false"
    assert set(data["runs"]) == {"bo", name, "warm:bo prior_cover=true", "warm:bo prior_levels=false",
                                 "warm:bo prior_level_shrink=0.1", "warm:bo prior_trials=3"}
    for setting, options in ((name, {"prior_std": "residual", "prior_cover": False}),
                             ("warm:bo prior_cover=true", {"prior_cover": True}),
                             ("warm:bo prior_levels=false", {"prior_levels": False}),
                             ("warm:bo prior_level_shrink=0.1", {"prior_level_shrink": 0.1}),
                             ("warm:bo prior_trials=3", {"prior_trials": 3})):
        run = warm_run(table, prior, 6, 0, **options)
        assert data["runs"][setting][0]["end"] == pytest.approx(float(run.ratio[-1])), setting
        assert data["runs"][setting][0]["to_target"] == module().to_target(run.ratio), setting
    assert data["paired"][:2] == ["prior_std=residual+prior_cover=false", "prior_trials=3"]  # last against first
    assert f"| {name} |" in text


def test_paired_counts_never_as_infinitely_many_trials() -> None:
    a = [{"to_target": 3}, {"to_target": None}, {"to_target": 5}, {"to_target": 4}]
    b = [{"to_target": 4}, {"to_target": None}, {"to_target": None}, {"to_target": 2}]
    assert module().paired(a, b) == (2, 1, 1)
    assert module().median_trials([3, None, None]) == float("inf")


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert module().main(["--table", str(tmp_path / "missing.csv"), "--other", str(tmp_path / "x.csv"),
                          "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("warm_std.py: error:") and "\n" not in err
    assert not out.exists()
    with pytest.raises(SystemExit):
        module().main(["--table", "a.csv", "--other", "b.csv", "--budget", "0"])
