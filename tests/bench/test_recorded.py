"""autopeft.bench.recorded: a committed command names no path of the machine it ran on; results go to two files."""

from __future__ import annotations

import json
from pathlib import Path

from autopeft.bench.recorded import recorded_command, shown_path, write_results


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


def test_write_results_writes_both_files_side_by_side(tmp_path: Path) -> None:
    stem = tmp_path / "new" / "minilm.v2"   # a dotted name keeps its whole stem
    json_path, md_path = write_results(stem, {"command": "python x.py", "ratio": 0.5}, "# title\n")
    assert (json_path.name, md_path.name) == ("minilm.v2.json", "minilm.v2.md")
    assert json.loads(json_path.read_text(encoding="utf-8")) == {"command": "python x.py", "ratio": 0.5}
    assert json_path.read_text(encoding="utf-8").endswith("}\n")
    assert md_path.read_text(encoding="utf-8") == "# title\n"
