"""The runner on tiny models: metrics by model kind, pristine weights per trial, failures as records."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from autopeft.errors import ConfigError, TrialError
from autopeft.runner import TrainingConfig, Worker
from autopeft.runner.data import train_batches
from autopeft.runner.evaluate import rank_classification
from autopeft.runner.train import linear_schedule
from autopeft.space import parse_space
from autopeft.tasks import load_task_data, task_from_file
from autopeft.trial import Fidelity, TrialResult

TRAINING = TrainingConfig(batch_size=8, eval_batch_size=16, max_length=16, target_max_length=4)
CLASSIFICATION_KEYS = {"accuracy", "macro_f1", "ece", "mce", "brier", "nll", "temperature", "ece_ts", "score"}


def _data(csv_path: Path, seed: int = 0) -> Any:
    task = task_from_file(csv_path, text_fields=["text"], label_field="label", template="{text} options: {options}")
    return load_task_data(task, seed=seed, n_validation=24, n_test=24)


@pytest.fixture(scope="module")
def bert_worker(tiny_bert_dir: Path, sentiment_csv: Path) -> Worker:
    return Worker(str(tiny_bert_dir), _data(sentiment_csv), TRAINING)


@pytest.fixture(scope="module")
def t5_worker(tiny_t5_dir: Path, sentiment_csv: Path) -> Worker:
    return Worker(str(tiny_t5_dir), _data(sentiment_csv), TRAINING)


def _check_complete(result: TrialResult, steps: int) -> None:
    assert result.status == "complete", result.error
    assert set(result.metrics) >= CLASSIFICATION_KEYS
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert 0 <= result.metrics["accuracy"] <= 1 and result.metrics["score"] == result.metrics["accuracy"]
    assert result.steps == steps and result.train_seconds > 0 and result.eval_seconds > 0
    assert [f for f, _ in result.eval_curve] == [0.25, 0.5, 1.0]
    assert result.eval_curve[-1][1] == result.metrics["accuracy"]
    assert result.loss_curve and result.loss_curve[-1][0] == steps
    assert result.peak_memory_mb and result.peak_memory_mb > 0
    assert result.reliability is not None and sum(result.reliability["counts"]) == 24
    _check_confusion(result, "validation", result.metrics)
    if result.test_metrics is not None:
        _check_confusion(result, "test", result.test_metrics)
    assert 0 < result.trainable_params < result.total_params  # type: ignore[operator]


def _check_confusion(result: TrialResult, split: str, metrics: Any) -> None:
    """The split's confusion matrix holds every example once, and its diagonal and per-class F1 give the
    record's accuracy and macro-F1."""
    from autopeft.metrics import per_class

    assert result.confusion is not None
    matrix = np.array(result.confusion[split])
    assert matrix.shape == (2, 2) and matrix.sum() == 24
    assert np.trace(matrix) / 24 == pytest.approx(metrics["accuracy"])
    scores = per_class(matrix)
    present = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    assert scores["f1"][present].mean() == pytest.approx(metrics["macro_f1"])


def test_encoder_trial(bert_worker: Worker) -> None:
    result = bert_worker.run({"method": "lora", "lora.r": 2, "learning_rate": 1e-2}, Fidelity(steps=8), seed=1)
    _check_complete(result, 8)
    assert result.test_metrics is None and result.confusion is not None and set(result.confusion) == {"validation"}
    assert TrialResult.from_dict(result.to_dict()) == result


@pytest.mark.parametrize("kind", ["distilbert", "deberta"])
def test_other_encoder_families_run_trials(kind: str, tiny_models: dict[str, Path], sentiment_csv: Path) -> None:
    worker = Worker(str(tiny_models[kind]), _data(sentiment_csv), TRAINING)
    for config in ({"method": "lora", "lora.r": 2, "learning_rate": 1e-2}, {"method": "head_only"},
                   {"method": "prompt_tuning", "prompt_tuning.num_virtual_tokens": 2}):
        _check_complete(worker.run(config, Fidelity(steps=4), seed=1), 4)


def test_trainable_count_is_the_built_models(bert_worker: Worker) -> None:
    from autopeft.methods import build

    config = {"method": "ia3"}
    built = build(bert_worker.fresh_model(0), config, bert_worker.graph)
    result = bert_worker.run(config, Fidelity(steps=2))
    assert result.trainable_params == built.trainable_params and result.total_params == built.total_params


