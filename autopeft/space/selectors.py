"""Layer selectors: which blocks of a model a per-layer dimension covers.

A model's *layout* maps each stack to its block count (``{"encoder": 8, "decoder": 8}`` for T5);
a block id is ``"<stack>.<index>"``. Selector grammar (whitespace around it is ignored)::

    STACK                  every block of STACK
    STACK.blocks[SPEC]     SPEC is ':' or '*' (all), 'i' (one block), 'a:b', 'a:' or ':b' (a slice)

``i``, ``a`` and ``b`` are integers (negative counts from the end, as in Python) or fractions ``p/q``
in [0, 1] meaning ``floor(p/q * n)``, so a space written with fractions fits models of any depth.
Integer slice bounds must lie in ``-n..n`` (a bound past the end is a mistake here, not a clip).

>>> parse_selector("encoder.blocks[1/2:]").block_ids({"encoder": 6})
('encoder.3', 'encoder.4', 'encoder.5')
>>> resolve_selectors(["decoder.blocks[:1/4]", "decoder.blocks[-1]"], {"decoder": 8})
('decoder.0', 'decoder.1', 'decoder.7')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from autopeft.errors import SelectorError

#: A slice bound or index: an integer (Python semantics) or a fraction of the stack's depth.
Bound = int | Fraction

GRAMMAR = (
    "STACK or STACK.blocks[SPEC] with SPEC one of ':', '*', 'i', 'a:b', 'a:', ':b' "
    "(integers, negative from the end, or fractions p/q in [0, 1])"
)

_SELECTOR = re.compile(r"(?P<stack>[A-Za-z_][A-Za-z0-9_]*)(?:\.blocks\[(?P<spec>[^\[\]]*)\])?")
_INT = re.compile(r"[+-]?\d+")
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*([+-]?\d+)")


class SelectorProblem(SelectorError):
    """A :class:`SelectorError` that keeps its parts, so callers can re-raise it with a file and line."""

    def __init__(self, text: str, reason: str, allowed: str) -> None:
        self.text, self.reason, self.allowed = text, reason, allowed
        super().__init__(f"selector {text!r}: {reason}; allowed: {allowed}")


def describe_layout(layout: Mapping[str, int]) -> str:
    """``"encoder (6 blocks, 0-5), decoder (2 blocks, 0-1)"``: how every error message names a model's stacks."""
    return ", ".join(f"{stack} ({n} blocks, 0-{n - 1})" for stack, n in layout.items()) or "no stacks"


@dataclass(frozen=True)
class Selector:
    """A parsed selector; ``start``/``stop`` are ``None`` where the slice leaves them open.

    ``single`` marks ``STACK.blocks[i]`` (``start`` holds ``i``); no bounds and not single means
    every block.
    """

    text: str
    stack: str
    start: Bound | None = None
    stop: Bound | None = None
    single: bool = False

    def __str__(self) -> str:
        return self.text

    def resolve(self, layout: Mapping[str, int]) -> tuple[int, ...]:
        """Ascending block indices this selector names in ``layout``.

        >>> parse_selector("encoder.blocks[-2:]").resolve({"encoder": 5})
        (3, 4)
        """
        if self.stack not in layout:
            raise SelectorProblem(
                self.text, f"there is no stack {self.stack!r}", f"stacks {describe_layout(layout)}"
            )
        n = int(layout[self.stack])
        if self.single:
            assert self.start is not None
            index = self._index(self.start, n)
            return (index % n,)
        start = 0 if self.start is None else self._bound(self.start, n)
        stop = n if self.stop is None else self._bound(self.stop, n)
        indices = tuple(range(n)[start:stop])
        if not indices:
            raise SelectorProblem(
                self.text, f"selects no block of stack {self.stack!r} ({n} blocks)",
                "a selector naming at least one block",
            )
        return indices

    def block_ids(self, layout: Mapping[str, int]) -> tuple[str, ...]:
        """Block ids (``"encoder.3"``) this selector names in ``layout``, ascending."""
        return tuple(f"{self.stack}.{i}" for i in self.resolve(layout))

    def _index(self, bound: Bound, n: int) -> int:
        index = math.floor(bound * n) if isinstance(bound, Fraction) else bound
        if not -n <= index < n:
            allowed = f"{-n}..{n - 1} or a fraction below 1" if n else "none: the stack has no blocks"
            raise SelectorProblem(
                self.text, f"block {_show(bound)} is out of range for stack {self.stack!r} with {n} blocks", allowed
            )
        return index

    def _bound(self, bound: Bound, n: int) -> int:
        if isinstance(bound, Fraction):
            return math.floor(bound * n)
        if not -n <= bound <= n:
            raise SelectorProblem(
                self.text, f"slice bound {bound} is out of range for stack {self.stack!r} with {n} blocks",
                f"{-n}..{n} or a fraction p/q in [0, 1]",
            )
        return bound


def _show(bound: Bound) -> str:
    return f"{bound.numerator}/{bound.denominator}" if isinstance(bound, Fraction) else str(bound)


def _parse_bound(text: str, part: str) -> Bound | None:
    part = part.strip()
    if not part:
        return None
    if _INT.fullmatch(part):
        return int(part)
    match = _FRACTION.fullmatch(part)
    if not match:
        raise SelectorProblem(text, f"bad index {part!r}", GRAMMAR)
    p, q = int(match.group(1)), int(match.group(2))
    if q == 0 or not 0 <= Fraction(p, q) <= 1:
        raise SelectorProblem(text, f"fraction {part!r} is outside [0, 1]", "fractions p/q with 0 <= p/q <= 1")
    return Fraction(p, q)


def parse_selector(text: str) -> Selector:
    """Parse one selector string; :class:`SelectorError` names the text and the grammar.

    >>> parse_selector(" decoder.blocks[:1/4] ").stop
    Fraction(1, 4)
    """
    if not isinstance(text, str):
        raise SelectorProblem(repr(text), "a selector must be a string", GRAMMAR)
    text = text.strip()
    match = _SELECTOR.fullmatch(text)
    if not match:
        raise SelectorProblem(text, "bad selector syntax", GRAMMAR)
    stack, spec = match.group("stack"), match.group("spec")
    if spec is None or spec.strip() in (":", "*"):
        return Selector(text, stack)
    parts = spec.split(":")
    if len(parts) > 2:
        raise SelectorProblem(text, "a slice has at most one ':' (no step)", GRAMMAR)
    if len(parts) == 1:
        index = _parse_bound(text, parts[0])
        if index is None:
            raise SelectorProblem(text, "empty block index", GRAMMAR)
        return Selector(text, stack, start=index, single=True)
    return Selector(text, stack, start=_parse_bound(text, parts[0]), stop=_parse_bound(text, parts[1]))


def resolve_selectors(texts: Sequence[str | Selector], layout: Mapping[str, int]) -> tuple[str, ...]:
    """Block ids of all ``texts`` in the order given; a block selected twice is an error.

    >>> resolve_selectors(["encoder", "encoder.blocks[0]"], {"encoder": 2})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    autopeft.space.selectors.SelectorProblem: selector 'encoder.blocks[0]': block 'encoder.0' is also selected by ...
    """
    owner: dict[str, str] = {}
    for item in texts:
        selector = item if isinstance(item, Selector) else parse_selector(item)
        for block in selector.block_ids(layout):
            if block in owner:
                raise SelectorProblem(
                    selector.text, f"block {block!r} is also selected by {owner[block]!r}",
                    "selectors that do not overlap",
                )
            owner[block] = selector.text
    return tuple(owner)
