"""The space as NNI sees it: an autopeft :class:`~autopeft.space.Space` <-> NNI's search-space format.

Every ``nni:`` controller sees the same NNI search space, :func:`to_nni_space`:

- a categorical dimension is a ``choice`` of its values (unordered, even for numbers);
- a float range is ``uniform`` (``loguniform`` for ``log: true``);
- an integer range is ``randint`` over ``[low, high + 1)`` (NNI's upper bound is exclusive), ``qloguniform``
  with ``q = 1`` for ``log: true``, ``quniform`` with ``q = step`` for a stepped range on multiples of its step,
  and a ``choice`` of its values for a stepped range off them; the value comes back rounded to the grid;
- a per-layer dimension is one ``choice`` per block, named ``<dimension>[<block>]`` (``lora.ranks[encoder.3]``),
  put back together into the per-layer value on the way back;
- a constant (and a range whose low equals its high) is left out and filled in by the space;
- a conditional dimension sits inside NNI's nested ``choice`` of its categorical parent, under each parent value
  it is conditioned on (so a child of ``method in [lora, dora]`` is repeated in the ``lora`` and the ``dora``
  branch): ``{"method": {"_type": "choice", "_value": [{"_name": "lora", "lora.r": ...}, {"_name": "ia3"}]}}``.
  A condition on a constant is the constant's own condition. A condition NNI cannot express is a
  :class:`ConfigError` naming the dimension, when the controller is built: one on a dimension that is not
  categorical, or conditions on two parents neither of which is nested inside the other.
  A space with two choices that Python finds equal (``0`` and ``false``) is refused too: NNI finds a choice
  by ``==``.

:func:`from_nni_params` turns the tuner's parameters back into a configuration (checked by
:meth:`Space.validate`); :func:`to_nni_params` is the inverse, and the two are exact for every member.

>>> from autopeft.space import parse_space
>>> space = parse_space('''
... name: s
... dimensions:
...   - {name: method, type: categorical, choices: [lora, ia3]}
...   - {name: lora.r, type: integer, low: 1, high: 8, when: {method: lora}}
... ''').resolve({})
>>> to_nni_space(space)["method"]["_value"]
[{'_name': 'lora', 'lora.r': {'_type': 'randint', '_value': [1, 9]}}, {'_name': 'ia3'}]
>>> from_nni_params(space, {"method": {"_name": "lora", "lora.r": 4}})
{'method': 'lora', 'lora.r': 4}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autopeft.errors import ConfigError
from autopeft.space import Space
from autopeft.space.dimensions import (
    CategoricalSpec,
    ConstantSpec,
    DimensionSpec,
    FloatSpec,
    IntegerSpec,
    PerLayerSpec,
    same,
)
from autopeft.space.yaml_fields import is_number

__all__ = ["NniParam", "as_json", "encode", "from_nni_params", "from_params", "to_nni_params", "to_nni_space",
           "translate"]

#: Keys NNI gives a meaning to inside a search space; no dimension may be called so.
_RESERVED = frozenset({"_name", "_type", "_value", "_index"})


# ---- the space, translated -------------------------------------------------------------------------------------
@dataclass
class NniParam:
    """One NNI parameter: a dimension (or one block of a per-layer one) at one place of the nested space."""

    key: str
    dim: DimensionSpec
    kind: str  # NNI's _type
    value: list[Any]  # NNI's _value (a nested choice's is built from ``branches``)
    block: str | None = None
    choices: tuple[Any, ...] = ()  # what a "choice" picks from
    branches: list[list[NniParam]] | None = None  # a categorical parent: the parameters under each of its choices


def translate(space: Space) -> list[NniParam]:
    """The top level of the nested NNI space of ``space`` (see the module docstring); ConfigError if it has none."""
    dims = {d.name: d for d in space.dimensions}
    order = {d.name: i for i, d in enumerate(space.dimensions)}
    conditions: dict[str, dict[str, tuple[int, ...]] | None] = {}
    for dim in space.dimensions:
        if dim.name in _RESERVED:
            raise ConfigError(f"dimension {dim.name!r} cannot be expressed in NNI's search space: NNI reserves the "
                              f"keys {', '.join(sorted(_RESERVED))}; rename it")
        conditions[dim.name] = _conditions(dim, dims, order, conditions)
    parents = {p for c in conditions.values() if c for p in c}
    root: list[NniParam] = []
    placed: dict[str, list[tuple[NniParam, dict[str, int]]]] = {}  # a parent -> its parameters and their paths
    for dim in space.dimensions:
        condition = conditions[dim.name]
        if condition is None:
            continue  # never active
        targets: list[tuple[list[NniParam], dict[str, int]]] = [(root, {})] if not condition else []
        if condition:
            deepest = max(condition, key=order.__getitem__)
            for param, path in placed.get(deepest, []):
                if _holds_on(dim.name, condition, deepest, path):
                    assert param.branches is not None
                    targets += [(param.branches[i], {**path, deepest: i}) for i in condition[deepest]]
        for scope, path in targets:
            for param in _params(dim, dim.name in parents):
                scope.append(param)
                if param.branches is not None:
                    placed.setdefault(dim.name, []).append((param, path))
    return root


def _conditions(dim: DimensionSpec, dims: Mapping[str, DimensionSpec], order: Mapping[str, int],
                known: Mapping[str, dict[str, tuple[int, ...]] | None]) -> dict[str, tuple[int, ...]] | None:
    """``dim``'s conditions as categorical parent -> the indices of its choices allowed; None when never active."""
    out: dict[str, set[int]] = {}
    for cond in dim.when:
        parent = dims.get(cond.parent)
        if parent is None or order[parent.name] >= order[dim.name]:
            raise ConfigError(f"dimension {dim.name!r}: its condition on {cond.parent!r} cannot be expressed in "
                              f"NNI's search space: the condition must be on an earlier dimension")
        pairs: list[tuple[str, set[int]]]
        if isinstance(parent, ConstantSpec):  # holds exactly when the constant is active
            inherited = known[parent.name]
            if inherited is None or not cond.holds(parent.default_value()):
                return None
            pairs = [(p, set(v)) for p, v in inherited.items()]
        elif isinstance(parent, CategoricalSpec):
            pairs = [(parent.name, {i for i, c in enumerate(parent.choices) if cond.holds(c)})]
        else:
            raise ConfigError(f"dimension {dim.name!r}: its condition on {parent.name!r} (type {parent.type}) cannot "
                              f"be expressed in NNI's search space: nested choices branch only on categorical "
                              f"dimensions")
        for name, allowed in pairs:
            out[name] = out[name] & allowed if name in out else allowed
            if not out[name]:
                return None
    return {name: tuple(sorted(allowed)) for name, allowed in out.items()}


