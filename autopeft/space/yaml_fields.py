"""YAML loading that remembers where every key and item came from.

Mappings load as :class:`LineDict` (``lines[key]`` is the 1-based line of each key) and sequences as
:class:`LineList` (``lines[i]`` is the line of item ``i``), so later checks can point at the right line.
:class:`Fields` gives typed access to one loaded mapping and turns every problem into a
:class:`~autopeft.errors.SpaceError` at that line.

>>> data = load_yaml("name: x\\ndims:\\n  - a\\n  - b\\n", "demo.yaml")
>>> data.lines["dims"], data["dims"].lines
(2, [3, 4])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from autopeft.errors import _MISSING, SpaceError  # one sentinel, so SpaceError sees "no value"

_BREAKS = "\n\x85\u2028\u2029"


class LineDict(dict[Any, Any]):
    """A mapping loaded from YAML; ``line`` is where it starts, ``lines[key]`` where each key is."""

    def __init__(self, *args: Any, line: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.lines: dict[Any, int] = {}


class LineList(list[Any]):
    """A sequence loaded from YAML; ``line`` is where it starts, ``lines[i]`` where item ``i`` is."""

    def __init__(self, *args: Any, line: int = 1) -> None:
        super().__init__(*args)
        self.line = line
        self.lines: list[int] = []


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """One mapping names the same key twice."""

    def __init__(self, key: Any, first: int, node: yaml.Node) -> None:
        self.key, self.first, self.second = key, first, node.start_mark.line + 1
        super().__init__(None, None, f"duplicate key {key!r}", node.start_mark)


class LineLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that builds :class:`LineDict` / :class:`LineList` and rejects duplicate keys."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML's scalar constructors fail with plain Python errors on bad input (``2001-13-45``,
        # ``!!int abc``, ``!!bool maybe``); make each a marked YAML error at the offending node.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
            kind = str(node.tag).rsplit(":", 1)[-1]
            what = repr(node.value) if isinstance(node, yaml.ScalarNode) else "this collection"
            raise yaml.constructor.ConstructorError(
                None, None, f"{what} is not a valid {kind}", node.start_mark
            ) from None

    def construct_document(self, node: yaml.Node) -> Any:
        # Deep construction makes self-referencing anchors an error instead of a cyclic object.
        data = self.construct_object(node, deep=True)
        self.constructed_objects = {}
        self.recursive_objects = {}
        self.deep_construct = False
        return data


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    if not isinstance(node, yaml.MappingNode):  # e.g. ``!!map text``
        raise yaml.constructor.ConstructorError(None, None, f"expected a mapping node, but found {node.id}",
                                                node.start_mark)
    data = LineDict(line=node.start_mark.line + 1)
    yield data
    merge = "tag:yaml.org,2002:merge"
    explicit = {id(key) for key, _ in node.value if key.tag != merge}
    loader.flatten_mapping(node)
    first: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
            ) from None
        line = key_node.start_mark.line + 1
        if id(key_node) in explicit:  # merged (<<) keys may be overridden, explicit ones not
            if key in first:
                raise DuplicateKeyError(key, first[key], key_node)
            first[key] = line
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = line


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> Iterator[LineList]:
    if not isinstance(node, yaml.SequenceNode):  # e.g. ``!!seq text``
        raise yaml.constructor.ConstructorError(None, None, f"expected a sequence node, but found {node.id}",
                                                node.start_mark)
    data = LineList(line=node.start_mark.line + 1)
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)
    data.lines = [child.start_mark.line + 1 for child in node.value]


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def count_lines(text: str) -> int:
    """Lines of ``text`` as YAML counts them (a final line break opens no new line); at least 1."""
    breaks = sum(text.count(ch) for ch in _BREAKS) + text.count("\r") - text.count("\r\n")
    trailing = bool(text) and text[-1] in _BREAKS + "\r"
    return max(1, breaks + 1 - trailing)


def _line_at(text: str, position: int) -> int:
    return min(count_lines(text[:position] + "x"), count_lines(text))


def load_yaml(text: str, source: str) -> Any:
    """Parse ``text`` with :class:`LineLoader`; any YAML problem becomes a one-line :class:`SpaceError`.

    >>> load_yaml("a: [1", "x.yaml")
    Traceback (most recent call last):
    ...
    autopeft.errors.SpaceError: x.yaml:1: malformed YAML: expected ',' or ']', but got '<stream end>'
    """
    last = count_lines(text)
    try:
        return yaml.load(text, Loader=LineLoader)
    except DuplicateKeyError as exc:
        raise SpaceError(
            f"duplicate key {exc.key!r} at line {exc.second} (first at line {exc.first})",
            file=source, line=exc.second, field=str(exc.key), allowed="each key once per mapping",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = 1 if mark is None else min(max(mark.line + 1, 1), last)
        problem = exc.problem or exc.context or "syntax error"
        raise SpaceError(f"malformed YAML: {problem}", file=source, line=line) from None
    except yaml.reader.ReaderError as exc:
        reason = f"malformed YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
        raise SpaceError(reason, file=source, line=_line_at(text, exc.position)) from None
    except yaml.YAMLError as exc:
        raise SpaceError(f"malformed YAML: {exc}", file=source, line=1) from None
    except RecursionError:
        raise SpaceError("malformed YAML: nested too deeply", file=source, line=1) from None


def is_number(value: object) -> bool:
    """True for ints and finite floats (numpy's too), never for bools, NaN or infinity."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return isinstance(value, numbers.Integral) or math.isfinite(value)


@dataclass(frozen=True)
class Fields:
    """Typed access to one loaded mapping (a dimension, a reference, the top level).

    Every accessor raises :class:`SpaceError` with the file, the key's line and the field path
    (``path.key``), the bad value and what is allowed.
    """

    data: Mapping[Any, Any]
    file: str
    path: str = ""

    def field(self, key: str) -> str:
        """Full field path of ``key``, e.g. ``dimensions[2].low``."""
        return f"{self.path}.{key}" if self.path else key

    def line(self, key: object = _MISSING) -> int:
        """Line of ``key`` (or of the mapping itself when the key is absent or not given)."""
        lines: Mapping[Any, int] = getattr(self.data, "lines", {})
        fallback: int = getattr(self.data, "line", 1)
        return lines.get(key, fallback) if key is not _MISSING else fallback

    def item_line(self, key: str, index: int) -> int:
        """Line of item ``index`` of the list under ``key``."""
        lines: Sequence[int] = getattr(self.data.get(key), "lines", ())
        return lines[index] if index < len(lines) else self.line(key)

    def error(
        self, key: str, reason: str, *, value: Any = _MISSING, allowed: str | None = None, line: int | None = None
    ) -> SpaceError:
        """A :class:`SpaceError` about ``key`` (``key`` may carry an item suffix such as ``choices[1]``)."""
        where = line if line is not None else self.line(key)
        return SpaceError(reason, file=self.file, line=where, field=self.field(key), value=value, allowed=allowed)

    def check_keys(self, allowed: Sequence[str], required: Sequence[str] = (), what: str = "") -> None:
        """Reject keys outside ``allowed`` and report the first missing ``required`` key."""
        for key in self.data:
            if key not in allowed:
                raise self.error(
                    str(key), f"unknown field {key!r}{what}", allowed=", ".join(allowed), line=self.line(key)
                )
        for key in required:
            if key not in self.data:
                raise self.error(key, f"missing required field {key!r}{what}", allowed=", ".join(allowed))

    def get(self, key: str, default: Any = None) -> Any:
        """The raw value of ``key`` or ``default``."""
        return self.data.get(key, default)

    def string(self, key: str, *, required: bool = False) -> str | None:
        """A string field (``None`` when absent and optional)."""
        if key not in self.data:
            if required:
                raise self.error(key, f"missing required field {key!r}", allowed="a string")
            return None
        value = self.data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "must be a non-empty string", value=value, allowed="a string")
        return value

    def number(self, key: str, *, integer: bool) -> int | float:
        """A required finite number (an ``int`` when ``integer``; bools are not numbers)."""
        kind = "an integer" if integer else "a finite number"
        if key not in self.data:
            raise self.error(key, f"missing required field {key!r}", allowed=kind)
        value = self.data[key]
        if not is_number(value) or (integer and not isinstance(value, numbers.Integral)):
            raise self.error(key, f"must be {kind}", value=value, allowed=kind)
        if integer:
            return int(value)
        try:
            return float(value)
        except OverflowError:
            raise self.error(key, f"must be {kind}", value=value, allowed=kind) from None

    def flag(self, key: str) -> bool:
        """An optional boolean, false when absent."""
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false", value=value, allowed="true, false")
        return value
