"""Evaluation by model kind and task kind, one registered function each.

- encoder + classification: the classification head's logits;
- seq2seq + classification: *rank classification* — the summed log-likelihood of each class's
  verbaliser under the decoder, so class probabilities (a softmax over the options) are real
  probabilities and calibration can be measured on them;
- seq2seq + generation: ``generate`` then exact match / ROUGE-L against the references.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from autopeft.errors import TrialError
from autopeft.runner.data import IGNORE, Encoded, collate, pad


@dataclass(frozen=True)
class EvalContext:
    device: torch.device
    dtype: torch.dtype | None       # autocast dtype (bf16 on CUDA), None on CPU
    batch_size: int
    pad_id: int
    tokenizer: Any
    verbalisers: Sequence[Sequence[int]] = ()
    target_max_length: int = 16


@dataclass(frozen=True)
class Evaluation:
    """Class scores (log-likelihoods or logits, shape (n, k)) and labels; or generated texts."""

    scores: np.ndarray | None = None
    labels: np.ndarray | None = None
    predictions: tuple[str, ...] = ()
    references: tuple[str, ...] = ()


Evaluator = Callable[[Any, Encoded, EvalContext], Evaluation]
EVALUATORS: dict[tuple[str, str], Evaluator] = {}


def register_evaluator(model_kind: str, task_kind: str) -> Callable[[Evaluator], Evaluator]:
    def add(fn: Evaluator) -> Evaluator:
        if (model_kind, task_kind) in EVALUATORS:
            raise ValueError(f"an evaluator for {model_kind} / {task_kind} is already registered")
        EVALUATORS[(model_kind, task_kind)] = fn
        return fn

    return add


def evaluator_for(model_kind: str, task_kind: str) -> Evaluator:
    if (model_kind, task_kind) not in EVALUATORS:
        allowed = ", ".join(f"{m} + {t}" for m, t in EVALUATORS)
        raise TrialError(f"cannot evaluate a {task_kind} task on a {model_kind} model; allowed: {allowed}")
    return EVALUATORS[(model_kind, task_kind)]


def autocast(ctx: EvalContext) -> contextlib.AbstractContextManager[Any]:
    if ctx.dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=ctx.device.type, dtype=ctx.dtype)


def _chunks(n: int, size: int) -> Iterator[list[int]]:
    for start in range(0, n, size):
        yield list(range(start, min(n, start + size)))


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


@register_evaluator("encoder", "classification")
def head_logits(model: Any, data: Encoded, ctx: EvalContext) -> Evaluation:
    out = []
    with torch.no_grad(), autocast(ctx):
        for index in _chunks(len(data), ctx.batch_size):
            batch = _to(collate(data, index, kind="encoder", pad_id=ctx.pad_id), ctx.device)
            batch.pop("labels")
            out.append(model(**batch).logits.float().cpu())
    return Evaluation(scores=torch.cat(out).numpy().astype(np.float64), labels=np.asarray(data.labels))


def sequence_log_likelihood(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of log p(label token) over each row's non-ignored label positions."""
    logits = model(**batch).logits.float()
    labels = batch["labels"]
    logp = torch.log_softmax(logits, dim=-1)
    keep = labels != IGNORE
    picked = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * keep).sum(dim=-1)


@register_evaluator("seq2seq", "classification")
def rank_classification(model: Any, data: Encoded, ctx: EvalContext) -> Evaluation:
    k = len(ctx.verbalisers)
    options = pad(ctx.verbalisers, IGNORE)  # (k, T)
    out = []
    with torch.no_grad(), autocast(ctx):
        for index in _chunks(len(data), max(1, ctx.batch_size // k)):
            batch = collate(data, index, kind="seq2seq", pad_id=ctx.pad_id)
            b = len(index)
            batch = {
                "input_ids": batch["input_ids"].repeat_interleave(k, dim=0),
                "attention_mask": batch["attention_mask"].repeat_interleave(k, dim=0),
                "labels": options.repeat(b, 1),
            }
            out.append(sequence_log_likelihood(model, _to(batch, ctx.device)).cpu().reshape(b, k))
    return Evaluation(scores=torch.cat(out).numpy().astype(np.float64), labels=np.asarray(data.labels))


@register_evaluator("seq2seq", "generation")
def generate(model: Any, data: Encoded, ctx: EvalContext) -> Evaluation:
    texts: list[str] = []
    with torch.no_grad(), autocast(ctx):
        for index in _chunks(len(data), ctx.batch_size):
            batch = _to(collate(data, index, kind="seq2seq", pad_id=ctx.pad_id), ctx.device)
            ids = model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                 max_new_tokens=ctx.target_max_length, do_sample=False)
            texts.extend(ctx.tokenizer.batch_decode(ids, skip_special_tokens=True))
    return Evaluation(predictions=tuple(t.strip() for t in texts), references=data.references)
