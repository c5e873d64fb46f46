"""LoRA (Hu et al. 2021) with a rank per block: 0 leaves a block out.

Ranks come either per block (``lora.ranks: {"encoder.0": 8, "decoder.5": 0, ...}``, what a
``per_layer`` dimension yields) or as one rank ``r`` over ``layers`` selectors. The peft config
gets the most common rank as ``r`` and a ``rank_pattern`` / ``alpha_pattern`` entry per module
whose rank differs, keyed by the module's full, escaped path so that no two keys overlap
(overlapping keys reload with the wrong shapes: docs/architecture.md, traps).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, ClassVar

from peft import LoraConfig

from autopeft.errors import ConfigError
from autopeft.methods.base import PeftMethod, peft_task_type, register_method
from autopeft.methods.options import (
    Option,
    dropout,
    layers,
    module_set,
    per_layer_ranks,
    positive_float,
    positive_int,
    rank_or_zero,
)
from autopeft.methods.targets import compact_targets
from autopeft.model.graph import ModelGraph


class Lora(PeftMethod):
    name: ClassVar[str] = "lora"
    summary: ClassVar[str] = "low-rank updates of chosen linear modules, a rank per block"
    use_dora: ClassVar[bool] = False
    default_learning_rate: ClassVar[float] = 5e-4
    options: ClassVar[tuple[Option, ...]] = (
        Option("ranks", per_layer_ranks, None, "rank per block id; 0 = block not adapted", element=rank_or_zero),
        Option("r", positive_int, None, "one rank for every selected block (with 'layers')"),
        Option("layers", layers, None, "layer selector(s) for 'r' (default: all blocks)"),
        Option("modules", module_set, "qv", "module set: qv, attention, attention_ffn, all_linear, roles..."),
        Option("alpha", positive_float, None, "scaling numerator; default alpha_ratio * rank"),
        Option("alpha_ratio", positive_float, 1.0, "alpha = alpha_ratio * rank, per block (if 'alpha' unset)"),
        Option("dropout", dropout, 0.0, "dropout on the LoRA input"),
    )

    def check_combination(self, options: dict[str, Any], graph: ModelGraph) -> None:
        if "ranks" in options and ("r" in options or "layers" in options):
            raise ConfigError(
                f"{self.name}: give either 'ranks' (per block) or 'r' with 'layers', not both; "
                f"got {sorted(k for k in ('ranks', 'r', 'layers') if k in options)}"
            )

    @staticmethod
    def block_ranks(options: dict[str, Any], graph: ModelGraph) -> dict[str, int]:
        """Block id -> rank for every block of the model (0 = not adapted)."""
        if "ranks" in options:
            ranks: dict[str, int] = dict(options["ranks"])
        else:
            chosen = set(options.get("layers") or graph.block_ids())
            ranks = {b: options.get("r", 8) if b in chosen else 0 for b in graph.block_ids()}
        return {b: ranks.get(b, 0) for b in graph.block_ids()}

    def module_ranks(self, options: dict[str, Any], graph: ModelGraph) -> dict[str, int]:
        """Module path -> rank, only the adapted modules."""
        ranks = self.block_ranks(options, graph)
        blocks = [b for b, r in ranks.items() if r > 0]
        return {m.path: ranks[m.block_id] for m in graph.select(options["modules"], blocks) if m.kind == "linear"}

    def placements(self, options: dict[str, Any], graph: ModelGraph) -> dict[str, float]:
        return {path: float(r) for path, r in self.module_ranks(options, graph).items()}

    def count_trainable(self, options: dict[str, Any], graph: ModelGraph) -> int | None:
        shapes = {m.path: m.shape for m in graph.modules()}
        total = graph.head_params
        ranks = self.adapted(options, graph)  # a configuration that does not build has no count
        for path, r in ranks.items():
            fan_in, fan_out = shapes[path]
            total += r * (fan_in + fan_out) + (fan_out if self.use_dora else 0)  # DoRA: a magnitude per output
        return total

    def adapted(self, options: dict[str, Any], graph: ModelGraph) -> dict[str, int]:
        """:meth:`module_ranks`, refused when empty: every block at rank 0, or modules the ranked blocks lack
        (``cross_attention`` on encoder blocks only)."""
        ranks = self.module_ranks(options, graph)
        if not ranks:
            having = sorted({m.block_id for m in graph.select(options["modules"]) if m.kind == "linear"},
                            key=graph.block_ids().index)
            ranked = [b for b, r in self.block_ranks(options, graph).items() if r > 0]
            raise ConfigError(f"{self.name}: the configuration adapts no module: modules {options['modules']!r} are "
                              f"in blocks {', '.join(having) or 'none of this model'}, and the blocks with a rank "
                              f"above 0 are {', '.join(ranked) or 'none'} (check 'modules' and the ranks); allowed: "
                              f"a rank of at least 1 on a block that has the modules")
        return ranks

    def peft_config(self, options: dict[str, Any], graph: ModelGraph) -> LoraConfig:
        ranks = self.adapted(options, graph)
        base_r = Counter(ranks.values()).most_common(1)[0][0]

        def alpha_of(r: int) -> float | int:
            value = options["alpha"] if "alpha" in options else options["alpha_ratio"] * r
            return int(value) if float(value).is_integer() else float(value)

        rank_pattern = {re.escape(p): r for p, r in ranks.items() if r != base_r}
        alpha_pattern = {re.escape(p): alpha_of(r) for p, r in ranks.items() if alpha_of(r) != alpha_of(base_r)}
        common = dict(
            r=base_r, lora_alpha=alpha_of(base_r), lora_dropout=options["dropout"],
            rank_pattern=rank_pattern, alpha_pattern=alpha_pattern, use_dora=self.use_dora,
            task_type=peft_task_type(graph),
        )
        targets = compact_targets(graph, sorted(ranks), lambda kw: LoraConfig(**common, **kw))
        return LoraConfig(**common, **targets)


register_method(Lora())
