"""Guards the refactor of replays onto the study loop: the committed table, fixed seeds, exactly the numbers
the replays gave before (``data/replays-before-the-loop.json``, recorded from the stand-alone replay loops)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autopeft.bench.multifidelity import MultiFidelity, replay_high, replay_promotion
from autopeft.bench.replay import Run, replay
from autopeft.bench.table import load_table, objectives_from
from autopeft.trial import config_key

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = json.loads((Path(__file__).parent / "data" / "replays-before-the-loop.json").read_text())
OBJECTIVES = objectives_from(["accuracy", "trainable_params"])


@pytest.fixture(scope="module")
def committed() -> object:
    return load_table(ROOT / "benchmarks" / "peftbench" / "minilm-tweets.csv")


def _run(table: object, key: str) -> Run:
    name, budget, seed = key.split("/")
    if name.startswith(("mf:", "high:")):
        mf = MultiFidelity(table, OBJECTIVES)  # type: ignore[arg-type]
        fn = replay_promotion if name.startswith("mf:") else replay_high
        return fn(mf, name.split(":", 1)[1], budget=int(budget), seed=int(seed))
    return replay(table, name, budget=int(budget), seed=int(seed), objectives=OBJECTIVES)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_replay_gives_exactly_the_recorded_numbers(committed: object, key: str) -> None:
    run = _run(committed, key)
    assert [config_key(c) for c in run.configs] == EXPECTED[key]["configs"]
    assert run.ratio.tolist() == EXPECTED[key]["ratio"]
    assert run.hypervolume.tolist() == EXPECTED[key]["hypervolume"]
