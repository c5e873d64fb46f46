"""benchmarks/front_trace.py on synthetic tables: what it writes is what the replays and the table give."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from autopeft.bench.compare import compare
from autopeft.bench.reference import reference_for
from autopeft.bench.table import load_table
from autopeft.bench.warm_start import load_prior
from tests.bench import synthetic
from tests.bench.scripts import load_script
from tests.bench.synthetic import OBJECTIVES


def trace_module() -> ModuleType:
    return load_script("front_trace.py", "front_trace")


def test_the_trace_is_the_replays_and_the_tables(tmp_path: Path) -> None:
    task, other = synthetic.sharp_pair(tmp_path)
    out = tmp_path / "out"
    code = trace_module().main(["--table", str(task), "--other", str(other), "--seeds", "1", "--seed-start", "5",
                                "--budget", "10", "--show", "4", "--out", str(out)])
    assert code == 0
    data = json.loads((out / "task_a.json").read_text(encoding="utf-8"))
    table = load_table(task)
    steps = table.main_fidelity
    front, values, _ = table.front(steps, OBJECTIVES, reference=reference_for(table, OBJECTIVES, "sharp"))
    assert [m["config"] for m in data["front"]] == [dict(c) for c in front]
    assert [m["accuracy"] for m in data["front"]] == pytest.approx(values[:, 0].tolist())
    prior = load_prior([str(other)], table.space, OBJECTIVES)
    result = compare(table, ["bo", "warm:bo"], budget=10, seeds=1, seed_start=5, objectives=OBJECTIVES,
                     reference="sharp", prior=prior)
    for summary in result.summaries:  # the same curves as search_efficiency.py's, so the same trials to 0.99
        runs = data["runs"][summary.strategy]
        assert [r["seed"] for r in runs] == [5]
        assert [r["ratio"] for r in runs] == pytest.approx(summary.ratios[:, -1].tolist())
        for r, curve in zip(runs, summary.ratios, strict=True):
            hit = np.flatnonzero(curve >= 0.99)
            assert r["to_target"] == (int(hit[0]) + 1 if hit.size else None)
            assert len(r["proposals"]) == 10
    rows = table.points(table.configs(steps), steps, OBJECTIVES)[:, 0]
    methods = [c["method"] for c in table.configs(steps)]
    for method, summary in data["methods"].items():  # brute force over the table's rows
        mine = [a for a, m in zip(rows, methods, strict=True) if m == method]
        rest = [a for a, m in zip(rows, methods, strict=True) if m != method]
        assert summary["rows"] == len(mine) and summary["best_accuracy"] == pytest.approx(max(mine))
        assert summary["rows_above_the_rest"] == sum(a > max(rest) for a in mine)
    text = (out / "task_a.md").read_text(encoding="utf-8")
    assert "--table task_a.csv" in text and str(tmp_path) not in text and "warm:bo, seed 5:" in text


def test_random_and_the_trials_per_method(tmp_path: Path) -> None:
    """``--random N`` adds random search at its own budget; the per-method counts are the proposals'."""
    task, _ = synthetic.sharp_pair(tmp_path)
    out = tmp_path / "out"
    assert trace_module().main(["--table", str(task), "--seeds", "2", "--budget", "6", "--random", "9",
                                "--show", "2", "--out", str(out)]) == 0
    data = json.loads((out / "task_a.json").read_text(encoding="utf-8"))
    assert set(data["runs"]) == {"bo", "random"} and data["random"] == 9
    assert [len(r["proposals"]) for r in data["runs"]["random"]] == [9, 9]
    assert [len(r["proposals"]) for r in data["runs"]["bo"]] == [6, 6]
    table = load_table(task)
    result = compare(table, ["random"], budget=9, seeds=2, seed_start=1000, objectives=OBJECTIVES, reference="sharp")
    assert [r["ratio"] for r in data["runs"]["random"]] == pytest.approx(result.summaries[0].ratios[:, -1].tolist())
    text = (out / "task_a.md").read_text(encoding="utf-8")
    assert "6 trials (random: 9)" in text
    for name, runs in data["runs"].items():
        counts = {m: trace_module().per_method(runs, m) for m in data["methods"]}
        assert [sum(c[i] for c in counts.values()) for i in range(2)] == [len(r["proposals"]) for r in runs]
        cells = " | ".join(f"{float(np.median(c)):g} ({min(c)}-{max(c)})" for c in counts.values())
        assert f"| {name} | {len(runs[0]['proposals'])} | {cells} |" in text
    with pytest.raises(SystemExit):
        trace_module().main(["--table", str(task), "--random", "-1"])


def test_found_counts_first_tries() -> None:
    runs = [{"proposals": [{"front": None}, {"front": 2}, {"front": 2}]}, {"proposals": [{"front": 1}]},
            {"proposals": [{"front": None}, {"front": None}, {"front": None}, {"front": 2}]}]
    found = trace_module().found
    assert found(runs, 2) == (2, 3.0) and found(runs, 1) == (1, 1.0) and found(runs, 0) == (0, None)


def test_a_table_without_a_sharp_reference_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = synthetic.write(tmp_path, "plain")
    code = trace_module().main(["--table", str(csv), "--seeds", "1", "--budget", "3", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "states no majority_accuracy" in err


def test_group_by_counts_each_proposal_in_its_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--group-by``: a group is the method and the named columns' cells; its rows and accuracies are the
    table's (brute force), and every proposal is counted in exactly one group."""
    from autopeft.bench.table.cells import config_cells

    task, _ = synthetic.sharp_pair(tmp_path)
    out = tmp_path / "out"
    columns = "lora.modules,lora.ranks[encoder.5]"
    assert trace_module().main(["--table", str(task), "--seeds", "2", "--budget", "8", "--random", "12",
                                "--group-by", columns, "--out", str(out)]) == 0
    data = json.loads((out / "task_a.json").read_text(encoding="utf-8"))
    table = load_table(task)
    steps = table.main_fidelity
    members = table.configs(steps)
    accuracy = table.points(members, steps, OBJECTIVES)[:, 0]
    expected: dict[str, list[float]] = {}
    for config, a in zip(members, accuracy, strict=True):
        cells = config_cells(table.space, config)
        label = str(config["method"])
        if config["method"] == "lora":
            label += f" lora.modules={cells['lora.modules']} lora.ranks[encoder.5]={cells['lora.ranks[encoder.5]']}"
        expected.setdefault(label, []).append(float(a))
    assert data["group_by"] == columns.split(",")
    assert set(data["groups"]) == set(expected)
    for label, values in expected.items():
        group = data["groups"][label]
        assert group["rows"] == len(values) and group["best_accuracy"] == pytest.approx(max(values))
        assert group["median_accuracy"] == pytest.approx(float(np.median(values)))
    for name, runs in data["runs"].items():
        per_group = trace_module().per_group
        assert sum(per_group(runs, g) for g in data["groups"]) == pytest.approx(len(runs[0]["proposals"])), name
    text = (out / "task_a.md").read_text(encoding="utf-8")
    assert "## Trials per group of method and `lora.modules`, `lora.ranks[encoder.5]`" in text
    assert trace_module().main(["--table", str(task), "--group-by", "lora.rank", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'lora.rank'" in err and "allowed: method, lora.ranks[encoder.2]" in err
    assert trace_module().main(["--table", str(task), "--group-by", ",", "--out", str(out)]) == 2
    assert "--group-by '' is not a dimension column" in capsys.readouterr().err