def test_seq2seq_rank_classification_trial(t5_worker: Worker) -> None:
    result = t5_worker.run({"method": "lora", "lora.r": 2, "learning_rate": 1e-2}, Fidelity(steps=4), seed=0,
                           test=True)
    _check_complete(result, 4)
    assert result.test_metrics is not None and set(result.test_metrics) >= CLASSIFICATION_KEYS
    assert result.confusion is not None and set(result.confusion) == {"validation", "test"}
    assert TrialResult.from_dict(result.to_dict()) == result


def test_rank_classification_scores_are_verbaliser_log_likelihoods(t5_worker: Worker) -> None:
    # fresh_model is a CPU copy (run() moves the built model); score it where the worker's context says, in
    # fp32 (no bf16 autocast on CUDA), so the brute force on the same device agrees to 1e-4
    device = t5_worker.device
    model = t5_worker.fresh_model(0).to(device).eval()
    data = t5_worker.encoded("validation")
    scores = rank_classification(model, data, dataclasses.replace(t5_worker._context(), dtype=None)).scores
    assert scores is not None and scores.shape == (len(data), 2)
    # brute force: one example and one verbaliser at a time, summed token log-probabilities
    for i in range(3):
        for k, ids in enumerate(t5_worker._verbalisers):
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([data.input_ids[i]], device=device),
                               labels=torch.tensor([ids], device=device)).logits
            logp = torch.log_softmax(logits[0].float(), -1)[range(len(ids)), ids].sum().item()
            assert scores[i, k] == pytest.approx(logp, abs=1e-4)
    assert np.all(scores <= 0)


def test_fresh_model_is_a_cpu_copy_and_run_moves_it(t5_worker: Worker) -> None:
    """The contract the test above relies on: the copy stays on the CPU whatever the worker's device, and a
    trial reports the device it ran on."""
    model = t5_worker.fresh_model(0)
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    assert model is not t5_worker.base
    assert t5_worker._context().device == t5_worker.device
    result = t5_worker.run({"method": "ia3"}, Fidelity(steps=1))
    assert result.status == "complete", result.error
    assert result.device == t5_worker.device.type


def test_generation_trial(tiny_t5_dir: Path, generation_jsonl: Path) -> None:
    task = task_from_file(generation_jsonl, text_fields=["source"], label_field="target", kind="generation",
                          template="{source}", metric="exact_match")
    worker = Worker(str(tiny_t5_dir), load_task_data(task, n_validation=8, n_test=8), TRAINING)
    result = worker.run({"method": "lora", "lora.r": 2, "learning_rate": 1e-2}, Fidelity(steps=3), test=True)
    assert result.status == "complete", result.error
    assert {"exact_match", "rouge_l", "score"} <= set(result.metrics)
    assert result.metrics["score"] == result.metrics["exact_match"]
    assert result.test_metrics is not None and 0 <= result.test_metrics["rouge_l"] <= 1
    assert result.confusion is None  # generated text has no classes


def test_each_trial_starts_from_pristine_weights(bert_worker: Worker) -> None:
    before = {n: p.clone() for n, p in bert_worker.base.state_dict().items()}
    config = {"method": "lora", "lora.r": 2, "learning_rate": 1e-2}
    first = bert_worker.run(config, Fidelity(steps=4), seed=3)
    meddle = bert_worker.run({"method": "full", "learning_rate": 5e-2}, Fidelity(steps=4), seed=4)
    assert meddle.status == "complete"
    again = bert_worker.run(config, Fidelity(steps=4), seed=3)
    assert again.metrics == first.metrics and again.loss_curve == first.loss_curve
    after = bert_worker.base.state_dict()
    assert all(torch.equal(before[n], after[n]) for n in before)


def test_seeds_change_the_run(bert_worker: Worker) -> None:
    config = {"method": "lora", "lora.r": 2, "learning_rate": 1e-2}
    a, b = (bert_worker.run(config, Fidelity(steps=4), seed=s) for s in (0, 1))
    assert a.loss_curve != b.loss_curve


def test_train_fraction_uses_a_prefix(bert_worker: Worker) -> None:
    rows = bert_worker._train_rows(0.25)
    full = bert_worker.encoded("train")
    assert len(rows) == math.ceil(0.25 * len(full)) and rows.input_ids == full.input_ids[: len(rows)]
    result = bert_worker.run({"method": "ia3"}, Fidelity(steps=3, train_fraction=0.25))
    assert result.status == "complete" and result.fidelity.train_fraction == 0.25


def test_nan_loss_is_a_failed_record(bert_worker: Worker) -> None:
    result = bert_worker.run({"method": "full", "learning_rate": 1e30}, Fidelity(steps=6))
    assert result.status == "failed" and "loss became" in (result.error or "")
    assert result.steps < 6


