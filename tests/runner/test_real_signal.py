"""Real pretrained training (slow, still run by CI): MiniLM on tweets-sentiment at a small fidelity.

A search is only meaningful if configurations differ for real: LoRA must beat the majority-class
baseline and a head-only configuration trained for the same number of steps.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from autopeft.runner import TrainingConfig, Worker
from autopeft.tasks import load_task_data
from autopeft.trial import Fidelity

pytestmark = pytest.mark.slow

STEPS = 80
ALL_BLOCKS = {f"encoder.{i}": 8 for i in range(6)}


@pytest.fixture(scope="module")
def worker() -> Worker:
    data = load_task_data("tweets-sentiment", seed=0, n_train=1000, n_validation=400, n_test=200)
    training = TrainingConfig(batch_size=16, eval_batch_size=128, max_length=64, curve_fractions=(1.0,))
    return Worker("minilm", data, training)


def _accuracy(worker: Worker, config: dict[str, Any]) -> float:
    result = worker.run(config, Fidelity(steps=STEPS), seed=0)
    assert result.status == "complete", result.error
    assert all(math.isfinite(v) for v in result.metrics.values()), result.metrics
    assert 0 <= result.metrics["ece"] <= 1 and result.metrics["nll"] > 0
    return result.metrics["accuracy"]


def test_lora_beats_majority_and_head_only(worker: Worker) -> None:
    labels = [ex.label for ex in worker.data.validation]
    majority = Counter(labels).most_common(1)[0][1] / len(labels)
    lora = _accuracy(worker, {"method": "lora", "lora.ranks": ALL_BLOCKS, "lora.modules": "attention",
                              "lora.learning_rate": 2e-3})
    head = max(_accuracy(worker, {"method": "head_only", "head_only.learning_rate": lr}) for lr in (2e-3, 1e-2))
    assert lora > majority + 0.05, (lora, majority)
    assert lora > head, (lora, head)
