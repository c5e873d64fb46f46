"""benchmarks/peftbench/build.py on a tiny BERT: a table that loads, and a build that resumes after a crash."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from autopeft.bench.table import load_table
from autopeft.study.journal import Journal
from autopeft.trial import config_key
from tests.bench import synthetic
from tests.bench.scripts import load_script


def build_module() -> ModuleType:
    return load_script("peftbench/build.py", "peftbench_build")


def tiny_recipe(folder: Path, model: Path, data: Path) -> Path:
    path = folder / "recipe.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: tiny-bench
        model: {model}
        task: {{file: {data}, text_fields: [text], label_field: label}}
        space: {synthetic.SPACE_FILE}
        data: {{seed: 0, n_validation: 16, n_test: 16}}
        fidelity: {{steps: 2}}
        training: {{batch_size: 8, eval_batch_size: 16, max_length: 16, curve_fractions: [1.0]}}
        search: {{references: false}}
        """))
    return path


class Crash(Exception):
    """Stands in for kill -9 in the middle of a trial."""


def test_a_tiny_build_writes_a_table_and_resumes_after_a_crash(tmp_path: Path, tiny_bert_dir: Path,
                                                               sentiment_csv: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from autopeft.runner.worker import Worker

    build = build_module()
    run, table = tmp_path / "run", tmp_path / "out" / "tiny.csv"
    args = ["--recipe", str(tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv)), "--out", str(run), "--table",
            str(table), "--limit", "4", "--low-steps", "2", "--high-steps", "3", "--high-count", "2", "--seeds", "2"]
    real_run = Worker.run
    calls: list[Any] = []
    crash_at = [5]  # the fifth trial of the first run is left 'running' in the journal

    def crashing(self: Worker, config: Any, fidelity: Any, seed: int = 0, **kw: Any) -> Any:
        calls.append((config, fidelity.steps, seed))
        if len(calls) == crash_at[0]:
            raise Crash
        return real_run(self, config, fidelity, seed, **kw)

    monkeypatch.setattr(Worker, "run", crashing)
    with pytest.raises(Crash):
        build.main(args)
    # seed-major order: all four members' seed 0 first, so a build stopped part-way leaves whole seeds
    assert [(steps, seed) for _, steps, seed in calls[:4]] == [(2, 0)] * 4
    assert len({config_key(config) for config, _, _ in calls[:4]}) == 4
    with Journal.open(run, lock=False) as journal:
        assert journal.counts()["complete"] + journal.counts()["failed"] == 4
        assert journal.counts()["running"] == 1
    calls.clear()
    crash_at[0] = 0
    assert build.main(args) == 0
    assert len(calls) == 4 * 2 - 4 + 2 * 2  # the crashed trial and the rest, never the four finished ones
    with Journal.open(run, lock=False) as journal:
        trials = journal.trials()
        assert len(trials) == 12 and {t.state for t in trials} <= {"complete", "failed"}
        assert max(t.attempts for t in trials) == 2  # the crashed one ran twice
        subset = journal.meta("peftbench_high_subset")
    loaded = load_table(table)
    assert loaded.fidelities == (2, 3)
    assert sum(len(e.rows) for e in loaded.entries.values()) == 12
    assert {e.key for (_, f), e in loaded.entries.items() if f == 3} == {
        e.key for (_, f), e in loaded.entries.items() if f == 3 and e.config in subset}
    assert loaded.meta.layout == {"encoder": 3}
    assert table.with_suffix(".md").read_text().startswith("# PEFT-Bench table `tiny.csv`")
    calls.clear()
    assert build.main(args) == 0 and calls == []  # a finished build trains nothing more
    other = [*args[:-2], "--seeds", "3"]
    assert build.main(other) == 2  # other settings on the same journal: refused, one line