def test_an_exception_inside_a_trial_is_a_failed_record(bert_worker: Worker) -> None:
    ranks = dict.fromkeys(bert_worker.graph.block_ids(), 0)
    result = bert_worker.run({"method": "lora", "lora.ranks": ranks}, Fidelity(steps=2))
    assert result.status == "failed" and result.error and result.error.startswith("ConfigError: ")
    assert "\n" not in result.error


def test_out_of_memory_is_a_failed_record(bert_worker: Worker, monkeypatch: pytest.MonkeyPatch) -> None:
    import autopeft.runner.worker as worker_module

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(worker_module, "train", explode)
    result = bert_worker.run({"method": "ia3"}, Fidelity(steps=2))
    assert result.status == "failed" and result.error and result.error.startswith("out of memory")
    assert result.trainable_params is not None


def test_config_outside_the_space_is_an_error_not_a_record(bert_worker: Worker) -> None:
    spec = parse_space("name: s\ndimensions:\n  - {name: method, type: categorical, choices: [ia3]}\n", "s.yaml")
    worker = Worker.__new__(Worker)
    worker.__dict__.update(bert_worker.__dict__)
    worker.space = spec.resolve(bert_worker.graph.layout)
    with pytest.raises(ConfigError, match="'lora'"):
        worker.run({"method": "lora"}, Fidelity(steps=1))


def test_generation_task_on_an_encoder_is_refused(tiny_bert_dir: Path, generation_jsonl: Path) -> None:
    task = task_from_file(generation_jsonl, text_fields=["source"], label_field="target", kind="generation",
                          template="{source}")
    with pytest.raises(TrialError, match=r"cannot evaluate a generation task"):
        Worker(str(tiny_bert_dir), load_task_data(task, n_validation=8, n_test=8), TRAINING)


def test_train_batches_are_seeded_epoch_permutations() -> None:
    batches = list(train_batches(10, 4, 6, seed=5))
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4, 2]
    for epoch in (batches[:3], batches[3:]):
        assert sorted(i for b in epoch for i in b) == list(range(10))
    assert batches == list(train_batches(10, 4, 6, seed=5)) and batches != list(train_batches(10, 4, 6, seed=6))


def test_linear_schedule() -> None:
    f = linear_schedule(10, 2)
    assert [round(f(s), 3) for s in range(10)] == [0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]
    assert linear_schedule(4, 0)(0) == 1.0


@pytest.mark.parametrize(("bad", "match"), [
    ({"batch_size": 0}, "batch_size"), ({"device": "tpu"}, "allowed: auto, cpu, cuda"),
    ({"warmup_ratio": 2}, "warmup_ratio"), ({"curve_fractions": (0.0,)}, "curve_fractions"),
])
def test_training_config_validates_itself(bad: dict[str, Any], match: str) -> None:
    with pytest.raises(TrialError, match=match):
        TrainingConfig(**bad)


@pytest.mark.parametrize(("model_type", "positions", "limit"), [
    ("bert", 512, 512), ("roberta", 514, 512), ("xlm-roberta", 514, 512), ("t5", None, None)])
def test_max_length_is_checked_against_the_models_positions(model_type: str, positions: int | None,
                                                             limit: int | None) -> None:
    """Learned positions bound the input (RoBERTa's first two are reserved); T5's relative ones do not."""
    from types import SimpleNamespace

    config = SimpleNamespace(model_type=model_type, **({} if positions is None else
                                                        {"max_position_embeddings": positions}))
    TrainingConfig(max_length=limit or 100_000).check_model(config)
    if limit is not None:
        with pytest.raises(TrialError, match=f"max_length {limit + 1} is more input tokens than this model has "
                                             f"positions for; allowed: at most {limit}"):
            TrainingConfig(max_length=limit + 1).check_model(config)


@pytest.mark.parametrize(("model_type", "positions", "limit"), [("bert", 512, 512), ("roberta", 514, 512)])
def test_prompt_tuning_tokens_count_against_the_positions(model_type: str, positions: int, limit: int) -> None:
    """Prompt tuning's virtual tokens come before the input: max_length + tokens must fit, to the token."""
    from types import SimpleNamespace

    config = SimpleNamespace(model_type=model_type, max_position_embeddings=positions)
    TrainingConfig(max_length=64).check_model(config, prompt_tokens=limit - 64)
    with pytest.raises(TrialError, match=f"training.max_length 64 plus {limit - 63} prompt-tuning virtual tokens "
                                         rf"\(prompt_tuning.num_virtual_tokens\) is more input tokens than this "
                                         rf"model has positions for \({limit}\); allowed: max_length \+ "
                                         f"num_virtual_tokens at most {limit}"):
        TrainingConfig(max_length=64).check_model(config, prompt_tokens=limit - 63)


