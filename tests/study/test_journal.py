"""The journal: state changes, requeue of interrupted trials, the run lock, schema versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from autopeft.study.journal import DB_NAME, SCHEMA_VERSION, Journal, JournalError
from autopeft.trial import Fidelity, TrialResult, config_key


def _result(acc: float) -> TrialResult:
    return TrialResult(config={"method": "ia3"}, fidelity=Fidelity(steps=3), seed=0, status="complete",
                       metrics={"accuracy": acc}, trainable_params=10, total_params=100)


def test_states_and_records(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "run", {"name": "r"}) as j:
        t = j.add_trial({"method": "ia3"}, Fidelity(steps=3), seed=1, origin="random")
        assert (t.number, t.state, t.attempts) == (1, "waiting", 0)
        assert j.start(1).state == "running"
        done = j.finish(1, _result(0.5))
        assert done.state == "complete" and done.result == _result(0.5)
        assert done.values == {"accuracy": 0.5, "trainable_params": 10.0}
        assert j.counts()["complete"] == 1 and j.recipe == {"name": "r"}


def test_interrupted_trials_are_requeued(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "run", {}) as j:
        for _ in range(3):
            j.add_trial({"method": "ia3"}, Fidelity(steps=3), seed=0, origin="random")
        j.start(1)
        j.finish(1, _result(0.4))
        j.start(2)
        j.add_trial({"method": "ia3"}, Fidelity(steps=6), seed=0, origin="finalize:1", phase="finalize")
        j.start(4)
    with Journal.open(tmp_path / "run") as j:
        assert j.requeue_interrupted("search") == [2]
        assert [t.state for t in j.trials()] == ["complete", "waiting", "waiting"]
        assert j.trial(2).attempts == 1 and j.trial(1).result == _result(0.4)
        assert j.trial(4).state == "running"  # another phase's trial is left to that phase
        assert j.requeue_interrupted("finalize") == [4] and j.trial(4).state == "waiting"


def test_a_run_is_held_by_one_process(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "run", {}), pytest.raises(JournalError, match="in progress"):
        Journal.open(tmp_path / "run")
    Journal.open(tmp_path / "run").close()  # released on close
    with Journal.open(tmp_path / "run"):
        Journal.open(tmp_path / "run", lock=False).close()  # readers need no lock


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="not a run folder"):
        Journal.open(tmp_path)
    Journal.create(tmp_path / "run", {}).close()
    with pytest.raises(JournalError, match="already holds a run"):
        Journal.create(tmp_path / "run", {})
    conn = sqlite3.connect(tmp_path / "run" / DB_NAME)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="newer"):
        Journal.open(tmp_path / "run")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / DB_NAME).write_text("not sqlite")
    with pytest.raises(JournalError):
        Journal.open(tmp_path / "junk")


def test_config_key_is_canonical() -> None:
    a = {"method": "lora", "lora.ranks": {"encoder.1": 2, "encoder.0": 4}}
    b = {"lora.ranks": {"encoder.0": 4, "encoder.1": 2}, "method": "lora"}
    assert config_key(a) == config_key(b)
