"""The report's data: placements per (module, block) against hand counts, importance on a closed form,
and the clear errors for runs that cannot be reported."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from autopeft.errors import AutopeftError, ReportError
from autopeft.report.collect import check_comparable, load_run, placement_of
from autopeft.report.importance import feature_groups, kfold, permutation_importance
from autopeft.study.journal import Journal


class _T:  # the two fields placement_of reads from a trial
    def __init__(self, config: dict[str, object]) -> None:
        self.config = config


def test_placement_separates_encoder_and_decoder_blocks(tiny_t5_dir: Path) -> None:
    from autopeft.model.graph import ModelGraph
    from autopeft.model.loading import skeleton

    graph = ModelGraph.from_model(skeleton(str(tiny_t5_dir)))
    only_dec1 = {"method": "lora", "lora.modules": "qv",
                 "lora.ranks": {"encoder.0": 0, "encoder.1": 0, "encoder.2": 0, "decoder.0": 0, "decoder.1": 4}}
    all_r2 = {"method": "lora", "lora.modules": "qv", "lora.r": 2}
    p = placement_of([_T(only_dec1), _T(all_r2)], graph)  # type: ignore[list-item]
    assert p.stacks == {"encoder": 3, "decoder": 2} and p.configs == 2
    q = p.roles.index("attn.q")
    # by hand: all_r2 adapts q and v of every block (share 1/2 each), only_dec1 adds decoder block 1 at rank 4
    assert p.share["encoder"][q].tolist() == [0.5, 0.5, 0.5]
    assert p.share["decoder"][q].tolist() == [0.5, 1.0]
    assert p.rank_range["decoder"][q, 1].tolist() == [2.0, 4.0]
    assert p.rank_range["encoder"][q, 0].tolist() == [2.0, 2.0]
    k = p.roles.index("attn.k")
    assert p.share["encoder"][k].sum() == 0 and p.share["decoder"][k].sum() == 0


def test_feature_groups_split_per_layer_ranks_by_block() -> None:
    from autopeft.space import load_space

    spec = load_space(Path(__file__).parents[2] / "spaces" / "minilm-layers.yaml")
    space = spec.resolve({"encoder": 6})  # binds to a layout; no model needed
    groups = feature_groups(space)
    assert [g for g in groups if g.startswith("lora.ranks")] == [f"lora.ranks[encoder.{i}]" for i in range(6)]
    assert len(groups["method"]) == 5
    cols = sorted(c for cs in groups.values() for c in cs)
    assert cols == list(range(len(space.feature_names)))  # every column in exactly one group


def test_kfold_partitions() -> None:
    parts = kfold(23, 5, np.random.default_rng(0))
    joined = np.sort(np.concatenate(parts))
    assert joined.tolist() == list(range(23)) and {len(p) for p in parts} <= {4, 5}


def test_permutation_importance_finds_the_only_signal() -> None:
    rng = np.random.default_rng(1)
    X = rng.random((80, 5))
    y = np.sin(3 * X[:, 1]) + 0.01 * rng.normal(size=80)   # only column 1 matters
    names, share, r2 = permutation_importance(X, y, {"a": [0], "b": [1], "cd": [2, 3], "e": [4]}, repeats=3)
    assert names == ["a", "b", "cd", "e"]
    assert share[1] > 0.9 and abs(share.sum() - 1) < 1e-9 and (share >= 0).all()
    assert r2 > 0.8


def test_load_run_reads_the_tiny_run(tiny_run: Path) -> None:
    run = load_run(tiny_run)
    assert len(run.trials) == 14 and run.complete and run.front.trials
    assert run.knee is not None and run.best is not None
    assert run.finalized and run.finalized[0]["trial"] == run.knee.number
    assert run.placement is not None and run.importance is not None
    assert run.importance.observations >= 12
    assert [r["dimension"] for r in run.space_rows][:2] == ["method", "lora.ranks"]


def test_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(AutopeftError, match="is not a run folder"):
        load_run(tmp_path)


def test_empty_run(tmp_path: Path) -> None:
    Journal.create(tmp_path / "empty", {"name": "x", "text": "", "source": "x", "base": "."}).close()
    with pytest.raises(ReportError, match="has no trials yet"):
        load_run(tmp_path / "empty")


def test_all_failed_run(tiny_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "failed"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("finalized", ".lock"))
    with sqlite3.connect(copy / "study.db") as conn:
        conn.execute("UPDATE trials SET state = 'failed', error = 'out of memory: CUDA ran out' ")
    with pytest.raises(ReportError, match=r"no completed trial .*out of memory"):
        load_run(copy)


def test_runs_over_different_objectives(tiny_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ece"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("finalized", ".lock"))
    with Journal.open(copy) as journal:
        settings = journal.meta("settings")
        journal.set_meta("settings", {**settings, "objectives": ["accuracy", "trainable_params", "ece"]})
    run, other = load_run(tiny_run, details=False), load_run(copy, details=False)
    check_comparable(run, run)
    with pytest.raises(ReportError, match=r"--random .*ece'\], but .* optimised \['accuracy', 'trainable_params'\]; "
                                          "allowed: a baseline over the same objectives as its run"):
        check_comparable(run, other)


def test_a_run_whose_space_file_is_gone_is_reported_from_the_journaled_space(tiny_run: Path, tmp_path: Path) -> None:
    """The journal keeps the space's text: a run reported on another machine, or after its space file moved or
    changed, still lists its dimensions and gets the importance, as the run where it was made does."""
    import json

    copy = tmp_path / "moved"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("finalized", "*.lock"))
    with sqlite3.connect(copy / "study.db") as conn:
        (text,) = conn.execute("SELECT value FROM meta WHERE key = 'recipe'").fetchone()
        recipe = json.loads(text)
        assert recipe["space_text"]
        recipe["space"] = str(tmp_path / "gone" / "space.yaml")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'recipe'", (json.dumps(recipe),))
    here, there = load_run(tiny_run), load_run(copy)
    assert there.space_rows == here.space_rows and there.space_rows
    assert there.importance is not None and here.importance is not None
    assert there.importance.names == here.importance.names
    assert not [n for n in there.notes if "space" in n]
