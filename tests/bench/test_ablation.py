"""benchmarks/bo_ablation.py on the synthetic table: the numbers it writes are the replays' numbers."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from autopeft.bench.replay import ControllerSpec, replay
from autopeft.bench.table import Table
from autopeft.errors import ConfigError
from autopeft.objectives import get_objective
from tests.bench.scripts import load_script

OBJECTIVES = [get_objective("accuracy"), get_objective("trainable_params")]


def ablation_module() -> ModuleType:
    return load_script("bo_ablation.py", "bo_ablation")


def test_replay_takes_a_spec_with_options(table: Table) -> None:
    spec = ControllerSpec("bo:forest +both", "bo", {"surrogate": "forest", "incumbent": "predicted",
                                                     "known_inputs": True})
    run = replay(table, spec, budget=12, seed=3, objectives=OBJECTIVES)
    assert run.strategy == "bo:forest +both" and len(run.configs) == 12
    again = replay(table, spec, budget=12, seed=3, objectives=OBJECTIVES)
    assert np.array_equal(run.ratio, again.ratio)  # the options are part of a reproducible replay
    with pytest.raises(ConfigError, match="'incumbent' must be one of observed, predicted"):
        replay(table, ControllerSpec("x", "bo", {"incumbent": "lucky"}), budget=5, seed=0, objectives=OBJECTIVES)


def test_the_ablation_writes_what_the_replays_give(synthetic_csv: Path, table: Table, tmp_path: Path) -> None:
    module = ablation_module()
    variants = "bo:forest before,bo:forest +both"
    code = module.main(["--table", str(synthetic_csv), "--seeds", "2", "--budget", "6", "--processes", "1",
                        "--variants", variants, "--out", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "bo_ablation.json").read_text(encoding="utf-8"))
    assert data["budget"] == 6 and data["random_budget"] == 18 and data["seeds"] == [0, 1]
    assert [r["variant"] for r in data["rows"]] == ["random", "bo:forest before", "bo:forest +both"]
    rival = np.array(data["curves"]["random"])[:, -1]
    for row in data["rows"][1:]:
        curve = np.array(data["curves"][row["variant"]])
        assert curve.shape == (2, 6) and (np.diff(curve, axis=1) >= -1e-12).all()
        assert row["mean"] == pytest.approx(curve[:, -1].mean())
        assert row["ahead"] == int((curve[:, -1] > rival + 1e-12).sum())
        assert row["ahead"] + row["tied"] + row["behind"] == 2
    direct = replay(table, ControllerSpec("x", "bo", data["rows"][2]["options"]),
                    budget=6, seed=1, objectives=OBJECTIVES)
    assert np.allclose(data["curves"]["bo:forest +both"][1], direct.ratio)
    text = (tmp_path / "bo_ablation.md").read_text(encoding="utf-8")
    assert "| bo:forest +both |" in text and "random @18" in text


def test_an_unknown_variant_is_one_line(synthetic_csv: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = ablation_module().main(["--table", str(synthetic_csv), "--variants", "bo:svm", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown variant 'bo:svm'; allowed: bo:gp before" in err
