"""The runner: fine-tune and evaluate one configuration at one fidelity (what every search trial calls).

>>> from autopeft.runner import Worker, run_trial                      # doctest: +SKIP
>>> result = run_trial("minilm", "tweets-sentiment", {"method": "ia3"}, Fidelity(steps=50))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autopeft.runner.config import TrainingConfig
from autopeft.runner.worker import Worker, pick_device
from autopeft.trial import Fidelity, TrialResult

__all__ = ["Fidelity", "TrainingConfig", "TrialResult", "Worker", "pick_device", "run_trial"]


def run_trial(model_id: str, task: Any, config: Mapping[str, Any], fidelity: Fidelity, *, seed: int = 0,
              data_seed: int = 0, n_train: int | None = None, training: TrainingConfig | None = None,
              test: bool = False) -> TrialResult:
    """One trial from scratch (loads the model and the task): a convenience over :class:`Worker`."""
    from autopeft.tasks import load_task_data

    data = load_task_data(task, seed=data_seed, n_train=n_train)
    return Worker(model_id, data, training).run(config, fidelity, seed, test=test)
