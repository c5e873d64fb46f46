"""autopeft.bench.recorded: a committed command names no path of the machine it ran on."""

from __future__ import annotations

from pathlib import Path

from autopeft.bench.recorded import recorded_command, shown_path


def test_a_path_inside_the_repository_is_relative_and_one_outside_is_its_name(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "benchmarks").mkdir(parents=True)
    assert shown_path(root / "benchmarks" / "t.csv", root) == "benchmarks/t.csv"
    assert shown_path(tmp_path / "elsewhere" / "t.csv", root) == "t.csv"


def test_only_the_values_of_path_flags_are_rewritten(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    argv = ["--table", str(root / "b" / "t.csv"), "--seeds", "3", "--out", str(tmp_path / "x" / "out"), "--table"]
    assert recorded_command("benchmarks/s.py", argv, ("--table", "--out"), root) == \
        "python benchmarks/s.py --table b/t.csv --seeds 3 --out out --table"
    assert recorded_command("benchmarks/s.py", [], ("--table",), root) == "python benchmarks/s.py"