def test_a_prompt_past_the_models_positions_fails_its_trial_with_the_reason(tiny_bert_dir: Path,
                                                                           sentiment_csv: Path) -> None:
    """It used to fail with a tensor-size error, or pass on a batch of short texts and fail on a long one."""
    worker = Worker(str(tiny_bert_dir), _data(sentiment_csv), TrainingConfig(max_length=16, batch_size=4))
    positions = worker.base.config.max_position_embeddings
    fits = worker.run({"method": "prompt_tuning", "prompt_tuning.num_virtual_tokens": positions - 16},
                      Fidelity(steps=1), in_space=False)
    assert fits.ok
    over = worker.run({"method": "prompt_tuning", "prompt_tuning.num_virtual_tokens": positions - 15},
                      Fidelity(steps=1), in_space=False)
    assert over.status == "failed" and over.error is not None
    assert f"plus {positions - 15} prompt-tuning virtual tokens" in over.error and over.steps == 0


def test_a_worker_refuses_a_max_length_past_its_model(tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    from transformers import AutoConfig

    positions = AutoConfig.from_pretrained(tiny_bert_dir).max_position_embeddings
    with pytest.raises(TrialError, match=f"allowed: at most {positions}"):
        Worker(str(tiny_bert_dir), _data(sentiment_csv), TrainingConfig(max_length=positions + 1))


@pytest.mark.parametrize(("steps", "fraction"), [(0, 1.0), (3, 0.0), (3, 1.5), (True, 1.0)])
def test_fidelity_validates_itself(steps: Any, fraction: Any) -> None:
    with pytest.raises(TrialError, match="fidelity"):
        Fidelity(steps=steps, train_fraction=fraction)


def test_intermediate_evaluations_do_not_disturb_training(tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    """Scoring at 25 / 50 % runs in eval mode (no dropout, no RNG draws), so the end result is unchanged."""
    data = _data(sentiment_csv)
    config = {"method": "lora", "lora.r": 2, "learning_rate": 1e-2}
    results = []
    for fractions in ((1.0,), (0.25, 0.5, 1.0)):
        training = dataclasses.replace(TRAINING, curve_fractions=fractions)
        results.append(Worker(str(tiny_bert_dir), data, training).run(config, Fidelity(steps=8), seed=2))
    assert results[0].metrics == results[1].metrics and results[0].loss_curve == results[1].loss_curve
    assert len(results[1].eval_curve) == 3


def test_partial_points_are_scored_on_a_fixed_subset(tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    """Points before the end use ``partial_examples`` validation examples (the same seeded subset every time);
    the end uses the whole split, so the final metrics do not change with the subset's size."""
    data = _data(sentiment_csv)
    config = {"method": "lora", "lora.r": 2, "learning_rate": 1e-2}
    seen: dict[int, list[int]] = {}
    results = []
    for k in (0, 10):
        worker = Worker(str(tiny_bert_dir), data, dataclasses.replace(TRAINING, partial_examples=k))
        evaluate = worker.evaluate

        def counting(model: Any, split: Any, ctx: Any, *, _k: int = k, _f: Any = evaluate) -> Any:
            seen.setdefault(_k, []).append(len(split))
            return _f(model, split, ctx)

        worker.evaluate = counting  # type: ignore[method-assign]
        results.append(worker.run(config, Fidelity(steps=8), seed=2))
        if k:
            subset = worker.partial_validation()
            assert subset is worker.partial_validation() and len(subset) == 10  # cached, and the size asked for
            full = worker.encoded("validation")
            assert set(subset.input_ids) <= set(full.input_ids)
            again = Worker(str(tiny_bert_dir), data, dataclasses.replace(TRAINING, partial_examples=k))
            assert again.partial_validation() == subset  # the same subset in every worker
    assert seen == {0: [24, 24, 24], 10: [10, 10, 24]}
    assert results[0].metrics == results[1].metrics and results[0].loss_curve == results[1].loss_curve
    assert results[0].eval_curve[-1] == results[1].eval_curve[-1]
    with pytest.raises(TrialError, match=r"training\.partial_examples must be an integer >= 0, got -1"):
        TrainingConfig(partial_examples=-1)
