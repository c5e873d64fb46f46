"""Summaries over seeds against hand-computed numbers, the comparison, and ``autopeft bench``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from autopeft.bench.compare import MULTI, SINGLE, Summary, compare, strategy_names, strategy_options
from autopeft.bench.table import Table, objectives_from
from autopeft.cli import main
from autopeft.errors import ConfigError

OBJECTIVES = objectives_from(["accuracy", "trainable_params"])


def hand_summary() -> Summary:
    """Three seeds, budget 4: ratios chosen so that every statistic is easy to compute by hand."""
    ratios = np.array([[0.50, 0.90, 0.95, 1.00],
                       [0.60, 0.70, 0.80, 0.96],
                       [0.40, 0.80, 0.90, 0.94]])
    return Summary("x", SINGLE, (0, 1, 2), ratios)


def test_mean_standard_error_and_median_by_hand() -> None:
    s = hand_summary()
    mean, se, median = s.at(2)  # type: ignore[misc]
    assert mean == pytest.approx(0.8)
    assert se == pytest.approx(0.1 / math.sqrt(3))  # sample sd of (0.9, 0.7, 0.8) is 0.1
    assert median == pytest.approx(0.8)
    assert s.at(0) is None and s.at(5) is None
    assert s.at(4) == pytest.approx((2.9 / 3, np.std([1.0, 0.96, 0.94], ddof=1) / math.sqrt(3), 0.96))


def test_trials_to_95_percent_by_hand() -> None:
    median, reached, per_seed = hand_summary().to_target(0.95)
    assert per_seed == [3, 4, None]       # seed 0 reaches 0.95 at trial 3, seed 1 at 4, seed 2 never
    assert (median, reached) == (4.0, 2)  # median of (3, 4, never)
    median, reached, per_seed = hand_summary().to_target(0.99)
    assert per_seed == [4, None, None] and median is None and reached == 1


def test_summary_json_has_the_checkpoints_it_reached() -> None:
    data = hand_summary().to_dict()
    assert data["at"] == {}  # a budget of 4 reaches none of 25 / 50 / 100
    assert data["to_target"] == {"target": 0.95, "median": 4.0, "reached": 2, "per_seed": [3, 4, None]}
    assert data["curves"] == hand_summary().ratios.round(6).tolist()  # every seed's curve
    with pytest.raises(ValueError, match="one row per seed"):
        Summary("x", SINGLE, (0, 1), np.zeros((3, 4)))


def test_a_comparison_on_the_same_seeds(table: Table) -> None:
    result = compare(table, ["random", "evolution", "mf:random", "high:random"], budget=26, seeds=3,
                     seed_start=5, objectives=OBJECTIVES, budgets={"random": 30})
    assert [s.strategy for s in result.summaries] == ["random", "evolution", "mf:random", "high:random"]
    assert [s.study for s in result.summaries] == [SINGLE, SINGLE, MULTI, MULTI]
    assert all(s.seeds == (5, 6, 7) for s in result.summaries)
    assert result.summary("random").budget == 30 and result.summary("evolution").budget == 26
    assert result.summary("random").at(25) is not None and result.summary("random").at(50) is None
    text = result.text()
    assert "single fidelity at 30 steps: 250 configurations (+3 that do not build)" in text
    assert "multi-fidelity: target 60 steps on the 70 configurations" in text
    assert "Spearman rho of accuracy, 30 vs 60 steps" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["single"]["configurations"] == 250 and data["multi_fidelity"]["paired"] == 70
    assert len(data["strategies"][0]["mean"]) == 30
    # the first strategy of each study against the others, each at the end of its own budget, paired by seed
    single, multi = data["paired"]
    assert (single["strategy"], single["budget"], single["against"], single["against_budget"]) == (
        "random", 30, "evolution", 26)
    assert (multi["strategy"], multi["against"]) == ("mf:random", "high:random")
    diff = result.summary("random").ratios[:, -1] - result.summary("evolution").ratios[:, -1]
    assert (single["ahead"], single["behind"]) == (int((diff > 1e-12).sum()), int((diff < -1e-12).sum()))
    assert single["median_difference"] == pytest.approx(float(np.median(np.where(abs(diff) <= 1e-12, 0, diff))))
    assert "paired by seed, random after 30 against each after its own budget:" in text
    assert f"evolution after 26: ahead on {single['ahead']}, tied on {single['tied']}" in text


def test_unknown_strategies_and_bad_seed_counts_are_config_errors(table: Table) -> None:
    with pytest.raises(ConfigError, match="unknown strategy 'annealing'; allowed: bo, bo:forest"):
        compare(table, ["annealing"], budget=5, seeds=1, objectives=OBJECTIVES)
    with pytest.raises(ConfigError, match="unknown controller 'nope'"):
        compare(table, ["mf:nope"], budget=5, seeds=1, objectives=OBJECTIVES)
    with pytest.raises(ConfigError, match="--seeds must be an integer >= 1"):
        compare(table, ["random"], budget=5, seeds=0, objectives=OBJECTIVES)
    for start in (-1, 2**32, 1.5):
        with pytest.raises(ConfigError, match=f"--seed-start must be an integer from 0 to 4294967295, got {start}"):
            compare(table, ["random"], budget=5, seeds=1, seed_start=start, objectives=OBJECTIVES)  # type: ignore[arg-type]
    assert "mf:bo:forest" in strategy_names()


def test_strategy_options_are_the_controllers_defaults_then_its_specs() -> None:
    from autopeft.controllers.bo import BayesianOptimization

    bo = dict(BayesianOptimization.defaults)
    del bo["prior"]  # a warm start's prior is keyed by its own bytes, not by its options
    assert strategy_options("bo") == strategy_options("warm:bo") == strategy_options("mf:bo") == bo
    assert strategy_options("bo:forest") == {**bo, "surrogate": "forest"}
    assert strategy_options("random") == {}
    for name in strategy_names():  # every strategy has options a kept replay can record (JSON)
        json.dumps(strategy_options(name), default=repr)
    with pytest.raises(ConfigError, match="unknown strategy 'annealing'; allowed: bo, bo:forest"):
        strategy_options("annealing")


# ---- the command line ------------------------------------------------------------------------------------------
def test_cli_prints_the_table_and_writes_json(synthetic_csv: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    code = main(["bench", "--table", str(synthetic_csv), "--controller", "random,evolution", "--controller",
                 "mf:random", "--budget", "25", "--seeds", "2", "--seed-start", "1", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "random" in text and "evolution" in text and "mf:random" in text and f"wrote {out}" in text
    assert [s["seeds"] for s in json.loads(out.read_text())["strategies"]] == [[1, 2]] * 3


def test_cli_takes_the_table_as_its_first_argument(synthetic_csv: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """``autopeft bench TABLE`` as ``autopeft report RUN``; ``--table`` still works, and the two may not differ."""
    args = ["--controller", "random", "--budget", "5", "--seeds", "1"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["bench", str(synthetic_csv), *args, "--out", str(first)]) == 0
    assert main(["bench", "--table", str(synthetic_csv), *args, "--out", str(second)]) == 0
    curves = [[s["curves"] for s in json.loads(f.read_text())["strategies"]] for f in (first, second)]
    assert curves[0] == curves[1]
    assert main(["bench", str(synthetic_csv), "--table", str(synthetic_csv), *args]) == 0
    capsys.readouterr()
    other = tmp_path / "other.csv"
    assert main(["bench", str(synthetic_csv), "--table", str(other), *args]) == 2
    assert capsys.readouterr().err == (f"autopeft: error: two tables: {synthetic_csv} and --table {other}; allowed: "
                                       "one table, as TABLE or as --table\n")
    assert main(["bench", *args]) == 2
    assert "no table given; allowed: a PEFT-Bench CSV, e.g. `autopeft bench " in capsys.readouterr().err


def test_cli_budget_for_gives_one_controller_its_own_budget(synthetic_csv: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert main(["bench", "--table", str(synthetic_csv), "--controller", "bo,random", "--budget", "10",
                 "--budget-for", "random=30", "--seeds", "2", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [(s["strategy"], s["budget"]) for s in data["strategies"]] == [("bo", 10), ("random", 30)]
    assert data["paired"][0]["against_budget"] == 30
    assert "random after 30: ahead on" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--budget", "500"], "budget 500 is larger than the table"),
    (["--controller", "simulated_annealing"], "unknown strategy 'simulated_annealing'"),
    (["--objectives", "accuracy,ece"], "must be distinct and include trainable_params"),
    (["--seeds", "0"], "--seeds must be an integer >= 1"),
    (["--budget-for", "random=x"], "--budget-for 'random=x': allowed: NAME=N with N an integer >= 1"),
    (["--budget-for", "random=0"], "--budget-for 'random=0': allowed: NAME=N"),
    (["--budget-for", "random"], "--budget-for 'random': allowed: NAME=N"),
    (["--budget-for", "evolution=9"], "'evolution' is not one of the controllers compared; allowed: random, bo"),
    (["--budget-for", "random=900"], "budget 900 is larger than the table"),
    (["--controller", "bo,random", "--controller", "bo"], "--controller 'bo' is given twice; allowed: each "),
    (["--controller", "bo", "--warm-start", "{table}"], "--warm-start is given but no strategy uses it"),
    (["--controller", "bo,warm:bo", "--warm-start", "{table}"], "is the table being replayed, so the warm start"),
    # a bad --out is refused before the replays, which would otherwise be lost to a traceback
    (["--out", "{table}/r.json"], "is a file, so no folder can be made under it; allowed: a JSON file this user"),
    (["--out", "{folder}"], "it is a folder; allowed: a JSON file this user can write"),
])
def test_cli_bad_input_is_one_line_and_exit_2(synthetic_csv: Path, capsys: pytest.CaptureFixture[str],
                                              args: list[str], message: str) -> None:
    args = [a.format(table=synthetic_csv, folder=synthetic_csv.parent) for a in args]
    assert main(["bench", "--table", str(synthetic_csv), "--seeds", "1", "--budget", "5", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("autopeft: error: ") and message in err


def test_cli_table_problems_are_one_line(tmp_path: Path, synthetic_csv: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--table", str(tmp_path / "missing.csv")]) == 2
    assert "no such table" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("method,seed\nlora,0\n")
    (tmp_path / "bad.json").write_text((synthetic_csv.with_suffix(".json")).read_text())
    assert main(["bench", "--table", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the columns do not match space 'peftbench-minilm': missing columns" in err


# ---- layering and docstrings -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["autopeft.bench.replay", "autopeft.bench.multifidelity"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_one_seed_or_one_strategy_has_no_paired_comparison(table: Table) -> None:
    one_seed = compare(table, ["random", "evolution"], budget=5, seeds=1, objectives=OBJECTIVES)
    alone = compare(table, ["random"], budget=5, seeds=3, objectives=OBJECTIVES)
    assert one_seed.paired() == [] == alone.paired()
    assert "paired by seed" not in one_seed.text() + alone.text()


def test_a_budget_between_the_checkpoints_gets_its_own_column(table: Table) -> None:
    short = compare(table, ["random", "evolution"], budget=10, seeds=3, objectives=OBJECTIVES)
    lines = short.text().splitlines()
    head = next(line for line in lines if line.strip().startswith("strategy"))
    assert "at budget mean ± se" in head
    for s in short.summaries:  # the ratio after the 10th trial, where @25 and on are empty
        row = next(line for line in lines if line.strip().startswith(s.strategy + " "))
        mean, se, _ = s.at(10) or (0.0, 0.0, 0.0)
        assert f"{mean:.3f} ± {se:.3f}" in row
    at_checkpoints = compare(table, ["random"], budget=25, seeds=2, objectives=OBJECTIVES)
    assert "at budget" not in at_checkpoints.text()  # 25 is a checkpoint: no extra column
