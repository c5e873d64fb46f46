"""DoRA (Liu et al. 2024): LoRA on the direction of each weight plus a trainable magnitude."""

from __future__ import annotations

from typing import ClassVar

from autopeft.methods.base import register_method
from autopeft.methods.lora import Lora


class Dora(Lora):
    name: ClassVar[str] = "dora"
    summary: ClassVar[str] = "weight-decomposed LoRA: low-rank direction update + magnitude vector"
    use_dora: ClassVar[bool] = True


register_method(Dora())