def test_import_takes_an_earlier_tables_rows_and_trains_only_the_rest(tmp_path: Path, tiny_bert_dir: Path,
                                                                        sentiment_csv: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A 1-seed table imported into a 2-seed build: its rows are not trained again, the rewritten rows are the
    imported ones byte for byte, and a table of another recipe is refused naming what differs."""
    from autopeft.runner.worker import Worker

    build = build_module()
    recipe = tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv)
    common = ["--recipe", str(recipe), "--limit", "3", "--low-steps", "2", "--high-steps", "3", "--high-count", "1"]
    first = tmp_path / "one.csv"
    assert build.main([*common, "--seeds", "1", "--out", str(tmp_path / "r1"), "--table", str(first)]) == 0
    real_run = Worker.run
    calls: list[Any] = []

    def counting(self: Worker, config: Any, fidelity: Any, seed: int = 0, **kw: Any) -> Any:
        calls.append((config_key(config), fidelity.steps, seed))
        return real_run(self, config, fidelity, seed, **kw)

    monkeypatch.setattr(Worker, "run", counting)
    second = tmp_path / "two.csv"
    assert build.main([*common, "--seeds", "2", "--out", str(tmp_path / "r2"), "--table", str(second),
                       "--import", str(first)]) == 0
    held = {(e.key, f, r.seed) for (_, f), e in load_table(first).entries.items() for r in e.rows}
    assert not held & set(calls)  # nothing the first table holds was trained again
    assert sorted(s for _, f, s in calls if f == 2) == [1, 1, 1]  # at the low fidelity only seed 1 was trained
    old, new = first.read_text().splitlines(), second.read_text().splitlines()
    info = load_table(second).meta.info
    # the subset may differ (chosen on 2-seed means): a high-fidelity import of 0 rows is not listed
    high_imported = sum(i["rows"] for i in info["imported"] if i["fidelity_steps"] == 3)
    assert [i["rows"] for i in info["imported"] if i["fidelity_steps"] == 2] == [3]
    assert new[0] == old[0] and len(set(old[1:]) & set(new[1:])) == 3 + high_imported
    assert len(new) - 1 == 2 * 3 + 2 * 1 and info["complete"] is True
    trained = len(calls)
    other = tmp_path / "other.yaml"
    other.write_text(recipe.read_text().replace("n_validation: 16", "n_validation: 12"))
    code = build.main(["--recipe", str(other), *common[2:], "--seeds", "2", "--out", str(tmp_path / "r3"),
                       "--table", str(tmp_path / "three.csv"), "--import", str(first)])
    assert code == 2 and len(calls) == trained  # refused before anything trained
    assert "built with other settings: data (" in capsys.readouterr().err


def test_import_reads_data_fields_added_later_at_their_defaults() -> None:
    """A table written before ``official_splits``/``split_names`` existed (the 2-seed bbc-news table) was built with
    them at their defaults: it is importable; one built with official splits is not."""
    from types import SimpleNamespace

    from autopeft.errors import ConfigError
    from autopeft.study.recipe import DataConfig

    build = build_module()
    old = {"seed": 0, "n_train": 1000, "n_validation": 500, "n_test": 600}
    recipe = SimpleNamespace(model="minilm", task_name="bbc-news", data=DataConfig(0, 1000, 500, 600),
                             training=SimpleNamespace(to_dict=dict))
    ctx = SimpleNamespace(recipe=recipe, space=SimpleNamespace(spec=SimpleNamespace(text="space")),
                          graph=SimpleNamespace(layout={"encoder": 6}))

    def source(data: dict[str, Any]) -> Any:
        info = {"model": "minilm", "task": "bbc-news", "data": data, "training": {}}
        return SimpleNamespace(meta=SimpleNamespace(info=info, space_text="space", layout={"encoder": 6}))

    build.check_importable(source(old), ctx, "old.csv")  # no error
    with pytest.raises(ConfigError, match="official_splits"):
        build.check_importable(source({**old, "official_splits": True}), ctx, "official.csv")
    with pytest.raises(ConfigError, match="n_train"):
        build.check_importable(source({**old, "n_train": 900}), ctx, "smaller.csv")


def test_choose_subset_takes_the_front_then_strata() -> None:
    build = build_module()
    low = [({"method": "head_only", "i": 0}, 0.60, 1_000.0), ({"method": "lora", "i": 1}, 0.70, 10_000.0),
           ({"method": "lora", "i": 2}, 0.65, 20_000.0), ({"method": "lora", "i": 3}, 0.72, 50_000.0),
           ({"method": "ia3", "i": 4}, 0.62, 15_000.0), ({"method": "lora", "i": 5}, 0.50, 40_000.0)]
    picked = build.choose_subset(low, 4, seed=0)
    assert [c["i"] for c in picked[:3]] == [0, 1, 3]  # the front, in table order
    assert len(picked) == 4 and len({c["i"] for c in picked}) == 4
    assert build.choose_subset(low, 4, seed=0) == picked
    assert len(build.choose_subset(low, 99, seed=0)) == len(low)


def test_spread_covers_the_space_evenly() -> None:
    build = build_module()
    members = [{"i": i} for i in range(10)]
    assert [m["i"] for m in build.spread(members, 4)] == [0, 3, 6, 9]
    assert build.spread(members, None) == members and build.spread(members, 50) == members