def _holds_on(name: str, condition: Mapping[str, tuple[int, ...]], deepest: str, path: Mapping[str, int]) -> bool:
    """Whether ``name``'s conditions other than on ``deepest`` hold on ``path`` (the parents chosen above it)."""
    for parent, allowed in condition.items():
        if parent == deepest:
            continue
        if parent not in path:
            raise ConfigError(f"dimension {name!r}: its conditions on {parent!r} and {deepest!r} cannot be expressed "
                              f"in NNI's search space: a nested choice needs one of the two nested inside the other")
        if path[parent] not in allowed:
            return False
    return True


def _params(dim: DimensionSpec, parent: bool) -> list[NniParam]:
    """The NNI parameters of ``dim`` (none for a constant or a one-value range)."""
    if isinstance(dim, CategoricalSpec):
        _distinct(dim.name, dim.choices)
        branches: list[list[NniParam]] | None = [[] for _ in dim.choices] if parent else None
        return [NniParam(dim.name, dim, "choice", list(dim.choices), choices=dim.choices, branches=branches)]
    if isinstance(dim, PerLayerSpec):
        _distinct(dim.name, dim.choices)
        return [NniParam(f"{dim.name}[{block}]", dim, "choice", list(dim.choices), block=block, choices=dim.choices)
                for block in dim.blocks]
    if isinstance(dim, IntegerSpec):
        if dim.low == dim.high:
            return []
        if dim.log:
            return [NniParam(dim.name, dim, "qloguniform", [dim.low, dim.high, 1])]
        if dim.step == 1:
            return [NniParam(dim.name, dim, "randint", [dim.low, dim.high + 1])]
        if dim.low % dim.step == 0:
            return [NniParam(dim.name, dim, "quniform", [dim.low, dim.high, dim.step])]
        grid = tuple(range(dim.low, dim.high + 1, dim.step))
        return [NniParam(dim.name, dim, "choice", list(grid), choices=grid)]
    if isinstance(dim, FloatSpec):
        if dim.low == dim.high:
            return []
        return [NniParam(dim.name, dim, "loguniform" if dim.log else "uniform", [float(dim.low), float(dim.high)])]
    if isinstance(dim, ConstantSpec):
        return []
    raise ConfigError(f"dimension {dim.name!r}: a {dim.type} dimension cannot be expressed in NNI's search space")


def _distinct(name: str, choices: Sequence[Any]) -> None:
    for i, a in enumerate(choices):
        for b in choices[i + 1:]:
            if a == b:
                raise ConfigError(f"dimension {name!r} cannot be expressed in NNI's search space: its choices {a!r} "
                                  f"and {b!r} are equal to NNI, which finds a choice by ==")


