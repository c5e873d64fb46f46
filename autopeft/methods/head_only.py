"""Head only: train the classification head of an encoder and nothing else (a baseline and reference point).

The cheapest configuration there is; every PEFT configuration should beat it. T5 has no head, so the
method does not apply there. It saves the whole model folder (there is no peft adapter for "nothing").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from autopeft.errors import MethodError
from autopeft.methods.base import BuiltModel, Method, register_method
from autopeft.methods.options import Option
from autopeft.model.graph import ModelGraph


class HeadOnly(Method):
    name: ClassVar[str] = "head_only"
    summary: ClassVar[str] = "train only the classification head (encoders; baseline)"
    default_learning_rate: ClassVar[float] = 2e-3
    options: ClassVar[tuple[Option, ...]] = ()

    def check_model(self, graph: ModelGraph) -> None:
        if not graph.head_modules:
            raise MethodError(f"method 'head_only' needs a classification head, which this {graph.architecture.name} "
                              "model has none of; allowed on encoders (BERT, RoBERTa, DistilBERT, DeBERTa, ...)")

    def count_trainable(self, options: dict[str, Any], graph: ModelGraph) -> int | None:
        return graph.head_params

    def build(self, model: Any, graph: ModelGraph, options: dict[str, Any]) -> BuiltModel:
        model.requires_grad_(False)
        for name in graph.head_modules:
            model.get_submodule(name).requires_grad_(True)
        return BuiltModel(model, self.name, options, None, options["learning_rate"])

    def save(self, built: BuiltModel, folder: Path) -> None:
        built.model.save_pretrained(str(folder))


register_method(HeadOnly())
