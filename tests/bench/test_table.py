"""Reading, checking and answering from a PEFT-Bench table (a synthetic one over the real space file)."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from autopeft.bench.table import (
    Table,
    TableError,
    dimension_columns,
    load_table,
    objectives_from,
    sidecar_path,
)
from autopeft.errors import ConfigError
from autopeft.trial import config_key
from tests.bench import synthetic

OBJECTIVES = objectives_from(["accuracy", "trainable_params"])


def rewrite(src: Path, dst_folder: Path, edit: object) -> Path:
    """A copy of the table whose CSV rows (header included, as lists) went through ``edit``."""
    dst = dst_folder / src.name
    shutil.copy(sidecar_path(src), sidecar_path(dst))
    with src.open(newline="") as f:
        rows = list(csv.reader(f))
    rows = edit(rows)  # type: ignore[operator]
    with dst.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return dst


def test_the_space_file_is_finite_and_in_range() -> None:
    space = synthetic.space()
    members = list(space.enumerate())
    assert space.cardinality() == len(members) == 253
    assert 150 <= len(members) <= 300
    assert {c["method"] for c in members} == {"lora", "ia3", "ln_tuning", "head_only"}
    assert len({config_key(c) for c in members}) == len(members)


def test_a_written_table_reads_back(table: Table) -> None:
    assert table.fidelities == (30, 60)
    assert table.main_fidelity == 30
    assert len(table.configs(30)) == 250 and len(table.unbuildable(30)) == 3
    every = table.entries[(config_key(table.configs(30)[5]), 30)]
    assert [r.seed for r in every.rows] == [0, 1]
    config = {"method": "head_only", "head_only.learning_rate": 0.04}
    assert table.trainable_params(config) == synthetic.HEAD
    assert table.total_params == synthetic.TOTAL
    row = table.entry(config, 30).rows[1]
    assert row.ok and math.isclose(row.metrics["accuracy"], synthetic.accuracy(config) + 0.008 * synthetic._unit(
        config_key(table.space.validate(config)), 30, 1))
    assert set(row.metrics) >= {"accuracy", "macro_f1", "ece", "mce", "brier", "nll", "ece_ts"}


def test_columns_are_the_dimensions_with_one_per_block() -> None:
    columns = dimension_columns(synthetic.space())
    assert columns[:5] == ["method", "lora.ranks[encoder.2]", "lora.ranks[encoder.3]", "lora.ranks[encoder.4]",
                           "lora.ranks[encoder.5]"]
    assert "head_only.learning_rate" in columns


def test_a_group_label_is_the_method_and_the_cells_it_has() -> None:
    from autopeft.bench.table.cells import group_label, unknown_column

    space = synthetic.space()
    lora = {"method": "lora", "lora.ranks": {"encoder.2": 0, "encoder.3": 4, "encoder.4": 0, "encoder.5": 16},
            "lora.modules": "qv", "lora.alpha_ratio": 2.0, "lora.learning_rate": 0.008}
    columns = ["lora.modules", "lora.ranks[encoder.5]"]
    assert group_label(space, lora, columns) == "lora lora.modules=qv lora.ranks[encoder.5]=16"
    assert group_label(space, {"method": "head_only", "head_only.learning_rate": 0.01}, columns) == "head_only"
    assert unknown_column(space, columns) is None
    problem = unknown_column(space, ["lora.modules", "lora.ranks"])
    assert problem is not None and problem.startswith("'lora.ranks' is not a dimension column")
    assert "allowed: method, lora.ranks[encoder.2]" in problem


def test_missing_and_extra_columns_are_named(synthetic_csv: Path, tmp_path: Path) -> None:
    def drop(rows: list[list[str]]) -> list[list[str]]:
        i = rows[0].index("lora.ranks[encoder.3]")
        return [r[:i] + r[i + 1:] for r in rows]

    with pytest.raises(TableError, match=r"missing columns lora\.ranks\[encoder\.3\]"):
        load_table(rewrite(synthetic_csv, tmp_path, drop))

    def add(rows: list[list[str]]) -> list[list[str]]:
        return [[*rows[0], "lora.dropout"]] + [[*r, ""] for r in rows[1:]]

    with pytest.raises(TableError, match=r"extra columns lora\.dropout \(not dimensions of the space\)"):
        load_table(rewrite(synthetic_csv, tmp_path, add))


def test_a_bad_cell_names_row_column_and_choices(synthetic_csv: Path, tmp_path: Path) -> None:
    def bad(rows: list[list[str]]) -> list[list[str]]:
        i = rows[0].index("lora.ranks[encoder.4]")
        rows[5][i] = "7"
        return rows

    with pytest.raises(TableError, match=r"row 6: column 'lora\.ranks\[encoder\.4\]': '7' is not one of the "
                                         r"choices of 'lora\.ranks'; allowed: 0, 4, 16"):
        load_table(rewrite(synthetic_csv, tmp_path, bad))


def test_duplicate_rows_and_bad_states_are_errors(synthetic_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(TableError, match="a second row for configuration"):
        load_table(rewrite(synthetic_csv, tmp_path, lambda rows: [*rows, rows[-1]]))

    def state(rows: list[list[str]]) -> list[list[str]]:
        rows[3][rows[0].index("state")] = "done"
        return rows

    with pytest.raises(TableError, match="row 4: column 'state': 'done' is not allowed; allowed: complete, failed"):
        load_table(rewrite(synthetic_csv, tmp_path, state))


def test_a_missing_sidecar_or_file_is_a_table_error(synthetic_csv: Path, tmp_path: Path) -> None:
    lone = tmp_path / "lone.csv"
    shutil.copy(synthetic_csv, lone)
    with pytest.raises(TableError, match="sidecar"):
        load_table(lone)
    with pytest.raises(TableError, match="no such table"):
        load_table(tmp_path / "nope.csv")
    side = json.loads(sidecar_path(synthetic_csv).read_text())
    side["layout"] = {"encoder": 0}
    sidecar_path(lone).write_text(json.dumps(side))
    with pytest.raises(TableError, match="layout"):
        load_table(lone)


def test_a_configuration_the_table_lacks_is_named(synthetic_csv: Path, tmp_path: Path) -> None:
    def without_first_ia3(rows: list[list[str]]) -> list[list[str]]:
        return [rows[0]] + [r for r in rows[1:] if not (r[0] == "ia3" and r[rows[0].index("ia3.learning_rate")]
                                                        == "0.01" and r[rows[0].index("ia3.modules")] ==
                                                        "attn.k+attn.v+ffn.out")]

    table = load_table(rewrite(synthetic_csv, tmp_path, without_first_ia3))
    config = {"method": "ia3", "ia3.modules": "attn.k+attn.v+ffn.out", "ia3.learning_rate": 0.01}
    key = config_key(config)
    with pytest.raises(TableError, match=f"has no row for configuration {key.replace('+', '[+]')} at 30 steps"):
        table.entry(config, 30)
    with pytest.raises(TableError, match="no row for configuration"):
        table.trainable_params(config)
    with pytest.raises(TableError, match="not a member of space"):
        table.entry({"method": "ia3", "ia3.modules": "nope", "ia3.learning_rate": 0.01}, 30)


def test_an_unbuildable_member_is_a_config_error_for_controllers(table: Table) -> None:
    (config, *_) = table.unbuildable(30)
    with pytest.raises(ConfigError, match=r"does not build: ConfigError: option 'lora\.ranks': every rank is 0"):
        table.trainable_params(config)


def test_front_and_hypervolume_against_brute_force(table: Table) -> None:
    front, values, hv = table.front(30, OBJECTIVES)
    # brute force: every member's seed means, dominance by pairwise comparison, area by a sweep in raw units
    members = table.configs(30)
    points = [(float(np.mean([r.metrics["accuracy"] for r in table.entry(c, 30).rows])),
               math.log10(table.trainable_params(c))) for c in members]
    non_dominated = [p for p in points if not any(q[0] >= p[0] and q[1] <= p[1] and q != p for q in points)]
    np.testing.assert_allclose(sorted(non_dominated, key=lambda p: p[1]),
                               [(v[0], math.log10(v[1])) for v in values], rtol=1e-9)
    top = math.log10(synthetic.TOTAL)
    area, best = 0.0, 0.0
    for acc, logp in sorted(non_dominated, key=lambda p: p[1]):
        if acc > best:  # a sweep over increasing parameters: each new best accuracy adds a strip to the right
            area += (acc - best) * (top - logp)
            best = acc
    assert hv == pytest.approx(area, rel=1e-12)
    assert len(front) == len(non_dominated)


def test_objectives_must_include_parameters() -> None:
    with pytest.raises(ConfigError, match="include trainable_params"):
        objectives_from(["accuracy", "ece"])
    with pytest.raises(ConfigError, match="unknown objective 'speed'"):
        objectives_from(["speed", "trainable_params"])


def test_a_replay_on_an_objective_the_table_did_not_record_is_refused(table: Table) -> None:
    """It used to replay, and score every strategy 0 against an empty front."""
    from autopeft.bench.compare import compare

    with pytest.raises(ConfigError, match=r"objective\(s\) balanced_accuracy: table .* did not record them; "
                                          r"allowed: accuracy, .*with trainable_params"):
        compare(table, ["random"], budget=3, seeds=1, objectives=objectives_from(["balanced_accuracy",
                                                                                   "trainable_params"]))
    table.check_objectives(objectives_from(["accuracy", "trainable_params"]))  # recorded: no error


def test_a_row_reads_back_as_the_result_it_was_written_from(tmp_path: Path) -> None:
    """write_table flattens a TrialResult into a row; Measurement.to_result gives back every field the row keeps
    (what a table build that imports an earlier table's rows journals)."""
    from autopeft.bench.table import TableMeta, write_table
    from autopeft.trial import Fidelity, TrialResult

    sp = synthetic.space()
    done, broken = next(c for c in sp.enumerate() if c["method"] == "ia3"), sp.default()
    fidelity = Fidelity(steps=30, train_fraction=1.0)
    results = [
        TrialResult(config=done, fidelity=fidelity, seed=3, status="complete", metrics={"accuracy": 0.625, "nll": 1.5},
                    trainable_params=12_345, total_params=22_713_216, steps=30, train_seconds=6.25, eval_seconds=1.5,
                    peak_memory_mb=730.5, device="cuda:0"),
        TrialResult(config=broken, fidelity=fidelity, seed=0, status="failed", error="RuntimeError: out of memory",
                    steps=0),
    ]
    records = [{"config": r.config, "fidelity_steps": 30, "seed": r.seed, "state": r.status, "error": r.error,
                "metrics": dict(r.metrics), "trainable_params": r.trainable_params, "total_params": r.total_params,
                "steps": r.steps, "train_fraction": 1.0, "train_seconds": r.train_seconds,
                "eval_seconds": r.eval_seconds, "peak_memory_mb": r.peak_memory_mb, "device": r.device}
               for r in results]
    meta = TableMeta(name="one", space_text=synthetic.SPACE_FILE.read_text(encoding="utf-8"),
                     space_source="peftbench-minilm.yaml", layout=synthetic.LAYOUT)
    table = load_table(write_table(tmp_path / "one.csv", meta, sp, records))
    for original in results:
        entry = table.entry(original.config, 30)
        (row,) = entry.rows
        assert row.to_result(entry.config, fidelity) == original
    assert table.entry(done, 30).rows[0].seconds == pytest.approx(7.75)
    assert table.entry(done, 30).seconds() == pytest.approx(7.75)