def as_json(scope: Sequence[NniParam]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in scope:
        if p.branches is not None:
            value: list[Any] = [{"_name": c, **as_json(b)} for c, b in zip(p.choices, p.branches, strict=True)]
        else:
            value = list(p.value)
        out[p.key] = {"_type": p.kind, "_value": value}
    return out


def _index(choices: Sequence[Any], value: Any, key: str) -> int:
    for i, choice in enumerate(choices):
        if same(value, choice):
            return i
    raise ConfigError(f"NNI parameter {key!r}: {value!r} is not one of its choices; allowed: "
                      f"{', '.join(repr(c) for c in choices)}")


def encode(scope: Sequence[NniParam], config: Mapping[str, Any], indexed: bool) -> dict[str, Any]:
    """``config`` (a checked member) as NNI parameters; ``indexed``: in the ``{"_index", "_value"}`` form."""
    out: dict[str, Any] = {}
    for p in scope:
        value = config[p.dim.name]
        if p.block is not None:
            value = value[p.block]
        if p.kind == "choice":
            i = _index(p.choices, value, p.key)
            inner = p.choices[i] if p.branches is None else {"_name": p.choices[i],
                                                             **encode(p.branches[i], config, indexed)}
            out[p.key] = {"_index": i, "_value": inner} if indexed else inner
        else:
            out[p.key] = int(value) if isinstance(p.dim, IntegerSpec) else float(value)
    return out


def decode(scope: Sequence[NniParam], params: Any, found: dict[tuple[str, str | None], Any], nested: bool) -> None:
    """Collect (dimension, block) -> value from NNI ``params`` at ``scope`` into ``found``."""
    if not isinstance(params, Mapping):
        raise ConfigError(f"NNI parameters must be a mapping, got {params!r}")
    extra = sorted(str(k) for k in set(params) - {p.key for p in scope} - ({"_name"} if nested else set()))
    if extra:
        raise ConfigError(f"NNI parameter {extra[0]!r} is not a parameter of this space here; allowed: "
                          f"{', '.join(p.key for p in scope) or 'none'}")
    for p in scope:
        if p.key not in params:
            raise ConfigError(f"NNI parameters have no {p.key!r}; add it")
        raw = params[p.key]
        if p.branches is not None:
            name = raw.get("_name") if isinstance(raw, Mapping) else raw
            i = _index(p.choices, name, p.key)
            found[(p.dim.name, None)] = p.choices[i]
            decode(p.branches[i], raw if isinstance(raw, Mapping) else {}, found, True)
        elif p.kind == "choice":
            found[(p.dim.name, p.block)] = p.choices[_index(p.choices, raw, p.key)]
        else:
            found[(p.dim.name, None)] = _number(p, raw)


def _number(p: NniParam, raw: Any) -> int | float:
    """A range parameter's value: rounded back to the integer grid, or clipped into the float range."""
    if not is_number(raw):
        raise ConfigError(f"NNI parameter {p.key!r}: {raw!r} is not a finite number")
    x = float(raw)
    dim = p.dim
    if isinstance(dim, IntegerSpec):
        if p.kind == "randint" and not x.is_integer():
            raise ConfigError(f"NNI parameter {p.key!r}: {raw!r} is not an integer")
        return int(dim.low + dim.step * math.floor((x - dim.low) / dim.step + 0.5))
    assert isinstance(dim, FloatSpec)
    return min(max(x, float(dim.low)), float(dim.high))  # exp(log(high)) may be one rounding above high


def fixed(dim: DimensionSpec) -> bool:
    """Whether ``dim`` has no NNI parameter (a constant or a one-value range): the space fills it."""
    return isinstance(dim, ConstantSpec) or (isinstance(dim, (IntegerSpec, FloatSpec)) and dim.low == dim.high)


def to_nni_space(space: Space) -> dict[str, Any]:
    """``space`` as an NNI search space (JSON-ready); ConfigError naming a dimension NNI cannot express."""
    return as_json(translate(space))


def to_nni_params(space: Space, config: Mapping[str, Any]) -> dict[str, Any]:
    """A member of ``space`` as the parameters an NNI tuner would give for it (nested choices as dicts)."""
    return encode(translate(space), space.validate(config, fill=False), indexed=False)


def from_nni_params(space: Space, params: Mapping[str, Any]) -> dict[str, Any]:
    """The member of ``space`` that NNI ``params`` (for :func:`to_nni_space`) stand for, checked by the space."""
    return from_params(space, translate(space), params)


def from_params(space: Space, tree: Sequence[NniParam], params: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[tuple[str, str | None], Any] = {}
    decode(tree, params, found, False)
    config: dict[str, Any] = {}
    for dim in space.dimensions:
        if not space.is_active(dim, config):
            continue
        if isinstance(dim, PerLayerSpec):
            missing = [b for b in dim.blocks if (dim.name, b) not in found]
            if missing:
                raise ConfigError(f"NNI parameters have no {dim.name}[{missing[0]}]; add it")
            config[dim.name] = {b: found.pop((dim.name, b)) for b in dim.blocks}
        elif (dim.name, None) in found:
            config[dim.name] = found.pop((dim.name, None))
        elif fixed(dim):
            config[dim.name] = dim.default_value()
        else:
            raise ConfigError(f"NNI parameters have no value for dimension {dim.name!r}; add it")
    if found:
        dim_name, block = next(iter(found))
        raise ConfigError(f"NNI parameters give {dim_name!r}{f' [{block}]' if block else ''}, which is not "
                          f"active in this configuration; remove it")
    return space.validate(config, fill=False)


