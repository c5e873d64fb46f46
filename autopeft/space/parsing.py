"""Reading a search space file: YAML -> :class:`~autopeft.space.spec.SpaceSpec`.

A space file::

    name: minilm-layers
    description: per-block LoRA rank ...
    references: [peft_default_lora, attention_only]     # or {name: mine, config: {...}}
    dimensions:
      - name: method
        type: categorical
        choices: [lora, ia3]
      - name: lora.ranks
        type: per_layer                 # one value per block named by the selectors
        layers: encoder.blocks[:]
        choices: [0, 4, 8]
        when: {method: lora}            # exists only when method is lora

Dimension types live in :mod:`autopeft.space.dimensions`; selectors in :mod:`autopeft.space.selectors`;
reference points in :mod:`autopeft.space.references`.
Every problem in a file is a :class:`SpaceError` naming the file, line, field, bad value and what
is allowed.

>>> spec = parse_space("name: s\\ndimensions:\\n  - {name: m, type: categorical, choices: [a, b]}\\n", "s.yaml")
>>> [d.name for d in spec.dimensions], spec.dimension("m").choices
(['m'], ('a', 'b'))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autopeft.errors import SpaceError
from autopeft.space.dimensions import DIMENSION_TYPES, Condition, DimensionSpec, same, show
from autopeft.space.references import parse_references
from autopeft.space.spec import SpaceSpec
from autopeft.space.yaml_fields import Fields, load_yaml

__all__ = ["load_space", "parse_space"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_TOP_FIELDS = ("name", "description", "references", "dimensions")
_PARENT_TYPES = ("categorical", "constant")


def _field_lines(data: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    lines: Mapping[Any, int] = getattr(data, "lines", {})
    out: list[tuple[str, int]] = []
    for key, line in lines.items():
        out.append((str(key), line))
        value = data[key]
        for i, item_line in enumerate(getattr(value, "lines", []) if isinstance(value, list) else []):
            out.append((f"{key}[{i}]", item_line))
        if isinstance(value, Mapping):
            out.extend((f"{key}.{k}", sub) for k, sub in getattr(value, "lines", {}).items())
    return tuple(out)


def _parse_when(f: Fields, earlier: Mapping[str, DimensionSpec], later: Sequence[str]) -> tuple[Condition, ...]:
    if "when" not in f.data:
        return ()
    raw = f.data["when"]
    if not isinstance(raw, Mapping) or not raw:
        raise f.error("when", "must be a mapping of an earlier dimension to its value(s)", value=raw,
                      allowed="e.g. {method: lora} or {method: [lora, dora]}")
    lines: Mapping[Any, int] = getattr(raw, "lines", {})
    out = []
    for parent, values in raw.items():
        line = lines.get(parent, f.line("when"))
        key = f"when.{parent}"
        if parent not in earlier:
            if parent in later:
                reason = f"condition on dimension {parent!r}, which is declared later"
            else:
                reason = f"condition on a dimension that does not exist: {parent!r}"
            raise f.error(key, reason, value=parent,
                          allowed=f"an earlier categorical dimension: {', '.join(earlier) or 'none'}", line=line)
        dim = earlier[parent]
        if dim.type not in _PARENT_TYPES:
            raise f.error(key, f"a condition's dimension must be categorical or constant, {parent!r} is {dim.type}",
                          value=parent, allowed="categorical or constant dimensions", line=line)
        options = list(getattr(dim, "choices", ())) or [dim.default_value()]
        wanted = values if isinstance(values, list) else [values]
        if not wanted:
            raise f.error(key, "a condition needs at least one value", value=values, allowed=show(options), line=line)
        for value in wanted:
            if not any(same(value, o) for o in options):
                raise f.error(key, f"{parent!r} never takes this value", value=value, allowed=show(options),
                              line=line)
        out.append(Condition(str(parent), tuple(wanted), line))
    return tuple(out)


def _parse_dimension(item: Any, index: int, source: str, earlier: Mapping[str, DimensionSpec],
                     later: Sequence[str], line: int) -> DimensionSpec:
    path = f"dimensions[{index}]"
    if not isinstance(item, Mapping):
        raise SpaceError("a dimension must be a mapping with name and type", file=source, line=line, field=path,
                         value=item, allowed="{name: ..., type: " + "|".join(DIMENSION_TYPES) + ", ...}")
    f = Fields(item, source, path)
    if "type" not in item:
        raise f.error("type", "missing required field 'type'", allowed=", ".join(DIMENSION_TYPES))
    kind = item["type"]
    if not isinstance(kind, str) or kind not in DIMENSION_TYPES:
        raise f.error("type", "unknown dimension type", value=kind, allowed=", ".join(DIMENSION_TYPES))
    cls = DIMENSION_TYPES[kind]
    f.check_keys(cls.FIELDS, required=("name",), what=f" for type {kind!r}")
    name = item["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise f.error("name", "bad dimension name", value=name,
                      allowed="identifiers joined by '.', e.g. method, learning_rate, lora.r")
    if name in earlier:
        raise f.error("name", f"duplicate dimension name (first at line {earlier[name].line})", value=name,
                      allowed="unique dimension names")
    description = f.string("description")
    common = {"name": name, "when": _parse_when(f, earlier, later), "description": description,
              "line": f.line(), "field_lines": _field_lines(item)}
    f = Fields(item, source, name)  # from here on, fields are named after the dimension
    return cls.parse(f, common)


def parse_space(text: str, source: str = "<space>") -> SpaceSpec:
    """Parse a space from YAML ``text``; ``source`` names the file in errors."""
    data = load_yaml(text, source)
    if not isinstance(data, Mapping):
        raise SpaceError("a space file must be a mapping with 'name' and 'dimensions'", file=source, line=1,
                         value=data if data is None or isinstance(data, (str, int, float, list)) else type(data),
                         allowed="name: ..., dimensions: [...]")
    top = Fields(data, source)
    top.check_keys(_TOP_FIELDS, required=("name", "dimensions"), what=" at the top level")
    name = top.string("name", required=True) or ""
    description = top.string("description")
    raw = data["dimensions"]
    if not isinstance(raw, list):
        raise top.error("dimensions", "must be a list of dimensions", value=raw, allowed="a non-empty list")
    if not raw:
        raise top.error("dimensions", "the space is empty: it has no dimensions", value=raw,
                        allowed="at least one dimension")
    later = [item["name"] for item in raw if isinstance(item, Mapping) and isinstance(item.get("name"), str)]
    dims: dict[str, DimensionSpec] = {}
    for i, item in enumerate(raw):
        dim = _parse_dimension(item, i, source, dims, later, top.item_line("dimensions", i))
        dims[dim.name] = dim
    references = parse_references(top, source)
    return SpaceSpec(source, name, tuple(dims.values()), description, references, text)


def load_space(path: str | Path) -> SpaceSpec:
    """Read and parse a space file; a missing or unreadable file is a :class:`SpaceError` too."""
    file = Path(path)
    if not file.is_file():
        raise SpaceError("no such space file", file=str(path), value=str(path),
                         allowed="a YAML file, e.g. spaces/minilm-layers.yaml (see `autopeft spaces list`)")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"cannot read the file: {exc}", file=str(path)) from None
    return parse_space(text, str(path))
