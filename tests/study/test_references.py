"""Reference points swept over learning rates, and the tuned point of each (checked against brute force)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pytest

from autopeft.objectives import objectives_of
from autopeft.study.references import (
    parse_reference_origin,
    reference_origin,
    sweep_references,
    tuned_references,
)

REFS = {"peft_default_lora": {"method": "lora", "lora.r": 8},
        "full_finetune": {"method": "full"},
        "mine": {"method": "lora", "lora.r": 2, "lora.learning_rate": 0.01}}
DEFAULT_LR = {"lora": 5e-4, "full": 5e-5}


def test_sweep_is_each_factor_times_the_method_default() -> None:
    swept = sweep_references(REFS, [1, 4, 16], DEFAULT_LR.__getitem__)
    lora = {k: v for k, v in swept.items() if k.startswith("peft_default_lora")}
    assert [v["learning_rate"] for v in lora.values()] == [5e-4, 2e-3, 8e-3]
    assert [v["learning_rate"] for k, v in swept.items() if k.startswith("full_finetune")] == [5e-5, 2e-4, 8e-4]
    assert swept["mine"] == REFS["mine"]                      # a reference with its own learning rate is kept
    for key, config in swept.items():
        parsed = parse_reference_origin(f"reference:{key}")
        assert parsed is not None
        name, lr = parsed
        assert name in REFS and {k: v for k, v in config.items() if k != "learning_rate"} == {
            k: v for k, v in REFS[name].items() if k != "learning_rate"}
        if lr is not None:
            assert config["learning_rate"] == lr
    assert sweep_references(REFS, [1], DEFAULT_LR.__getitem__) == REFS   # [1]: no sweep, origins unchanged


def test_origins_round_trip() -> None:
    for name, lr in itertools.product(["a", "later_layers_only"], [None, 5e-05, 0.002, 0.008]):
        assert parse_reference_origin(reference_origin(name, lr)) == (name, lr)
    assert parse_reference_origin("bo") is None and parse_reference_origin("finalize:3") is None


@dataclass
class FakeTrial:
    origin: str
    state: str
    values: dict[str, float] = field(default_factory=dict)


@pytest.mark.parametrize("objective", ["accuracy", "ece"])
def test_tuned_reference_is_the_best_of_its_sweep(objective: str) -> None:
    rng = np.random.default_rng(0)
    trials = []
    for name in ("a", "b", "c"):
        for lr in (1e-4, 1e-3, 1e-2):
            state = "failed" if name == "c" else str(rng.choice(["complete", "complete", "failed"]))
            values = {objective: float(rng.random())} if state == "complete" else {}
            trials.append(FakeTrial(reference_origin(name, lr), state, values))
    trials.append(FakeTrial("bo", "complete", {objective: 2.0}))
    obj = objectives_of([objective, "trainable_params"])[0]
    tuned = tuned_references(trials, obj)
    pick = max if obj.direction == "max" else min
    for name in ("a", "b"):
        done = [t for t in trials if t.origin.startswith(f"reference:{name}@") and t.state == "complete"]
        assert tuned[name] is pick(done, key=lambda t: t.values[objective])
    assert "c" not in tuned                                   # every point of its sweep failed
