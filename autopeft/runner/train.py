"""The train loop: AdamW, linear warm-up then linear decay, gradient clipping, seeded batch order."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import torch

from autopeft.runner.config import TrainingConfig
from autopeft.runner.data import Encoded, collate, train_batches


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite."""

    def __init__(self, step: int, value: float) -> None:
        self.step, self.value = step, value
        super().__init__(f"training loss became {value} at step {step}")


def linear_schedule(steps: int, warmup: int) -> Callable[[int], float]:
    """Multiplier of the learning rate at optimiser step ``s`` (0-based), as in transformers' linear schedule."""

    def factor(s: int) -> float:
        if s < warmup:
            return (s + 1) / warmup
        return max(0.0, (steps - s) / max(1, steps - warmup))

    return factor


def optimizer_for(model: Any, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; biases and norms get no weight decay."""
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if name.endswith("bias") or "norm" in name.lower() else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr)


def train(
    model: Any,
    data: Encoded,
    *,
    kind: str,
    pad_id: int,
    steps: int,
    lr: float,
    seed: int,
    cfg: TrainingConfig,
    device: torch.device,
    dtype: torch.dtype | None = None,
    after_step: Callable[[int], None] | None = None,
) -> list[tuple[int, float]]:
    """Train ``steps`` optimiser steps; returns (step, mean loss since the last point) every few steps.

    ``after_step(s)`` (1-based) runs after each step, e.g. to evaluate at 25 / 50 / 100 %.
    Raises :class:`NonFiniteLoss` as soon as the loss is NaN or infinite.
    """
    opt = optimizer_for(model, lr, cfg.weight_decay)
    warmup = round(cfg.warmup_ratio * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule(steps, warmup))
    params = [p for p in model.parameters() if p.requires_grad]
    every = cfg.log_every or max(1, steps // 20)
    curve: list[tuple[int, float]] = []
    window: list[float] = []
    model.train()
    for step, index in enumerate(train_batches(len(data), cfg.batch_size, steps, seed), start=1):
        batch = {k: v.to(device) for k, v in collate(data, index, kind=kind, pad_id=pad_id).items()}
        cast = torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with cast:
            loss = model(**batch).loss
        value = float(loss.detach())
        if not math.isfinite(value):
            raise NonFiniteLoss(step, value)
        loss.backward()
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        window.append(value)
        if step % every == 0 or step == steps:
            curve.append((step, sum(window) / len(window)))
            window = []
        if after_step is not None:
            after_step(step)
            model.train()
    model.eval()
    return curve
