"""autopeft.report.cells: each value's text, worked by hand."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from autopeft.report.cells import csv_text, lr_text, minutes, num, params_text, plus_minus, shown_path


def test_numbers_counts_and_missing_values() -> None:
    assert num(0.123456) == "0.1235" and num(2, 1) == "2.0"
    assert num(None) == "" and num(math.nan) == ""
    assert params_text(1234567.0) == "1,234,567" and params_text(None) == ""


@pytest.mark.parametrize(("seconds", "text"), [(0, "0.0 min"), (90, "1.5 min"), (3599, "60.0 min"),
                                               (3600, "1.00 h"), (5400, "1.50 h")])
def test_wall_times_switch_to_hours_at_one_hour(seconds: float, text: str) -> None:
    assert minutes(seconds) == text


def test_test_means_and_learning_rates() -> None:
    assert plus_minus({"test_accuracy_mean": 0.5, "test_accuracy_std": 0.125}, "accuracy") == "0.5000 ± 0.1250"
    assert plus_minus({}, "accuracy") == ""
    assert lr_text(0.0005) == "0.0005" and lr_text(None) == "as configured"


def test_paths_relative_inside_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert shown_path(str(tmp_path / "runs" / ".." / "runs" / "a")) == "runs/a"
    outside = tmp_path.parent / "elsewhere"
    assert shown_path(str(outside)) == str(outside.resolve())


def test_csv_columns_are_every_key_in_first_seen_order() -> None:
    text = csv_text([{"a": 1, "b": 2}, {"c": 3, "a": 4}])
    assert text.splitlines()[0] == "a,b,c"
    assert list(csv.DictReader(io.StringIO(text))) == [{"a": "1", "b": "2", "c": ""}, {"a": "4", "b": "", "c": "3"}]
