"""``per_layer`` dimensions: every block a selector names gets its own value from the choices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from autopeft.errors import ConfigError, SelectorError
from autopeft.space.dimensions.base import COMMON, DimensionSpec, Scalar, same, show
from autopeft.space.dimensions.categorical import one_hot, parse_choice_default, parse_choices
from autopeft.space.selectors import Selector, parse_selector
from autopeft.space.yaml_fields import Fields, is_number


@dataclass(frozen=True, kw_only=True)
class PerLayerSpec(DimensionSpec):
    """``type: per_layer`` — every block named by ``layers`` gets its own value from ``choices``.

    Numeric choices are ordinal (one feature per block: rank in ascending order / (k - 1); moves go to
    the adjacent values); any other choices are one-hot per block. ``blocks`` is empty until
    :meth:`bind`.
    """

    TYPE: ClassVar[str] = "per_layer"
    FIELDS: ClassVar[tuple[str, ...]] = (*COMMON, "layers", "choices", "default")
    layers: tuple[Selector, ...]
    choices: tuple[Scalar, ...]
    default: Scalar | None = None
    blocks: tuple[str, ...] = ()

    @classmethod
    def parse(cls, f: Fields, common: dict[str, Any]) -> DimensionSpec:
        raw = f.get("layers")
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not texts:
            raise f.error("layers", "must be a selector string or a non-empty list of them", value=raw,
                          allowed="e.g. encoder.blocks[:] or [encoder.blocks[1/2:], decoder]")
        layers = []
        for i, text in enumerate(texts):
            key = "layers" if isinstance(raw, str) else f"layers[{i}]"
            line = f.line("layers") if isinstance(raw, str) else f.item_line("layers", i)
            try:
                layers.append(parse_selector(text))
            except SelectorError as exc:
                raise f.error(key, getattr(exc, "reason", str(exc)), value=text,
                              allowed=getattr(exc, "allowed", None), line=line) from None
        choices = parse_choices(f)
        return cls(**common, layers=tuple(layers), choices=choices, default=parse_choice_default(f, choices))

    def bind(self, blocks: tuple[str, ...]) -> PerLayerSpec:
        """A copy covering exactly ``blocks`` (block ids such as ``"encoder.3"``)."""
        return replace(self, blocks=tuple(blocks))

    @property
    def ordinal(self) -> bool:
        """True when every choice is a number, so values have an order."""
        return all(is_number(c) for c in self.choices)

    @property
    def _order(self) -> tuple[Scalar, ...]:
        return tuple(sorted(self.choices, key=float)) if self.ordinal else self.choices

    def default_value(self) -> Any:
        value = self.choices[0] if self.default is None else self.default
        return dict.fromkeys(self.blocks, value)

    def sample_value(self, rng: np.random.Generator) -> Any:
        picks = rng.integers(len(self.choices), size=len(self.blocks))
        return {block: self.choices[int(i)] for block, i in zip(self.blocks, picks, strict=True)}

    def check(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise self._bad(value, "a per-layer value must be a mapping of block id to choice",
                            f"keys {show(self.blocks)}")
        missing = [b for b in self.blocks if b not in value]
        extra = [b for b in value if b not in self.blocks]
        if missing or extra:
            what = f"missing blocks {show(missing)}" if missing else f"unknown blocks {show(extra)}"
            raise self._bad(value, what, f"exactly the blocks {show(self.blocks)}")
        out = {}
        for block in self.blocks:
            match = [c for c in self.choices if same(c, value[block])]
            if not match:
                raise ConfigError(f"config key {self.name!r}: block {block!r}: not one of the choices "
                                  f"(got {value[block]!r}); allowed: {show(self.choices)}")
            out[block] = match[0]
        return out

    def count(self) -> int:
        return int(len(self.choices) ** len(self.blocks))

    def moves(self, value: Any) -> list[Any]:
        order, out = self._order, list[Any]()
        for block in self.blocks:
            rank = next(i for i, c in enumerate(order) if same(c, value[block]))
            if self.ordinal:
                options = [order[i] for i in (rank - 1, rank + 1) if 0 <= i < len(order)]
            else:
                options = [c for i, c in enumerate(order) if i != rank]
            out.extend({**value, block: option} for option in options)
        return out

    def feature_names(self) -> list[str]:
        if self.ordinal:
            return [f"{self.name}[{b}]" for b in self.blocks]
        return [f"{self.name}[{b}]={c}" for b in self.blocks for c in self.choices]

    def feature_kinds(self) -> list[str]:
        return ["ordinal" if self.ordinal else "onehot"] * len(self.feature_names())

    def encode_value(self, value: Any) -> list[float]:
        if not self.ordinal:
            return [x for block in self.blocks for x in one_hot(value[block], self.choices)]
        order, top = self._order, max(len(self.choices) - 1, 1)
        return [next(i for i, c in enumerate(order) if same(c, value[b])) / top for b in self.blocks]

    def decode_value(self, features: np.ndarray) -> Any:
        k = len(self.choices)
        if not self.ordinal:
            rows = np.asarray(features).reshape(len(self.blocks), k)
            return {b: self.choices[int(np.argmax(row))] for b, row in zip(self.blocks, rows, strict=True)}
        ranks = np.clip(np.floor(np.asarray(features) * (k - 1) + 0.5), 0, k - 1).astype(int)
        return {b: self._order[int(r)] for b, r in zip(self.blocks, ranks, strict=True)}
