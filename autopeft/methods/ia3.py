"""IA3 (Liu et al. 2022): learned vectors that rescale activations of chosen modules.

Feed-forward modules (roles ``ffn.*``) are scaled on their input, the others on their output,
as in peft. The default module set is peft's for T5 and BERT: keys, values and the second
feed-forward projection.
"""

from __future__ import annotations

from typing import Any, ClassVar

from peft import IA3Config

from autopeft.errors import ConfigError
from autopeft.methods.base import PeftMethod, peft_task_type, register_method
from autopeft.methods.options import Option, layers, module_set
from autopeft.methods.targets import matched_modules
from autopeft.model.graph import ModelGraph


class IA3(PeftMethod):
    name: ClassVar[str] = "ia3"
    summary: ClassVar[str] = "learned rescaling vectors on keys, values and feed-forward activations"
    default_learning_rate: ClassVar[float] = 3e-3
    options: ClassVar[tuple[Option, ...]] = (
        Option("modules", module_set, "attn.k+attn.v+ffn.out", "module set to rescale"),
        Option("layers", layers, "all", "layer selector(s)"),
    )

    def count_trainable(self, options: dict[str, Any], graph: ModelGraph) -> int | None:
        mods = [m for m in graph.select(options["modules"], options["layers"]) if m.kind == "linear"]
        # feed-forward modules are scaled on their input, the others on their output
        return graph.head_params + sum(m.shape[0] if m.role.startswith("ffn.") else m.shape[1] for m in mods)

    def peft_config(self, options: dict[str, Any], graph: ModelGraph) -> IA3Config:
        mods = [m for m in graph.select(options["modules"], options["layers"]) if m.kind == "linear"]
        if not mods:
            raise ConfigError(f"{self.name}: the configuration selects no linear module")
        targets = [m.path for m in mods]
        feedforward = [m.path for m in mods if m.role.startswith("ffn.")]
        task = peft_task_type(graph)
        short = sorted({p.rsplit(".", 1)[-1] for p in targets})
        short_ff = sorted({p.rsplit(".", 1)[-1] for p in feedforward})
        compact = IA3Config(target_modules=short, feedforward_modules=short_ff, task_type=task)
        ff_by_suffix = {p for p in targets if any(p.endswith("." + f) for f in short_ff)}
        if matched_modules(compact, graph.module_names) == set(targets) and ff_by_suffix == set(feedforward):
            return compact
        return IA3Config(target_modules=targets, feedforward_modules=feedforward, task_type=task)


register_method(IA3())
