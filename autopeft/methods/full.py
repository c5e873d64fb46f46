"""Full fine-tuning: the reference point every PEFT configuration is measured against.

Not a PEFT method, so it saves a whole model folder (``save_pretrained``), not an adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from autopeft.methods.base import BuiltModel, Method, register_method
from autopeft.methods.options import Option
from autopeft.model.graph import ModelGraph


class Full(Method):
    name: ClassVar[str] = "full"
    summary: ClassVar[str] = "train every parameter (reference point, not an adapter)"
    default_learning_rate: ClassVar[float] = 5e-5
    options: ClassVar[tuple[Option, ...]] = ()

    def placements(self, options: dict[str, Any], graph: ModelGraph) -> dict[str, float]:
        return {m.path: 1.0 for m in graph.modules()}

    def count_trainable(self, options: dict[str, Any], graph: ModelGraph) -> int | None:
        return graph.total_params

    def build(self, model: Any, graph: ModelGraph, options: dict[str, Any]) -> BuiltModel:
        for p in model.parameters():
            p.requires_grad_(True)
        return BuiltModel(model, self.name, options, None, options["learning_rate"])

    def save(self, built: BuiltModel, folder: Path) -> None:
        built.model.save_pretrained(str(folder))


register_method(Full())
