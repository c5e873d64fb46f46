"""benchmarks/replay_cache.py: kept replays are keyed by what a replay reads of its table, not by the table's bytes,
so a build that goes on at the other fidelity keeps the single-fidelity replays made on its partial table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from autopeft.bench.compare import MULTI, SINGLE
from autopeft.bench.table import load_table
from tests.bench import synthetic
from tests.bench.scripts import load_script


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    """One table, twice: partway (its main fidelity only, ``complete: false``) and finished (60-step rows added,
    a build record in the sidecar)."""
    partial = synthetic.write_sharp(tmp_path / "partial", "task", high=None, sidecar={"complete": False})
    done = synthetic.write_sharp(tmp_path / "done", "task", sidecar={"complete": True, "compute_seconds": 9.5})
    return partial, done


def test_the_key_is_what_a_replay_reads(tmp_path: Path) -> None:
    load_script("search_efficiency.py", "search_efficiency")  # puts benchmarks/ on the path
    cache = sys.modules["replay_cache"]
    partial, done = _pair(tmp_path)
    a, b = load_table(partial), load_table(done)
    assert cache.digest(str(partial)) != cache.digest(str(done))  # the bytes differ
    assert cache.replay_digest(a, SINGLE) == cache.replay_digest(b, SINGLE)  # what a replay at 30 steps reads does not
    assert cache.replay_digest(a, MULTI) != cache.replay_digest(b, MULTI)  # the multi-fidelity study reads 60 too
    # one changed number in one main-fidelity row changes it
    text = done.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    column = header.index("accuracy")
    row = next(i for i, line in enumerate(text) if i and line.split(",")[column])
    cells = text[row].split(",")
    cells[column] = repr(float(cells[column]) + 1e-9)
    text[row] = ",".join(cells)
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "task.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    (changed / "task.json").write_text(done.with_suffix(".json").read_text(encoding="utf-8"), encoding="utf-8")
    assert cache.replay_digest(load_table(changed / "task.csv"), SINGLE) != cache.replay_digest(b, SINGLE)
    # a different majority-class accuracy moves the sharp reference, so it changes the key too
    other = synthetic.write_sharp(tmp_path / "other", "task", majority=0.5, sidecar={"complete": True})
    assert cache.replay_digest(load_table(other), SINGLE) != cache.replay_digest(b, SINGLE)
    assert [cache.study_of(n) for n in ("bo", "optuna:tpe", "warm:bo", "mf:bo", "high:bo")] == \
        [SINGLE, SINGLE, SINGLE, MULTI, MULTI]


def test_a_finished_build_keeps_the_replays_made_on_it_partway(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    module = load_script("search_efficiency.py", "search_efficiency")
    partial, done = _pair(tmp_path)
    out = tmp_path / "out"
    args = ["--peers", "", "--seeds", "2", "--budget", "4", "--out", str(out)]
    assert module.main(["--table", str(partial), "--parts", "peers", "--partial", *args]) == 0
    first = json.loads((out / "task.json").read_text(encoding="utf-8"))
    capsys.readouterr()
    assert module.main(["--table", str(done), "--parts", "peers,mf", *args]) == 0
    err = capsys.readouterr().err
    for name in ("bo", "random"):
        for seed in (1000, 1001):
            assert f"{name} seed {seed}: kept from" in err
    assert "mf:bo seed 1000: kept from" not in err  # it reads the 60-step rows the partial table lacked
    again = json.loads((out / "task.json").read_text(encoding="utf-8"))
    assert again["goals"]["peers"] == first["goals"]["peers"] and not again["partial_table"]


def test_replays_kept_under_the_older_key_are_still_found(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    module = load_script("search_efficiency.py", "search_efficiency")
    cache = sys.modules["replay_cache"]
    _, done = _pair(tmp_path)
    out = tmp_path / "out"
    args = ["--table", str(done), "--parts", "peers", "--peers", "", "--seeds", "1", "--budget", "4",
            "--out", str(out)]
    assert module.main(args) == 0
    table = load_table(done)
    today = cache.cache_file(out / "task.done", cache.replay_digest(table, SINGLE), "bo", 4, 1000, "sharp")
    older = cache.cache_file(out / "task.done", cache.digest(str(done)), "bo", 4, 1000, "sharp")
    record = json.loads(today.read_text(encoding="utf-8"))
    record["curve"] = [0.5] * 4  # marked, to see which file the rerun read
    older.write_text(json.dumps(record), encoding="utf-8")
    today.unlink()
    capsys.readouterr()
    assert module.main(args) == 0
    assert f"bo seed 1000: kept from {older}" in capsys.readouterr().err
    bo = json.loads((out / "task.json").read_text(encoding="utf-8"))["parts"]["peers"]["strategies"][0]
    assert bo["strategy"] == "bo" and bo["curves"] == [[0.5] * 4]
    assert not today.exists()  # a kept replay is read where it is, not copied
