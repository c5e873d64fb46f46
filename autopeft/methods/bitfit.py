"""BitFit (Ben Zaken et al. 2022): train only the existing biases of chosen linear modules.

Only models whose linear layers have biases qualify (the encoders); T5 has none and is pointed
to ``beft``. Saving writes a peft BEFT adapter holding ``trained bias - original bias`` for each
module, so plain ``PeftModel.from_pretrained`` on the original base reproduces the outputs
exactly. Layer-norm biases are left to ``ln_tuning``: BEFT can only carry linear biases.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar

from autopeft.errors import ConfigError, MethodError
from autopeft.methods.base import BuiltModel, Method, quiet_peft, register_method, save_head
from autopeft.methods.beft import beft_config
from autopeft.methods.options import Option, layers, module_set
from autopeft.model.graph import ModelGraph


class BitFit(Method):
    name: ClassVar[str] = "bitfit"
    summary: ClassVar[str] = "unfreeze the existing biases of chosen linear modules"
    default_learning_rate: ClassVar[float] = 3e-3
    options: ClassVar[tuple[Option, ...]] = (
        Option("modules", module_set, "all_linear", "module set whose biases train"),
        Option("layers", layers, "all", "layer selector(s)"),
    )

    def check_model(self, graph: ModelGraph) -> None:
        if not any(m.has_bias for m in graph.modules() if m.kind == "linear"):
            raise MethodError(
                f"method 'bitfit' needs linear layers with biases, and this {graph.architecture.name} model has "
                "none; use 'beft' (peft's added-bias tuning) instead"
            )

    def _paths(self, options: dict[str, Any], graph: ModelGraph) -> list[str]:
        paths = [m.path for m in graph.select(options["modules"], options["layers"])
                 if m.kind == "linear" and m.has_bias]
        if not paths:
            raise ConfigError(f"{self.name}: the configuration selects no linear module with a bias")
        return paths

    def placements(self, options: dict[str, Any], graph: ModelGraph) -> dict[str, float]:
        return dict.fromkeys(self._paths(options, graph), 1.0)

    def count_trainable(self, options: dict[str, Any], graph: ModelGraph) -> int | None:
        shapes = {m.path: m.shape for m in graph.modules()}
        return graph.head_params + sum(shapes[p][1] for p in self._paths(options, graph))

    def build(self, model: Any, graph: ModelGraph, options: dict[str, Any]) -> BuiltModel:
        paths = self._paths(options, graph)
        for p in model.parameters():
            p.requires_grad_(False)
        original = {}
        for path in paths:
            bias = model.get_submodule(path).bias
            bias.requires_grad_(True)
            original[path] = bias.detach().clone()
        for head in graph.head_modules:
            for p in model.get_submodule(head).parameters():
                p.requires_grad_(True)
        return BuiltModel(model, self.name, options, None, options["learning_rate"],
                          extra={"original_biases": original, "graph": graph})

    def save(self, built: BuiltModel, folder: Path) -> None:
        from peft import get_peft_model

        graph: ModelGraph = built.extra["graph"]
        original: dict[str, Any] = built.extra["original_biases"]
        model = copy.deepcopy(built.model)
        deltas = {}
        for path, bias0 in original.items():
            bias = model.get_submodule(path).bias
            deltas[path] = (bias.detach() - bias0).reshape(1, -1)
            bias.data.copy_(bias0)
        with quiet_peft():
            peft_model = get_peft_model(model, save_head(beft_config(graph, sorted(original)), graph))
        for path, delta in deltas.items():
            layer: Any = peft_model.base_model.model.get_submodule(path)  # type: ignore[union-attr]
            layer.beft_bias["default"].data.copy_(delta)
        peft_model.save_pretrained(str(folder))


register_method(BitFit())
