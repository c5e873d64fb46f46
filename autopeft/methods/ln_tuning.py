"""LN tuning (Zhao et al. 2023): train the layer norms of the chosen blocks only."""

from __future__ import annotations

from typing import Any, ClassVar

from peft import LNTuningConfig

from autopeft.errors import ConfigError
from autopeft.methods.base import PeftMethod, peft_task_type, register_method
from autopeft.methods.options import Option, layers
from autopeft.methods.targets import compact_targets
from autopeft.model.graph import ModelGraph


class LNTuning(PeftMethod):
    name: ClassVar[str] = "ln_tuning"
    summary: ClassVar[str] = "train the layer-norm scales (and biases) of chosen blocks"
    default_learning_rate: ClassVar[float] = 5e-3
    options: ClassVar[tuple[Option, ...]] = (Option("layers", layers, "all", "layer selector(s)"),)

    def count_trainable(self, options: dict[str, Any], graph: ModelGraph) -> int | None:
        return graph.head_params + sum(m.params for m in graph.modules(options["layers"]) if m.kind == "norm")

    def peft_config(self, options: dict[str, Any], graph: ModelGraph) -> LNTuningConfig:
        norms = [m.path for m in graph.modules(options["layers"]) if m.kind == "norm"]
        if not norms:
            raise ConfigError(f"{self.name}: the selected blocks have no layer norm")
        task = peft_task_type(graph)
        targets = compact_targets(graph, norms, lambda kw: LNTuningConfig(task_type=task, **kw))
        return LNTuningConfig(task_type=task, **targets)


register_method(LNTuning())
