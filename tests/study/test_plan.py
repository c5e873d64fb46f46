"""``autopeft search --dry-run``: the search's own checks, what it would train, and nothing written."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from autopeft.cli import main
from autopeft.study.journal import Journal
from autopeft.study.recipe import load_recipe
from autopeft.study.search import run_search


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_dry_run_says_what_the_search_would_train_and_writes_nothing(
        tiny_recipe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, text, err = run(["search", str(tiny_recipe), "--dry-run", "--budget", "4"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run folder, no runs/
    lines = text.splitlines()
    assert lines[0] == "dry run: every check a search makes before it starts passed; nothing was trained or written"
    assert lines[1].startswith("recipe tiny: model ") and "space tiny-layers (" in lines[1]
    assert "method: lora, ia3, head_only" in lines[1]
    assert lines[2] == ("data: 88 train / 16 validation / 16 test examples (data seed 0; drawn from 120 examples)")
    assert "budget 4: 2 reference point(s), then 2 proposal(s) by random" in lines
    assert "trials run on engine inprocess, 1 at a time" in lines
    code, text, err = run(["search", str(tiny_recipe), "--dry-run", "--workers", "2"], capsys)
    assert code == 0 and "trials run on engine pool, 2 at a time" in text.splitlines(), err
    shown = dict(re.findall(r"^  (\S+): ([\d,]+) trainable params$", text, flags=re.M))
    assert list(shown) == ["peft_default_lora", "later_layers_only"]

    out = tmp_path / "run"  # the counts are what the search journals for the same points
    run_search(load_recipe(tiny_recipe), out, budget=2, stream=io.StringIO())
    with Journal.open(out, lock=False) as journal:
        trained = {t.origin.partition(":")[2]: t.result.trainable_params for t in journal.trials() if t.result}
    assert {name: int(n.replace(",", "")) for name, n in shown.items()} == trained


def test_a_dry_run_names_the_references_the_budget_leaves_out_and_refuses_what_a_search_refuses(
        tiny_recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text, err = run(["search", str(tiny_recipe), "--dry-run", "--budget", "1"], capsys)
    assert code == 0, err
    assert "budget 1: 1 reference point(s), then 0 proposal(s) by random" in text
    assert "note: the reference points take 2 trials and the budget is 1, so random proposes no trial, and " \
           "later_layers_only is left out" in text
    for args, message in ((["--controller", "nope"], "unknown controller 'nope'"),
                          (["--budget", "0"], "--budget must be"),
                          (["--n-test", "500"], "leave none for train"),
                          # where the trials would run is checked too, as a start checks it
                          (["--workers", "0"], "--workers must be an integer >= 1, got 0"),
                          (["--workers-per-gpu", "0"], "--workers-per-gpu must be an integer >= 1, got 0"),
                          (["--engine", "inprocess", "--workers", "2"], "engine 'inprocess' runs one trial at a time"),
                          (["--engine", "nope"], "unknown engine 'nope'; allowed: inprocess, nni, pool"),
                          (["--nni-port", "8090"], "--nni-port, --nni-host and --nni-config need --engine nni")):
        code, _, err = run(["search", str(tiny_recipe), "--dry-run", *args], capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run(["search", "--resume", str(tmp_path), "--dry-run"], capsys)
    assert code == 2 and "--dry-run checks a new search, and a resumed one goes on from its journal" in err


def test_a_search_whose_engine_cannot_run_its_workers_writes_nothing(
        tiny_recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Refused before the run folder is made, as the dry run refuses it (it used to leave an empty journal)."""
    out = tmp_path / "run"
    code, _, err = run(["search", str(tiny_recipe), "--engine", "inprocess", "--workers", "2", "--out", str(out)],
                       capsys)
    assert code == 2 and "engine 'inprocess' runs one trial at a time, got --workers 2" in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
