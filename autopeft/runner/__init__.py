"""The runner: fine-tune and evaluate one configuration at one fidelity (what every search trial calls).

- :mod:`~autopeft.runner.worker` — :class:`~autopeft.runner.worker.Worker`: one base model and one tokenised
  task, many trials;
- :mod:`~autopeft.runner.train`, :mod:`~autopeft.runner.evaluate`, :mod:`~autopeft.runner.data`,
  :mod:`~autopeft.runner.memory` — the train loop, scoring, batching, peak memory;
- :mod:`~autopeft.runner.config` — :class:`~autopeft.runner.config.TrainingConfig` (no torch).

Importing this package imports no torch; ``Worker`` and ``run_trial`` load it when first used.

>>> from autopeft.runner import Worker, run_trial                      # doctest: +SKIP
>>> result = run_trial("minilm", "tweets-sentiment", {"method": "ia3"}, Fidelity(steps=50))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autopeft.runner.config import TrainingConfig
from autopeft.trial import Fidelity, TrialResult

if TYPE_CHECKING:
    from autopeft.runner.worker import Worker, pick_device

__all__ = ["Fidelity", "TrainingConfig", "TrialResult", "Worker", "pick_device", "run_trial"]


def __getattr__(name: str) -> Any:
    if name in ("Worker", "pick_device"):
        from autopeft.runner import worker

        return getattr(worker, name)
    raise AttributeError(f"module 'autopeft.runner' has no attribute {name!r}")


def run_trial(model_id: str, task: Any, config: Mapping[str, Any], fidelity: Fidelity, *, seed: int = 0,
              data_seed: int = 0, n_train: int | None = None, training: TrainingConfig | None = None,
              test: bool = False) -> TrialResult:
    """One trial from scratch (loads the model and the task): a convenience over :class:`Worker`."""
    from autopeft.runner.worker import Worker
    from autopeft.tasks import load_task_data

    data = load_task_data(task, seed=data_seed, n_train=n_train)
    return Worker(model_id, data, training).run(config, fidelity, seed, test=test)
