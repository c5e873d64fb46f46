"""benchmarks/search_efficiency.py on synthetic tables: the goals it writes are the replays' numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from autopeft.bench.compare import compare, strategy_options
from autopeft.bench.table import load_table
from autopeft.controllers.transfer import LEVEL_SHRINK
from tests.bench import synthetic
from tests.bench.scripts import load_script
from tests.bench.synthetic import OBJECTIVES


def _table(folder: Path, name: str, *, complete: bool = True, **kwargs: object) -> Path:
    return synthetic.write_sharp(folder, name, sidecar={"complete": complete}, **kwargs)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("efficiency")
    return _table(folder, "task_a"), _table(folder, "task_b", noise=0.02)


def test_the_goals_are_the_replays_numbers(tables: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # the optuna: peers come with the optional bench extra, which the README's test line installs
    pytest.importorskip("optuna", reason="optuna (the optional bench extra) is not installed")
    a, b = tables
    module = load_script("search_efficiency.py", "search_efficiency")
    cache = sys.modules["replay_cache"]  # the kept replays' module, as the script imported it
    code = module.main(["--table", str(a), "--other", str(b), "--seeds", "2", "--budget", "5",
                        "--peers", "optuna:tpe", "--seeds-for", "optuna:tpe=1", "--out", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "task_a.json").read_text(encoding="utf-8"))
    assert data["seeds"] == [1000, 1001] and data["reference"] == "sharp" and not data["partial_table"]
    assert (tmp_path / "task_a.png").stat().st_size > 0
    curves = {s["strategy"]: s for part in data["parts"].values() for s in part["strategies"]}
    table = load_table(a)
    # the same replays, run directly, give the same curves
    direct = compare(table, ["bo", "random"], budget=5, budgets={"random": 15}, seeds=2, seed_start=1000,
                     objectives=OBJECTIVES, reference="sharp")
    for s in direct.summaries:
        assert np.allclose(s.mean, curves[s.strategy]["mean"], atol=1e-6)
    peers = data["goals"]["peers"]
    bo = direct.summary("bo").ratios[:, 4]
    tpe = np.array(data["parts"]["peers"]["strategies"][1]["final"])
    vs = peers["peers"]["optuna:tpe"]["bo_vs"]
    assert len(tpe) == 1 and vs["seeds"] == 1  # --seeds-for: paired on the seed both ran, 1000
    assert vs["ahead"] == int(bo[0] > tpe[0] + 1e-12) and vs["ahead"] + vs["tied"] + vs["behind"] == 1
    assert peers["random_median_at"] == pytest.approx(np.median(direct.summary("random").ratios[:, 14]))
    assert peers["goal_random"] == (peers["bo_median_at"] >= peers["random_median_at"] - 1e-12)
    # random at bo's own budget, paired by seed: the same replays' numbers at trial 5
    same = peers["bo_vs_random_same_budget"]
    rnd5 = direct.summary("random").ratios[:, 4]
    assert same["ahead"] == int(((bo - rnd5) > 1e-12).sum()) and same["behind"] == int(((rnd5 - bo) > 1e-12).sum())
    assert peers["random_median_same"] == pytest.approx(np.median(rnd5))
    # the oracle's floor: no seed of any strategy beats its curve, and it reaches 0.99 where it says
    oracle = data["oracle"]["curve"]
    k = data["oracle"]["trials_to_target"]
    assert oracle[k - 1] >= 0.99 - 1e-6 and (k == 1 or oracle[k - 2] < 0.99)
    for s in direct.summaries:
        width = min(s.ratios.shape[1], len(oracle))
        assert (s.ratios[:, :width] <= np.array(oracle[:width]) + 1e-6).all()
    assert f"a search that knew the table: {k})" in (tmp_path / "task_a.md").read_text(encoding="utf-8")
    # multi-fidelity: the level is high:bo's final median, and each cost is where a median curve first reaches it
    mf = data["goals"]["mf"]
    high = np.median(np.array([r for r in _runs(data, "mf", "high:bo")]), axis=0)
    assert mf["level"] == pytest.approx(high[-1]) and mf["at_cost"] == 10
    assert mf["high_cost"] == int(np.flatnonzero(high >= mf["level"] - 1e-12)[0]) + 1
    # warm start: trials to 0.99 per seed are where each curve first reaches it
    warm = data["goals"]["warm"]
    for name, key in (("bo", "cold"), ("warm:bo", "warm")):
        for row, hit in zip(_runs(data, "warm", name), warm[key]["per_seed"], strict=True):
            reached = np.flatnonzero(np.array(row) >= 0.99 - 1e-12)
            assert hit == (int(reached[0]) + 1 if reached.size else None)
    text = (tmp_path / "task_a.md").read_text(encoding="utf-8")
    assert "Seeds 1000-1001" in text and "against `optuna:tpe`" in text and "not results" not in text
    # run again: every replay is taken from what the first run kept, and the results are the same
    first = (tmp_path / "task_a.json").read_text(encoding="utf-8")
    (tmp_path / "task_a.json").unlink()
    assert module.main(["--table", str(a), "--other", str(b), "--seeds", "2", "--budget", "5",
                        "--peers", "optuna:tpe", "--seeds-for", "optuna:tpe=1", "--out", str(tmp_path)]) == 0
    again = json.loads((tmp_path / "task_a.json").read_text(encoding="utf-8"))
    assert again["goals"] == json.loads(first)["goals"]
    assert "kept from" in capsys.readouterr().err
    # where the replays ran: one entry per replay file (bo's, shared by two parts, once), kept ones included
    here = json.dumps(cache.stack(), sort_keys=True)
    assert data["machines"] == again["machines"] == {here: 2 + 1 + 2 + 2 + 2 + 2}
    assert again["replay_seconds"] == data["replay_seconds"] > 0
    assert f"Replays: 11 on {cache.stack()['cpu'] or 'an unnamed CPU'}" in text
    # a replay kept under other controller options (a default changed since) is replayed again, not reused
    kept = sorted((tmp_path / "task_a.done").glob("bo-5-1000-*.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text(encoding="utf-8"))["options"]["n_initial"] == 8
    stale = json.loads(kept[0].read_text(encoding="utf-8"))
    stale["options"]["n_initial"], stale["curve"] = 3, [0.0] * 5
    kept[0].write_text(json.dumps(stale), encoding="utf-8")
    capsys.readouterr()
    assert module.main(["--table", str(a), "--other", str(b), "--seeds", "2", "--budget", "5",
                        "--peers", "optuna:tpe", "--seeds-for", "optuna:tpe=1", "--out", str(tmp_path)]) == 0
    assert "replayed under other options, replaying again" in capsys.readouterr().err
    third = json.loads((tmp_path / "task_a.json").read_text(encoding="utf-8"))
    assert third["goals"] == again["goals"]
    assert json.loads(kept[0].read_text(encoding="utf-8"))["options"]["n_initial"] == 8
    # an option added since a replay was kept counts as the value that did what the code of before did: a kept
    # replay that lacks it is kept where today's value is that one, and replayed again where it is not
    warm = sorted((tmp_path / "task_a.done").glob("warm_bo-5-1000-*.json"))
    assert len(warm) == 1
    for before, replayed in ((strategy_options("warm:bo")["prior_level_shrink"], False), (LEVEL_SHRINK * 4, True)):
        older = json.loads(warm[0].read_text(encoding="utf-8"))
        older["options"].pop("prior_level_shrink", None)
        warm[0].write_text(json.dumps(older), encoding="utf-8")
        capsys.readouterr()
        monkeypatch.setattr(cache, "ADDED_SINCE", {"prior_level_shrink": before})
        assert module.main(["--table", str(a), "--other", str(b), "--seeds", "2", "--budget", "5",
                            "--peers", "optuna:tpe", "--seeds-for", "optuna:tpe=1", "--out", str(tmp_path)]) == 0
        err = capsys.readouterr().err
        assert ("warm:bo seed 1000: " + ("" if replayed else f"kept from {warm[0]}")) in err
        assert ("warm:bo seed 1000: " in err and "replaying again" in err) == replayed


def test_machines_text_names_each_machine_and_the_unrecorded_replays() -> None:
    module = load_script("search_efficiency.py", "search_efficiency")
    one = json.dumps({"python": "3.11.7", "numpy": "2.4.6", "machine": "x86_64", "cpu": "AMD EPYC"}, sort_keys=True)
    assert module.machines_text({"unrecorded": 3, one: 5}) == \
        "5 on AMD EPYC (x86_64; numpy 2.4.6, python 3.11.7); 3 kept before machines were recorded"


def _runs(data: dict[str, object], part: str, strategy: str) -> list[list[float]]:
    """Per-seed curves of ``strategy`` rebuilt from the JSON (mean over one seed is the curve itself)."""
    summary = next(s for s in data["parts"][part]["strategies"] if s["strategy"] == strategy)  # type: ignore[index]
    return [list(c) for c in summary["curves"]]


def test_an_unfinished_table_is_refused_unless_partial(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = _table(tmp_path, "half", complete=False)
    module = load_script("search_efficiency.py", "search_efficiency")
    assert module.main(["--table", str(csv), "--parts", "peers", "--peers", "", "--seeds", "1",
                        "--budget", "3", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "is not finished" in err and "--partial" in err and len(err.strip().splitlines()) == 1
    assert module.main(["--table", str(csv), "--parts", "peers", "--peers", "", "--seeds", "1", "--budget", "3",
                        "--partial", "--out", str(tmp_path / "out")]) == 0
    assert "not results" in (tmp_path / "out" / "half.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "message"), [
    (["--parts", "peers,fast"], "--parts 'peers,fast': allowed: peers, mf, warm"),
    (["--parts", "warm"], "--parts warm needs --other TABLE"),
    (["--seeds-for", "optuna:gp=0"], "--seeds-for 'optuna:gp=0': expected NAME=N with N from 1 to --seeds (20)"),
])
def test_bad_arguments_are_one_line(tables: tuple[Path, Path], tmp_path: Path, args: list[str], message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    module = load_script("search_efficiency.py", "search_efficiency")
    assert module.main(["--table", str(tables[0]), *args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
