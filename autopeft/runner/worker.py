"""A worker: one base model and one tokenised task, many trials.

The base model is loaded once; every trial trains a deep copy of it, so trial N+1 starts from the
same pristine weights whatever trial N did. Tokenised splits are cached for the worker's life.
:meth:`Worker.run` never raises for what goes wrong *inside* a trial (an exception, a NaN loss,
running out of memory): it returns a failed :class:`~autopeft.trial.TrialResult` with the reason.

>>> worker = Worker("minilm", load_task_data("tweets-sentiment", n_train=1000))   # doctest: +SKIP
>>> worker.run({"method": "lora", "lora.r": 8}, Fidelity(steps=50)).metrics["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import gc
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

import autopeft.metrics as M
from autopeft.errors import TrialError
from autopeft.methods import BuiltModel, build
from autopeft.model.graph import ModelGraph
from autopeft.model.loading import load_model, load_tokenizer
from autopeft.runner.config import TrainingConfig
from autopeft.runner.data import Encoded, encode_split, verbaliser_ids
from autopeft.runner.evaluate import EvalContext, Evaluation, evaluator_for
from autopeft.runner.memory import PeakMemory
from autopeft.runner.train import NonFiniteLoss, train
from autopeft.space import Space
from autopeft.tasks import TaskData
from autopeft.trial import Fidelity, TrialResult

#: Seed of the validation subset the learning curve's partial points are scored on.
PARTIAL_SEED = 0x9A27


def pick_device(name: str) -> tuple[torch.device, torch.dtype | None]:
    """``auto``: CUDA with bf16 autocast when present, else CPU in fp32."""
    if name == "cuda" and not torch.cuda.is_available():
        raise TrialError("training.device is 'cuda' but no CUDA device is available; allowed here: auto, cpu")
    if name in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda"), torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.device("cpu"), None


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or "out of memory" in str(exc).lower()


class StopTrial(Exception):  # a decision, not an error
    """Raised from an ``on_partial`` hook to stop a trial after a partial score: the trial ends ``pruned``,
    its partial learning curve kept (the search's early stopping, :mod:`autopeft.study.pruning`)."""


class Worker:
    """Runs trials of one (model, task) pair; see the module docstring."""

    def __init__(
        self,
        model_id: str,
        data: TaskData,
        training: TrainingConfig | None = None,
        *,
        space: Space | None = None,
        model: Any = None,
        tokenizer: Any = None,
    ) -> None:
        self.model_id = model_id
        self.data = data
        self.task = data.task
        self.training = training or TrainingConfig()
        self.space = space
        num_labels = self.task.n_classes if self.task.kind == "classification" else None
        self.base = model if model is not None else load_model(model_id, num_labels=num_labels)
        self.training.check_model(self.base.config)
        self.base.eval()
        rows = self.base.get_input_embeddings().num_embeddings  # the ids the model can embed
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(model_id, vocab_size=rows)
        self.graph = ModelGraph.from_model(self.base)
        self.kind = self.graph.kind
        self.evaluate = evaluator_for(self.kind, self.task.kind)
        if self.kind == "encoder" and num_labels is not None:
            head = int(getattr(self.base.config, "num_labels", num_labels))
            if head != num_labels:
                raise TrialError(f"the model's head has {head} labels but task {self.task.name!r} has {num_labels}")
        self.device, self.dtype = pick_device(self.training.device)
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else 0)
        self._encoded: dict[str, Encoded] = {}
        self._verbalisers = (verbaliser_ids(self.task, self.tokenizer, self.training.target_max_length)
                             if self.task.kind == "classification" and self.kind == "seq2seq" else [])

    # ---- data --------------------------------------------------------------------------------------
    def encoded(self, split: str) -> Encoded:
        """The tokenised split (``train``, ``validation`` or ``test``), cached."""
        if split not in self._encoded:
            self._encoded[split] = encode_split(
                self.data.split(split), self.task, self.tokenizer, kind=self.kind,
                max_length=self.training.max_length, target_max_length=self.training.target_max_length,
                segments=int(getattr(self.base.config, "type_vocab_size", 0) or 0) > 1)
        return self._encoded[split]

    def partial_validation(self) -> Encoded:
        """What the learning curve's points before the end are scored on: ``training.partial_examples``
        validation examples, the same seeded subset in every trial and worker (the whole split when it has
        no more examples than that, or when the setting is 0)."""
        full = self.encoded("validation")
        k = self.training.partial_examples
        if k == 0 or k >= len(full):
            return full
        if "validation:partial" not in self._encoded:
            keep = sorted(int(i) for i in np.random.default_rng(PARTIAL_SEED).choice(len(full), size=k, replace=False))
            self._encoded["validation:partial"] = full.rows(keep)
        return self._encoded["validation:partial"]

    def _train_rows(self, fraction: float) -> Encoded:
        full = self.encoded("train")
        n = max(1, math.ceil(fraction * len(full)))
        if n == len(full):
            return full
        return full.rows(range(n))

    # ---- models ------------------------------------------------------------------------------------
    def fresh_model(self, seed: int) -> Any:
        """A copy of the pristine base model on the CPU, where the base stays; an encoder's head
        re-initialised from ``seed`` (CPU generator: the same head on every device).

        The caller moves it: :meth:`run` builds the method on this copy, then moves the built model to
        :attr:`device`, which :meth:`_context` (the evaluation context) names. Scoring the copy itself takes
        ``fresh_model(seed).to(worker.device)``.
        """
        model = copy.deepcopy(self.base)
        torch.manual_seed(seed)
        std = float(getattr(model.config, "initializer_range", 0.02))
        for name in self.graph.head_modules:
            for module in model.get_submodule(name).modules():
                if isinstance(module, torch.nn.Linear):
                    torch.nn.init.normal_(module.weight, std=std)
                    if module.bias is not None:
                        torch.nn.init.zeros_(module.bias)
        return model

    def _context(self) -> EvalContext:
        return EvalContext(self.device, self.dtype, self.training.eval_batch_size, self.pad_id, self.tokenizer,
                           self._verbalisers, self.training.target_max_length)

    # ---- scoring -----------------------------------------------------------------------------------
    def _score(self, ev: Evaluation) -> float:
        """The task's primary score (accuracy, exact match or ROUGE-L)."""
        if ev.scores is not None and ev.labels is not None:
            return M.accuracy(ev.labels, ev.scores)
        fn = M.rouge_l if self.task.metric == "rouge_l" else M.exact_match
        return fn(ev.predictions, ev.references)

    def _metrics(self, ev: Evaluation, temperature: float | None) -> dict[str, float]:
        if ev.scores is not None and ev.labels is not None:
            out = M.classification_metrics(ev.scores, ev.labels, n_bins=self.training.ece_bins,
                                           temperature=temperature)
            out["score"] = out["accuracy"]
            return out
        em, rl = M.exact_match(ev.predictions, ev.references), M.rouge_l(ev.predictions, ev.references)
        return {"exact_match": em, "rouge_l": rl, "score": rl if self.task.metric == "rouge_l" else em}

    # ---- one trial -----------------------------------------------------------------------------------
    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration as the space normalises it (ConfigError if it is not in the space)."""
        return self.space.validate(config) if self.space is not None else dict(config)

    def run(self, config: Mapping[str, Any], fidelity: Fidelity, seed: int = 0, *, test: bool = False,
            in_space: bool = True, on_trained: Callable[[BuiltModel], None] | None = None,
            on_partial: Callable[[float, float], None] | None = None) -> TrialResult:
        """Build, train at ``fidelity``, evaluate on validation (and on test when ``test``).

        ``in_space=False`` skips the space check (reference points such as full fine-tuning are not
        members of the space); ``on_trained(built)`` runs after evaluation, e.g. to save the weights;
        ``on_partial(fraction, score)`` is called at each point of the validation curve as it is scored
        (an engine reports the learning curve live with it).
        """
        config = self.check_config(config) if in_space else dict(config)
        state: dict[str, Any] = {"steps": 0, "train_seconds": 0.0, "eval_seconds": 0.0, "curve": [],
                                 "t0": time.perf_counter()}
        peak = PeakMemory(self.device)
        try:
            with peak:
                result = self._run(config, fidelity, seed, test, state, on_trained, on_partial)
            return _replace_peak(result, peak.mb)
        except KeyboardInterrupt:
            raise
        except StopTrial as exc:  # stopped on purpose: the partial curve is the record
            return TrialResult(config=config, fidelity=fidelity, seed=seed, status="pruned", error=str(exc),
                               trainable_params=state.get("trainable"), total_params=state.get("total"),
                               steps=state["steps"], train_seconds=time.perf_counter() - state["t0"]
                               - state["eval_seconds"], eval_seconds=state["eval_seconds"], peak_memory_mb=peak.mb,
                               device=self.device.type, eval_curve=tuple(state.get("eval_curve", ())))
        except NonFiniteLoss as exc:
            reason = str(exc)
        except Exception as exc:  # a failed trial is data: record it, let the search decide
            reason = f"out of memory: {exc}" if _is_oom(exc) else f"{type(exc).__name__}: {exc}"
        finally:
            gc.collect()
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
        return TrialResult(
            config=config, fidelity=fidelity, seed=seed, status="failed", error=" ".join(reason.split()),
            trainable_params=state.get("trainable"), total_params=state.get("total"), steps=state["steps"],
            train_seconds=state["train_seconds"], eval_seconds=state["eval_seconds"], peak_memory_mb=peak.mb,
            device=self.device.type, loss_curve=tuple(state["curve"]),
        )

    def _run(self, config: dict[str, Any], fidelity: Fidelity, seed: int, test: bool,
             state: dict[str, Any], on_trained: Callable[[BuiltModel], None] | None,
             on_partial: Callable[[float, float], None] | None = None) -> TrialResult:
        model = self.fresh_model(seed)
        built = build(model, config, self.graph)
        state["trainable"], state["total"] = built.trainable_params, built.total_params
        self.training.check_model(self.base.config, prompt_tokens=built.virtual_tokens)  # a clear reason, not
        # a tensor-size error on the first long batch
        model = built.model.to(self.device)
        rows = self._train_rows(fidelity.train_fraction)
        validation, partial, ctx = self.encoded("validation"), self.partial_validation(), self._context()
        marks = {max(1, round(f * fidelity.steps)): f for f in self.training.curve_fractions}
        eval_curve: list[tuple[float, float]] = []
        state["eval_curve"] = eval_curve
        last: dict[str, Evaluation] = {}

        def after_step(step: int) -> None:
            state["steps"] = step
            if step in marks:
                t0 = time.perf_counter()
                model.eval()  # no dropout while scoring; the train loop switches back
                final = step == fidelity.steps  # the end is scored on the whole split, earlier points on a subset
                ev = self.evaluate(model, validation if final else partial, ctx)
                state["eval_seconds"] += time.perf_counter() - t0
                eval_curve.append((marks[step], self._score(ev)))
                if final:
                    last["validation"] = ev
                if on_partial is not None:
                    on_partial(*eval_curve[-1])

        t0 = time.perf_counter()
        state["curve"] = train(model, rows, kind=self.kind, pad_id=self.pad_id, steps=fidelity.steps,
                               lr=built.learning_rate, seed=seed, cfg=self.training, device=self.device,
                               dtype=self.dtype, after_step=after_step)
        state["train_seconds"] = time.perf_counter() - t0 - state["eval_seconds"]

        t1 = time.perf_counter()
        ev = last["validation"]
        classified = ev.scores is not None and ev.labels is not None
        temperature = M.scaling_temperature(ev.scores, ev.labels) if classified else None  # type: ignore[arg-type]
        metrics = self._metrics(ev, temperature)
        reliability, scored = None, {"validation": ev}
        if ev.scores is not None and ev.labels is not None:
            probs = M.softmax(ev.scores)
            reliability = M.reliability_bins(probs, ev.labels, self.training.ece_bins).to_dict()
        test_metrics = None
        if test:
            scored["test"] = test_ev = self.evaluate(model, self.encoded("test"), ctx)
            test_metrics = self._metrics(test_ev, temperature)
        state["eval_seconds"] += time.perf_counter() - t1
        bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
        if bad:
            raise TrialError(f"validation metrics are not finite: {bad}")
        if on_trained is not None:
            on_trained(built)
        return TrialResult(
            config=config, fidelity=fidelity, seed=seed, status="complete",
            metrics=metrics, test_metrics=test_metrics,
            trainable_params=state["trainable"], total_params=state["total"], steps=state["steps"],
            train_seconds=round(state["train_seconds"], 4), eval_seconds=round(state["eval_seconds"], 4),
            device=self.device.type, loss_curve=tuple(state["curve"]), eval_curve=tuple(eval_curve),
            reliability=reliability, confusion=_confusions(scored) or None,
        )


def _confusions(evaluations: Mapping[str, Evaluation]) -> dict[str, tuple[tuple[int, ...], ...]]:
    """Each split's confusion matrix (rows true class, columns predicted), as the record stores it; none for
    generated text."""
    out = {}
    for split, ev in evaluations.items():
        if ev.scores is None or ev.labels is None:
            continue
        matrix = M.confusion_matrix(ev.labels, ev.scores)
        out[split] = tuple(tuple(int(c) for c in row) for row in matrix)
    return out


def _replace_peak(result: TrialResult, mb: float) -> TrialResult:
    return replace(result, peak_memory_mb=round(mb, 1))
