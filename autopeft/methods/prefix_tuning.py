"""Prefix tuning (Li & Liang 2021): trainable key/value prefixes in every attention layer."""

from __future__ import annotations

from typing import Any, ClassVar

from peft import PrefixTuningConfig

from autopeft.errors import ConfigError, MethodError
from autopeft.methods.base import PeftMethod, peft_task_type, register_method
from autopeft.methods.options import Option, boolean, positive_int
from autopeft.model.graph import ModelGraph


class PrefixTuning(PeftMethod):
    name: ClassVar[str] = "prefix_tuning"
    summary: ClassVar[str] = "trainable key/value prefixes in every attention layer"
    default_learning_rate: ClassVar[float] = 1e-2
    options: ClassVar[tuple[Option, ...]] = (
        Option("num_virtual_tokens", positive_int, 20, "prefix length"),
        Option("projection", boolean, False, "reparameterise the prefix through an MLP"),
        Option("projection_hidden", positive_int, None, "hidden size of that MLP (needs projection: true)"),
    )

    def check_model(self, graph: ModelGraph) -> None:
        if not graph.architecture.supports_prefix:
            raise MethodError(
                f"method 'prefix_tuning' needs attention that takes past key values, which this "
                f"{graph.architecture.name} model does not; use 'prompt_tuning' instead"
            )

    def check_combination(self, options: dict[str, Any], graph: ModelGraph) -> None:
        if "projection_hidden" in options and not options["projection"]:
            raise ConfigError(
                f"{self.name}: 'projection_hidden' = {options['projection_hidden']} needs 'projection' = true"
            )

    def merge_problem(self, model_kind: str | None) -> str | None:
        return "adds virtual tokens to the input, which are not weights"

    def peft_config(self, options: dict[str, Any], graph: ModelGraph) -> PrefixTuningConfig:
        extra = {"encoder_hidden_size": options["projection_hidden"]} if "projection_hidden" in options else {}
        return PrefixTuningConfig(
            task_type=peft_task_type(graph),
            num_virtual_tokens=options["num_virtual_tokens"],
            prefix_projection=options["projection"],
            **extra,
        )


register_method(PrefixTuning())
