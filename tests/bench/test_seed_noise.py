"""benchmarks/seed_noise.py on the synthetic table: the figures it writes are the table's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autopeft.bench.table import Table, objectives_from
from tests.bench.scripts import load_script


def test_the_noise_figures_are_the_tables(synthetic_csv: Path, table: Table, tmp_path: Path) -> None:
    module = load_script("seed_noise.py", "seed_noise")
    assert module.main(["--table", str(synthetic_csv), "--top", "3", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "seed_noise.json").read_text(encoding="utf-8"))
    fidelity = table.main_fidelity
    pairs = []
    for config in table.configs(fidelity):
        rows = {r.seed: r.metrics["accuracy"] for r in table.entry(config, fidelity).rows if r.ok}
        if len(rows) == 2:
            pairs.append((rows[0], rows[1]))
    acc = np.array(pairs)
    assert data["configurations"] == len(acc) and data["fidelity_steps"] == fidelity
    assert data["seed_sd_all"] == pytest.approx(np.std(acc[:, 0] - acc[:, 1], ddof=1) / np.sqrt(2))
    assert data["se_of_2_seed_mean_all"] == pytest.approx(data["seed_sd_all"] / np.sqrt(2))
    means = [t["seed_mean"] for t in data["top"]]
    assert means == sorted(means, reverse=True) and means[0] == pytest.approx(acc.mean(axis=1).max())
    assert data["top_spread"] == pytest.approx(means[0] - means[-1])
    objectives = objectives_from(["accuracy", "trainable_params"])
    _, values, _ = table.front(fidelity, objectives)
    assert values[:, 0].max() == pytest.approx(means[0])  # the most accurate point is on the front ...
    assert 0 < data["best_hypervolume_share"] < 1  # ... and holds a share of the hypervolume of its own
    assert all(1 <= r <= len(acc) for r in data["gp_rank_of_best"].values())
    text = (tmp_path / "seed_noise.md").read_text(encoding="utf-8")
    assert f"| 1 | {means[0]:.4f} |" in text and "python benchmarks/seed_noise.py --table" in text


def test_group_by_gives_each_groups_noise(synthetic_csv: Path, table: Table, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``--group-by``: every group's figures, by brute force over its configurations' two seeds."""
    from autopeft.bench.table.cells import config_cells

    module = load_script("seed_noise.py", "seed_noise")
    assert module.main(["--table", str(synthetic_csv), "--group-by", "lora.modules", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "seed_noise.json").read_text(encoding="utf-8"))
    groups: dict[str, list[tuple[float, float]]] = {}
    for config in table.configs(table.main_fidelity):
        rows = {r.seed: r.metrics["accuracy"] for r in table.entry(config, table.main_fidelity).rows if r.ok}
        if len(rows) == 2:
            modules = config_cells(table.space, config)["lora.modules"]
            label = str(config["method"]) + (f" lora.modules={modules}" if modules else "")
            groups.setdefault(label, []).append((rows[0], rows[1]))
    expected = {g: np.array(v) for g, v in groups.items() if len(v) >= 3}
    assert data["group_by"] == ["lora.modules"] and set(data["groups"]) == set(expected)
    assert any(g.startswith("lora lora.modules=") for g in expected)
    for label, acc in expected.items():
        got = data["groups"][label]
        sd = np.std(acc[:, 0] - acc[:, 1], ddof=1) / np.sqrt(2)
        assert got["configurations"] == len(acc) and got["seed_sd"] == pytest.approx(sd)
        assert got["se_of_mean"] == pytest.approx(sd / np.sqrt(2))
        assert got["sd_of_means"] == pytest.approx(np.std(acc.mean(axis=1), ddof=1))
        assert got["best_mean"] == pytest.approx(acc.mean(axis=1).max())
        assert got["seed_correlation"] == pytest.approx(np.corrcoef(acc[:, 0], acc[:, 1])[0, 1])
    assert "| correlation of the seeds |" in (tmp_path / "seed_noise.md").read_text(encoding="utf-8")
    assert module.main(["--table", str(synthetic_csv), "--group-by", "rank", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--group-by 'rank' is not a dimension column" in err and "allowed: method" in err


def test_seed_sd_is_the_two_way_residual_and_two_seeds_the_difference_formula() -> None:
    module = load_script("seed_noise.py", "seed_noise")
    rng = np.random.default_rng(3)
    residual = rng.normal(size=(6, 3))
    residual -= residual.mean(axis=1, keepdims=True)
    residual -= residual.mean(axis=0, keepdims=True)  # rows and columns of the residual now sum to 0
    acc = 0.6 + rng.normal(size=(6, 1)) + np.array([[0.01, -0.02, 0.03]]) + residual
    assert module.seed_sd(acc) == pytest.approx(np.sqrt((residual ** 2).sum() / (5 * 2)))
    two = acc[:, :2]
    assert module.seed_sd(two) == pytest.approx(np.std(two[:, 0] - two[:, 1], ddof=1) / np.sqrt(2))
    pairs = [np.corrcoef(acc[:, i], acc[:, j])[0, 1] for i, j in ((0, 1), (0, 2), (1, 2))]
    assert module.seed_correlation(acc) == pytest.approx(np.mean(pairs))
    assert module.seed_correlation(two) == pytest.approx(pairs[0])


def test_a_table_with_one_seed_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.bench import synthetic

    csv = synthetic.write(tmp_path, "one_seed", seeds=(0,), high=None)
    module = load_script("seed_noise.py", "seed_noise")
    assert module.main(["--table", str(csv), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no configuration has two or more training seeds" in err
