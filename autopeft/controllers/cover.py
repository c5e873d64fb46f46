"""Covering a space's top-level choice: which PEFT method a warm start has not tried yet.

A space's *root* choices are its unconditional categorical dimensions that other dimensions depend on
(``method`` in every shipped space: the LoRA dimensions exist only ``when: {method: lora}``). On the two
PEFT-Bench tables, which method suits the task is what transfers worst: LN tuning holds the cheap end of the
bbc-news front where a LoRA member holds it on tweets. Which member is best *within* a method transfers
better. So while a warm start's prior guides the search, bo can spend its first trials on one
member of each method, the prior choosing which member (bo's option ``prior_cover``).

:func:`untried_filter` gives the predicate that restricts proposals to the choices not yet tried;
:func:`root_columns` where the root choices sit in the encoding (a warm start's per-method levels).

>>> from autopeft.space import parse_space
>>> space = parse_space('''
... name: s
... dimensions:
...   - {name: method, type: categorical, choices: [lora, ia3, bitfit]}
...   - {name: lora.r, type: integer, low: 1, high: 8, when: {method: lora}}
... ''').resolve({})
>>> roots(space)
(('method', ('lora', 'ia3', 'bitfit')),)
>>> root_columns(space)
((0, 1, 2),)
>>> keep = untried_filter(space, [{"method": "lora", "lora.r": 2}])
>>> keep({"method": "ia3"}), keep({"method": "lora", "lora.r": 4})
(True, False)
>>> untried_filter(space, [{"method": m} for m in ("lora", "ia3", "bitfit")]) is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from autopeft.space import Space
from autopeft.space.dimensions import CategoricalSpec

__all__ = ["root_columns", "roots", "untried_filter"]


def roots(space: Space) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The root choices, in dimension order: (name, choices) of every unconditional categorical dimension that
    some other dimension's ``when`` names."""
    parents = {c.parent for dim in space.dimensions for c in dim.when}
    return tuple((dim.name, tuple(dim.choices)) for dim in space.dimensions
                 if isinstance(dim, CategoricalSpec) and not dim.when and dim.name in parents)


def root_columns(space: Space) -> tuple[tuple[int, ...], ...]:
    """Per root dimension, the indices of its one-hot columns in the space's encoding (the levels of a warm
    start's residual, :class:`~autopeft.controllers.transfer.TransferSurrogate`)."""
    names, root_names = space.feature_names, {name for name, _ in roots(space)}
    return tuple(tuple(names.index(column) for column in dim.feature_names())
                 for dim in space.dimensions if dim.name in root_names)


def untried_filter(space: Space, tried: Iterable[Mapping[str, Any]]) -> Callable[[Mapping[str, Any]], bool] | None:
    """A predicate that accepts the configurations whose value of the first root dimension with an untried
    choice is untried; ``None`` once every choice of every root dimension has been tried (or there is none)."""
    tried = list(tried)
    for name, choices in roots(space):
        seen = {config.get(name) for config in tried}
        if any(choice not in seen for choice in choices):
            return _Untried(name, frozenset(seen))
    return None


class _Untried:
    """Accepts a configuration whose value of ``name`` is not in ``seen``."""

    def __init__(self, name: str, seen: frozenset[Any]) -> None:
        self.name, self.seen = name, seen

    def __call__(self, config: Mapping[str, Any]) -> bool:
        return config.get(self.name) not in self.seen
