"""benchmarks/bo_ablation.py on the synthetic table: the numbers it writes are the replays' numbers."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from autopeft.bench.replay import ControllerSpec, replay
from autopeft.bench.table import Table, load_table
from autopeft.errors import ConfigError
from tests.bench import synthetic
from tests.bench.scripts import load_script
from tests.bench.synthetic import OBJECTIVES


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


def test_the_results_hold_no_path_of_this_machine(synthetic_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = ablation_module().main(["--table", str(synthetic_csv), "--seeds", "1", "--budget", "3", "--processes",
                                   "1", "--variants", "bo:forest before", "--out", str(out)])
    assert code == 0
    for name in ("bo_ablation.json", "bo_ablation.md"):
        text = (out / name).read_text(encoding="utf-8")
        assert str(tmp_path) not in text and str(synthetic_csv.parent) not in text, name
    data = json.loads((out / "bo_ablation.json").read_text(encoding="utf-8"))
    assert data["table"] == "`synthetic.csv`" and "--table synthetic.csv" in data["command"]


def test_the_synthetic_option_writes_the_control_table_itself(synthetic_csv: Path, tmp_path: Path) -> None:
    module = ablation_module()
    args = ["--seeds", "1", "--budget", "4", "--processes", "1", "--variants", "bo:forest before"]
    assert module.main(["--synthetic", "0.008", *args, "--out", str(tmp_path / "a")]) == 0
    assert module.main(["--table", str(synthetic_csv), *args, "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "bo_ablation.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "b" / "bo_ablation.json").read_text(encoding="utf-8"))
    assert a["curves"] == b["curves"]  # the default noise of tests/bench/synthetic.py: the same table
    assert "synthetic table of tests/bench/synthetic.py, seed noise sd 0.008" in a["table"]
    assert a["command"].startswith("python benchmarks/bo_ablation.py --synthetic 0.008")


def test_the_gp_options_change_the_model_not_the_contract() -> None:
    from autopeft.controllers.surrogate import GPSurrogate

    gen = np.random.default_rng(0)
    X = gen.uniform(size=(30, 3))
    y = np.sin(4 * X[:, 0]) + X[:, 1] + gen.normal(scale=0.2, size=30)  # noisy: the fitted white noise is > 0
    new = gen.uniform(size=(10, 3))
    mean, std = GPSurrogate(random_state=0).fit(X, y).predict(new, return_std=True)
    latent_mean, latent_std = GPSurrogate(random_state=0, std="latent").fit(X, y).predict(new, return_std=True)
    assert np.allclose(mean, latent_mean) and (latent_std < std).all() and (latent_std >= 0).all()
    assert "RBF" in str(GPSurrogate(random_state=0, kernel="rbf").fit(X, y).gp_.kernel_)
    assert "nu=1.5" in str(GPSurrogate(random_state=0, kernel="matern32").fit(X, y).gp_.kernel_)
    assert "nu=2.5" in str(GPSurrogate(random_state=0).fit(X, y).gp_.kernel_)
    with pytest.raises(ValueError, match="unknown GP kernel 'linear'; allowed: matern52, matern32, rbf"):
        GPSurrogate(kernel="linear").fit(X, y)


def test_bo_takes_the_gp_options_and_refuses_them_with_the_forest(table: Table) -> None:
    spec = ControllerSpec("bo:gp +matern 3/2 +latent std", "bo", {"kernel": "matern32", "std": "latent"})
    run = replay(table, spec, budget=10, seed=1, objectives=OBJECTIVES)
    assert len(run.configs) == 10
    assert np.array_equal(run.ratio, replay(table, spec, budget=10, seed=1, objectives=OBJECTIVES).ratio)
    with pytest.raises(ConfigError, match="'kernel' must be one of matern52, matern32, rbf, got 'linear'"):
        replay(table, ControllerSpec("x", "bo", {"kernel": "linear"}), budget=5, seed=0, objectives=OBJECTIVES)
    with pytest.raises(ConfigError, match="'std' applies to the gp surrogate only"):
        replay(table, ControllerSpec("x", "bo", {"surrogate": "forest", "std": "latent"}), budget=5, seed=0,
               objectives=OBJECTIVES)


def test_seed_start_and_the_sharp_reference_reach_the_replays(tmp_path: Path) -> None:
    csv = synthetic.write_sharp(tmp_path / "table")
    table = load_table(csv)
    code = ablation_module().main(["--table", str(csv), "--seeds", "2", "--seed-start", "7", "--budget",
                                   "5", "--processes", "1", "--variants", "bo:forest before", "--reference", "sharp",
                                   "--out", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "bo_ablation.json").read_text(encoding="utf-8"))
    assert data["seeds"] == [7, 8] and data["reference"] == "sharp"
    direct = replay(table, ControllerSpec("x", "bo", {"surrogate": "forest", "incumbent": "observed",
                                                      "known_inputs": False}),
                    budget=5, seed=8, objectives=OBJECTIVES, reference="sharp")
    assert np.allclose(data["curves"]["bo:forest before"][1], direct.ratio)
    assert "seeds 7-8" in (tmp_path / "bo_ablation.md").read_text(encoding="utf-8")
    assert "sharp reference point" in (tmp_path / "bo_ablation.md").read_text(encoding="utf-8")


def test_a_table_without_a_majority_accuracy_is_one_line(synthetic_csv: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = ablation_module().main(["--table", str(synthetic_csv), "--reference", "sharp", "--seeds", "1",
                                   "--variants", "bo:forest before", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "states no majority_accuracy" in err
    assert not (tmp_path / "bo_ablation.json").exists()


def test_a_negative_seed_start_is_refused(synthetic_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ablation_module().main(["--table", str(synthetic_csv), "--seed-start", "-1"])
    assert "--seed-start must be >= 0, got -1" in capsys.readouterr().err
