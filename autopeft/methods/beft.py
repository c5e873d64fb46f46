"""BEFT: peft's added-bias tuning, a trainable bias vector added to chosen linear modules.

The bias-tuning method for models whose linear layers have no bias (T5); on models that do
have biases it is BitFit's exportable twin (see ``bitfit``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from peft import BeftConfig

from autopeft.errors import ConfigError
from autopeft.methods.base import PeftMethod, peft_task_type, register_method
from autopeft.methods.options import Option, layers, module_set
from autopeft.methods.targets import compact_targets
from autopeft.model.graph import ModelGraph


def beft_config(graph: ModelGraph, paths: list[str]) -> BeftConfig:
    task = peft_task_type(graph)
    targets = compact_targets(graph, paths, lambda kw: BeftConfig(task_type=task, **kw))
    return BeftConfig(task_type=task, **targets)


class Beft(PeftMethod):
    name: ClassVar[str] = "beft"
    summary: ClassVar[str] = "trainable bias vectors added to chosen linear modules (peft BEFT)"
    default_learning_rate: ClassVar[float] = 3e-3
    options: ClassVar[tuple[Option, ...]] = (
        Option("modules", module_set, "all_linear", "module set whose outputs get a bias"),
        Option("layers", layers, "all", "layer selector(s)"),
    )

    def merge_problem(self, model_kind: str | None) -> str | None:
        if model_kind == "seq2seq":
            return "adds biases to T5's linear layers, which have none to merge them into"
        return None

    def count_trainable(self, options: dict[str, Any], graph: ModelGraph) -> int | None:
        mods = [m for m in graph.select(options["modules"], options["layers"]) if m.kind == "linear"]
        return graph.head_params + sum(m.shape[1] for m in mods)

    def peft_config(self, options: dict[str, Any], graph: ModelGraph) -> BeftConfig:
        paths = [m.path for m in graph.select(options["modules"], options["layers"]) if m.kind == "linear"]
        if not paths:
            raise ConfigError(f"{self.name}: the configuration selects no linear module")
        return beft_config(graph, paths)


register_method(Beft())
