"""Prompt tuning (Lester et al. 2021): trainable virtual-token embeddings before the input.

On T5 the prompt goes before the encoder input only (``num_transformer_submodules=1``), as
in Lester et al.; peft's seq2seq default would also prepend one to the decoder.
"""

from __future__ import annotations

from typing import Any, ClassVar

from peft import PromptTuningConfig, PromptTuningInit

from autopeft.methods.base import PeftMethod, peft_task_type, register_method
from autopeft.methods.options import Option, one_of, positive_int
from autopeft.model.graph import ModelGraph

_INIT = {"random": PromptTuningInit.RANDOM, "sample_vocab": PromptTuningInit.SAMPLE_VOCAB}


class PromptTuning(PeftMethod):
    name: ClassVar[str] = "prompt_tuning"
    summary: ClassVar[str] = "trainable virtual-token embeddings prepended to the input"
    default_learning_rate: ClassVar[float] = 3e-2
    options: ClassVar[tuple[Option, ...]] = (
        Option("num_virtual_tokens", positive_int, 20, "number of virtual tokens"),
        Option("init", one_of(*_INIT), "sample_vocab", "initialise from random values or sampled vocabulary"),
    )

    def merge_problem(self, model_kind: str | None) -> str | None:
        return "adds virtual tokens to the input, which are not weights"

    def peft_config(self, options: dict[str, Any], graph: ModelGraph) -> PromptTuningConfig:
        config = PromptTuningConfig(
            task_type=peft_task_type(graph),
            num_virtual_tokens=options["num_virtual_tokens"],
            prompt_tuning_init=_INIT[options["init"]],
            num_transformer_submodules=1,
        )
        # peft looks for hidden_size / d_model and num_attention_heads / n_head in the config's dict, which
        # DistilBERT names dim and n_heads; the model's own embeddings and config attributes say them all
        if graph.embedding_dim is not None:
            config.token_dim = graph.embedding_dim
        if graph.attention_heads is not None:
            config.num_attention_heads = graph.attention_heads
        return config


register_method(PromptTuning())
