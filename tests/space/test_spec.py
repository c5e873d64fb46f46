"""Search spaces end to end: generated valid files obey the encode/decode, membership, neighbour and counting
laws; out-of-range configurations always give a ConfigError that says where and why (malformed files:
test_parsing.py).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from autopeft.errors import ConfigError
from autopeft.space import Space, load_space, parse_space
from autopeft.space.references import REFERENCES

SPACES = Path(__file__).resolve().parents[2] / "spaces"
SHIPPED = {
    "minilm-layers": {"encoder": 6},
    "flan-t5-layers": {"encoder": 8, "decoder": 8},
    "flan-t5-methods": {"encoder": 8, "decoder": 8},
}
TYPES = "categorical, integer, float, per_layer, constant"


# ---- helpers: an independent notion of equality ------------------------------------------------------
def strict(value: Any) -> Any:
    """A hashable form of ``value`` in which ``True`` and ``1`` differ (as they do in a space)."""
    if isinstance(value, Mapping):
        return ("map", tuple(sorted((str(k), strict(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(strict(v) for v in value))
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", value)
    return (type(value).__name__, value)


def equal(a: Any, b: Any) -> bool:
    return strict(a) == strict(b)


# ---- a strategy for valid space files, with a model of what they mean -----------------------------
@dataclass
class Dim:
    """What the generator meant: the YAML mapping, every value (``None`` for a float range), its conditions."""

    name: str
    doc: dict[str, Any]
    values: Callable[[], list[Any]] | None
    count: int
    when: list[tuple[str, list[Any]]] = field(default_factory=list)
    parent_values: list[Any] | None = None
    span: float = 0.0


@dataclass
class Generated:
    text: str
    layout: dict[str, int]
    dims: list[Dim]

    def active(self, dim: Dim, config: Mapping[str, Any]) -> bool:
        return all(p in config and any(equal(config[p], v) for v in vals) for p, vals in dim.when)


def choice_key(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool):
        return ("bool", value)
    return ("num", value) if isinstance(value, (int, float)) else ("str", value)


WORDS = ["lora", "ia3", "qv", "true", "no", "null", "~", "1", "2.5", "a: b", "#x", "x y", "", "é", "[1]", "- a", "'q'",
         "encoder.blocks[1/2:]", "yes", "0x10", "1e3", ".inf"]
STRINGS = st.one_of(st.sampled_from(WORDS), st.text(st.characters(categories=("L", "N", "P", "S")), max_size=5))
NUMBERS = st.one_of(st.integers(-1000, 1000), st.integers(-(10**30), 10**30),
                    st.floats(allow_nan=False, allow_infinity=False), st.floats(-100, 100))
SCALARS = st.one_of(STRINGS, NUMBERS, st.booleans())
STACKS = ["encoder", "decoder", "layers"]


def _categorical(draw: st.DrawFn, name: str, layout: dict[str, int]) -> Dim:
    choices = draw(st.lists(SCALARS, min_size=1, max_size=4, unique_by=choice_key))
    doc: dict[str, Any] = {"name": name, "type": "categorical", "choices": choices}
    if draw(st.booleans()):
        doc["default"] = draw(st.sampled_from(choices))
    return Dim(name, doc, lambda: list(choices), len(choices), parent_values=choices)


def _integer(draw: st.DrawFn, name: str, layout: dict[str, int]) -> Dim:
    doc: dict[str, Any] = {"name": name, "type": "integer"}
    if draw(st.booleans()):
        low = draw(st.integers(1, 40))
        high = low + draw(st.integers(0, 60))
        doc.update(low=low, high=high, log=True)
        values = list(range(low, high + 1))
    else:
        low, step, k = draw(st.integers(-50, 50)), draw(st.integers(1, 4)), draw(st.integers(0, 6))
        high = low + k * step
        doc.update(low=low, high=high)
        if step != 1 or draw(st.booleans()):
            doc["step"] = step
        if draw(st.booleans()):
            doc["log"] = False
        values = [low + j * step for j in range(k + 1)]
    if draw(st.booleans()):
        doc["default"] = draw(st.sampled_from(values))
    return Dim(name, doc, lambda: list(values), len(values), span=high - low)


def _float(draw: st.DrawFn, name: str, layout: dict[str, int]) -> Dim:
    mode = draw(st.sampled_from(["linear", "linear", "log", "log", "point", "wide"]))
    doc: dict[str, Any] = {"name": name, "type": "float"}
    if mode == "linear":
        low = draw(st.floats(-1e3, 1e3))
        high = low + draw(st.floats(1e-3, 1e3))
    elif mode == "log":
        low = draw(st.floats(1e-6, 1e2))
        high = low * draw(st.floats(1.001, 1e4))
        doc["log"] = True
    elif mode == "point":
        low = high = draw(st.floats(-1e3, 1e3))
    else:  # high - low overflows a float
        low, high = draw(st.floats(-1.7e308, -1e307)), draw(st.floats(1e307, 1.7e308))
    doc.update(low=low, high=high)
    if draw(st.booleans()):
        doc["default"] = draw(st.floats(low, high))
    values = (lambda: [doc.get("default", low)]) if low == high else None
    return Dim(name, doc, values, 1 if low == high else 10**9, span=2 * (high / 2 - low / 2))


def _selectors(draw: st.DrawFn, stack: str, n: int) -> list[tuple[str, list[int]]]:
    """One or two selectors that together name a non-empty part of ``stack``, with the indices they name."""
    forms = ["stack", "all", "star", "index", "slice", "half_hi"]
    if n > 1:
        forms += ["half_lo", "split", "split_half"]
    form = draw(st.sampled_from(forms))
    every = list(range(n))
    if form == "stack":
        return [(stack, every)]
    if form in ("all", "star"):
        return [(f"{stack}.blocks[{':' if form == 'all' else '*'}]", every)]
    if form == "index":
        i = draw(st.integers(0, n - 1))
        return [(f"{stack}.blocks[{draw(st.sampled_from([i, i - n]))}]", [i])]
    if form == "slice":
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(i + 1, n))
        a = draw(st.sampled_from(["" if i == 0 else str(i), str(i), str(i - n)]))
        b = draw(st.sampled_from(["" if j == n else str(j), str(j)] + ([str(j - n)] if j < n else [])))
        return [(f"{stack}.blocks[{a}:{b}]", list(range(i, j)))]
    if form == "half_hi":
        return [(f"{stack}.blocks[1/2:]", list(range(n // 2, n)))]
    if form == "half_lo":
        return [(f"{stack}.blocks[:1/2]", list(range(n // 2)))]
    k = n // 2 if form == "split_half" else draw(st.integers(1, n - 1))
    lo, hi = (("1/2", "1/2") if form == "split_half" else (str(k), str(k)))
    parts = [(f"{stack}.blocks[:{lo}]", list(range(k))), (f"{stack}.blocks[{hi}:]", list(range(k, n)))]
    return parts[::-1] if draw(st.booleans()) else parts


def _per_layer(draw: st.DrawFn, name: str, layout: dict[str, int]) -> Dim:
    stacks = draw(st.lists(st.sampled_from(sorted(layout)), min_size=1, max_size=len(layout), unique=True))
    selectors = [sel for stack in stacks for sel in _selectors(draw, stack, layout[stack])]
    texts = [text for text, _ in selectors]
    blocks = [f"{text.split('.')[0]}.{i}" for text, indices in selectors for i in indices]
    numeric = st.one_of(st.integers(0, 64), st.floats(0, 10))
    choices = draw(st.lists(numeric if draw(st.booleans()) else SCALARS, min_size=1, max_size=3, unique_by=choice_key))
    doc: dict[str, Any] = {"name": name, "type": "per_layer",
                           "layers": texts[0] if len(texts) == 1 and draw(st.booleans()) else texts,
                           "choices": choices}
    if draw(st.booleans()):
        doc["default"] = draw(st.sampled_from(choices))

    def values() -> list[Any]:
        return [dict(zip(blocks, combo, strict=True)) for combo in itertools.product(choices, repeat=len(blocks))]

    return Dim(name, doc, values, len(choices) ** len(blocks))


def _constant(draw: st.DrawFn, name: str, layout: dict[str, int]) -> Dim:
    value = draw(st.one_of(st.none(), SCALARS, st.lists(SCALARS, max_size=3)))
    parents = None if isinstance(value, list) else [value]
    return Dim(name, {"name": name, "type": "constant", "value": value}, lambda: [value], 1, parent_values=parents)


BUILDERS = {"categorical": _categorical, "integer": _integer, "float": _float, "per_layer": _per_layer,
            "constant": _constant}


@st.composite
def spaces(draw: st.DrawFn, max_dims: int = 6) -> Generated:
    stacks = draw(st.lists(st.sampled_from(STACKS), min_size=1, max_size=2, unique=True))
    layout = {stack: draw(st.integers(1, 4)) for stack in stacks}
    dims: list[Dim] = []
    for i in range(draw(st.integers(1, max_dims))):
        name = draw(st.sampled_from(["", "lora.", "x_1.", "M."])) + f"d{i}"
        kind = draw(st.sampled_from(["categorical", "categorical", "integer", "float", "per_layer", "constant"]))
        dim = BUILDERS[kind](draw, name, layout)
        parents = [d for d in dims if d.parent_values is not None]
        if parents and draw(st.integers(0, 2)):
            for parent in draw(st.lists(st.sampled_from(parents), min_size=1, max_size=2, unique_by=lambda d: d.name)):
                assert parent.parent_values is not None
                vals = draw(st.lists(st.sampled_from(parent.parent_values), min_size=1, unique_by=choice_key))
                dim.when.append((parent.name, vals))
            dim.doc["when"] = {p: (vals[0] if len(vals) == 1 and draw(st.booleans()) else vals) for p, vals in dim.when}
        dims.append(dim)
    top: dict[str, Any] = {"name": draw(st.sampled_from(["gen", "my space", "x"])),
                           "dimensions": [d.doc for d in dims]}
    if draw(st.booleans()):
        top["description"] = "generated"
    if draw(st.booleans()):
        top["references"] = draw(st.lists(st.sampled_from(sorted(REFERENCES)), unique=True))
    keys = draw(st.permutations(list(top)))
    text = yaml.safe_dump({k: top[k] for k in keys}, sort_keys=False, allow_unicode=draw(st.booleans()),
                          default_flow_style=draw(st.sampled_from([False, None])),
                          width=draw(st.sampled_from([40, 80, 10**6])))
    if draw(st.booleans()):
        text = "# a generated space\n\n" + text
    return Generated(text, layout, dims)


# ---- the laws ----------------------------------------------------------------------------------
def build(gen: Generated) -> Space:
    return parse_space(gen.text, "gen.yaml").resolve(gen.layout)


def assert_close_configs(space: Space, got: Mapping[str, Any], want: Mapping[str, Any]) -> None:
    assert list(got) == list(want)
    for dim in space.dimensions:
        if dim.name not in want:
            continue
        if dim.type == "float":
            span = 2 * (dim.high / 2 - dim.low / 2)  # type: ignore[attr-defined]
            assert got[dim.name] == pytest.approx(want[dim.name], rel=1e-9, abs=1e-9 * span)
        else:
            assert equal(got[dim.name], want[dim.name]), dim.name


def check_config(space: Space, gen: Generated | None, config: dict[str, Any]) -> None:
    assert space.contains(config)
    checked = space.validate(config)
    assert equal(checked, config) and list(checked) == list(config)
    assert equal(space.validate(checked), checked)
    assert equal(space.validate(config, fill=False), config)
    if gen is not None:  # exactly the dimensions the generator's conditions make active
        expected: dict[str, Any] = {}
        for dim in gen.dims:
            if gen.active(dim, expected):
                assert dim.name in config, dim.name
                expected[dim.name] = config[dim.name]
        assert list(expected) == list(config)

    vec = space.encode(config)
    assert vec.shape == (len(space.feature_names),) == (len(space.feature_kinds),)
    assert np.all((vec >= 0.0) & (vec <= 1.0))
    for dim in space.dimensions:
        if dim.name not in config:
            assert not vec[space.feature_slice(dim.name)].any(), f"inactive {dim.name} must encode as zeros"
    decoded = space.decode(vec)
    assert_close_configs(space, decoded, config)
    assert space.contains(decoded)
    np.testing.assert_allclose(space.encode(decoded), vec, rtol=0, atol=1e-9)

    seen = set()
    frozen = strict(config)
    for neighbour in space.neighbours(config):
        assert space.contains(neighbour)
        key = strict(neighbour)
        assert key != frozen
        assert key not in seen, "duplicate neighbour"
        seen.add(key)


def check_features(space: Space) -> None:
    names, kinds = space.feature_names, space.feature_kinds
    assert len(names) == len(kinds)
    assert set(kinds) <= {"onehot", "numeric", "ordinal"}
    start = 0
    for dim in space.dimensions:
        cols = space.feature_slice(dim.name)
        assert (cols.start, cols.stop) == (start, start + len(dim.feature_names()))
        assert names[cols] == dim.feature_names()
        start = cols.stop
    assert start == len(names)


@settings(max_examples=200, deadline=None)
@given(spaces(), st.integers(0, 2**32 - 1))
def test_generated_spaces_obey_the_laws(gen: Generated, seed: int) -> None:
    space = build(gen)
    assert space.names == tuple(d.name for d in gen.dims)
    check_features(space)
    rng = np.random.default_rng(seed)
    configs = [space.default(), *(space.sample(rng) for _ in range(4))]
    for config in configs:
        check_config(space, gen, config)
    assert equal(space.sample(seed), space.sample(seed))
    many = space.encode_many(configs)
    assert many.shape == (len(configs), len(space.feature_names))
    np.testing.assert_array_equal(many, np.array([space.encode(c) for c in configs]))
    assert space.encode_many([]).shape == (0, len(space.feature_names))


@settings(max_examples=150, deadline=None)
@given(spaces(), st.data())
def test_any_vector_decodes_to_a_member(gen: Generated, data: st.DataObject) -> None:
    space = build(gen)
    width = len(space.feature_names)
    vector = data.draw(st.lists(st.floats(-2.0, 3.0), min_size=width, max_size=width))
    decoded = space.decode(vector)
    assert space.contains(decoded)
    assert equal(space.decode(space.encode(decoded)), decoded) or "float" in {d.type for d in space.dimensions}
    if width:
        bad = list(vector)
        bad[data.draw(st.integers(0, width - 1))] = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        with pytest.raises(ConfigError, match="finite"):
            space.decode(bad)
    with pytest.raises(ConfigError, match="features"):
        space.decode([0.0] * (width + 1))


CAP = 4000  # combinations the brute force may walk


def brute_force(gen: Generated) -> int | float | None:
    """Members counted from the cartesian product of every dimension's values, conditions applied afterwards."""
    total = math.prod(d.count for d in gen.dims)
    placeholder = object()
    if total > CAP:
        # Too many combinations: only decide whether a float range is ever active (parents alone decide that).
        lists = [d.values() if d.parent_values is not None and d.values else [placeholder] for d in gen.dims]
        if math.prod(len(v) for v in lists) > CAP:
            return None
        for combo in itertools.product(*lists):
            config: dict[str, Any] = {}
            for dim, value in zip(gen.dims, combo, strict=True):
                if gen.active(dim, config):
                    config[dim.name] = value
                    if dim.values is None:
                        return math.inf
        return None
    lists = [d.values() if d.values else [placeholder] for d in gen.dims]
    members = set()
    for combo in itertools.product(*lists):
        config = {}
        for dim, value in zip(gen.dims, combo, strict=True):
            if gen.active(dim, config):
                config[dim.name] = value
        if any(v is placeholder for v in config.values()):
            return math.inf
        members.add(strict(config))
    return len(members)


@settings(max_examples=200, deadline=None)
@given(spaces(max_dims=5))
def test_cardinality_matches_brute_force_and_enumerate(gen: Generated) -> None:
    space = build(gen)
    count = space.cardinality()
    expected = brute_force(gen)
    if expected is not None:
        assert count == expected
    if count == math.inf:
        with pytest.raises(ConfigError, match="float range"):
            next(space.enumerate())
        return
    assert isinstance(count, int) and count >= 1
    if count <= CAP:
        members = list(space.enumerate())
        assert len(members) == count
        assert len({strict(m) for m in members}) == count
        for member in members[:: max(1, count // 25)]:
            assert space.contains(member)


# ---- the shipped spaces -----------------------------------------------------------------------------
@functools.cache
def shipped(name: str) -> Space:
    return load_space(SPACES / f"{name}.yaml").resolve(SHIPPED[name])


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_spaces_load(name: str) -> None:
    spec = load_space(SPACES / f"{name}.yaml")
    assert spec.name == name
    assert [r.name for r in spec.references] == ["peft_default_lora", "attention_only", "later_layers_only",
                                                 "full_finetune"]
    assert all(r.line > 0 for r in spec.references)
    space = spec.resolve(SHIPPED[name])
    assert space.cardinality() == math.inf  # every shipped space tunes a learning rate
    check_features(space)
    check_config(space, None, space.default())


def test_shipped_space_details() -> None:
    minilm = shipped("minilm-layers")
    default = minilm.default()
    assert default["method"] == "lora"
    assert default["lora.ranks"] == {f"encoder.{i}": 8 for i in range(6)}
    assert default["lora.alpha_ratio"] == 2.0
    assert minilm.feature_names[:4] == ["method=lora", "method=ia3", "method=ln_tuning", "method=bitfit"]
    assert minilm.validate({"method": "bitfit"}) == {"method": "bitfit", "bitfit.learning_rate": pytest.approx(
        math.sqrt(1e-3 * 1e-1))}
    t5 = shipped("flan-t5-layers")
    ranks = t5.default()["lora.ranks"]
    assert list(ranks) == [f"encoder.{i}" for i in range(8)] + [f"decoder.{i}" for i in range(8)]
    assert t5.default()["method"] == "lora" and "method" not in t5.feature_names
    methods = shipped("flan-t5-methods")
    assert methods.validate({"method": "prefix_tuning"})["prefix_tuning.projection"] is False
    assert methods.default()["lora.r"] == 8


@pytest.mark.parametrize("name", sorted(SHIPPED))
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_shipped_spaces_obey_the_laws(name: str, seed: int) -> None:
    space = shipped(name)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        check_config(space, None, space.sample(rng))


# ---- configurations with bad values -------------------------------------------------------------------
def allowed_by(dim: Any, value: Any) -> bool:
    """An independent reading of what a dimension accepts."""
    def scalar_in(v: Any, options: Any) -> bool:
        return any(equal(v, o) for o in options)

    if dim.type == "categorical":
        return scalar_in(value, dim.choices)
    if dim.type == "constant":
        return equal(value, dim.value)
    if dim.type == "per_layer":
        return (isinstance(value, dict) and set(value) == set(dim.blocks)
                and all(scalar_in(v, dim.choices) for v in value.values()))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if dim.type == "integer":
        return value == int(value) and dim.low <= value <= dim.high and (int(value) - dim.low) % dim.step == 0
    return bool(dim.low <= value <= dim.high)


def junk_for(dim: Any) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(10**400), 10**400),
                        st.floats(), st.text(max_size=6), st.sampled_from(["lora", "qv", "8", "1e-3", ""]))
    junk = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=3), scalars, max_size=3))
    if dim.type in ("integer", "float"):
        lo, hi = dim.low, dim.high
        near = st.one_of(st.floats(lo - (hi - lo) - 1, hi + (hi - lo) + 1), st.integers(int(lo) - 20, int(hi) + 20))
        junk = st.one_of(junk, near)
    if dim.type in ("categorical", "per_layer"):
        junk = st.one_of(junk, st.sampled_from(dim.choices), st.sampled_from(dim.choices).map(str),
                         st.sampled_from(dim.choices).map(lambda c: c + 1 if isinstance(c, (int, float)) else c * 2))
    if dim.type == "per_layer":
        cell = st.one_of(st.sampled_from(dim.choices), scalars)
        junk = st.one_of(junk, st.fixed_dictionaries({b: cell for b in dim.blocks}),
                         st.fixed_dictionaries({b: cell for b in dim.blocks[1:]}),
                         st.fixed_dictionaries({b: cell for b in (*dim.blocks, "encoder.99")}))
    return junk


SHIPPED_DIMS = [(name, dim.name) for name in sorted(SHIPPED) for dim in shipped(name).dimensions]


@pytest.mark.parametrize(("space_name", "dim_name"), SHIPPED_DIMS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_out_of_range_values_are_config_errors(space_name: str, dim_name: str, data: st.DataObject) -> None:
    space = shipped(space_name)
    dim = space.spec.dimension(dim_name)
    dim = space.dimensions[space.names.index(dim_name)]  # bound, for per-layer block ids
    value = data.draw(junk_for(dim))
    config = {c.parent: c.values[0] for c in dim.when}
    config[dim_name] = value
    if allowed_by(dim, value):
        assert equal(space.validate(config)[dim_name], value) or dim.type == "float"
        return
    with pytest.raises(ConfigError) as info:
        space.validate(config)
    message = str(info.value)
    assert repr(dim_name) in message and "allowed" in message and "\n" not in message
    assert not space.contains(config)


def test_unknown_and_inactive_keys_are_config_errors() -> None:
    space = shipped("flan-t5-methods")
    with pytest.raises(ConfigError, match=r"config key 'lora\.rank' is not a dimension.*allowed: method, lora\.r"):
        space.validate({"method": "lora", "lora.rank": 8})
    with pytest.raises(ConfigError, match=r"config key 'lora\.r' applies only when method in \['lora'\]"):
        space.validate({"method": "ia3", "lora.r": 8})
    with pytest.raises(ConfigError, match="applies only when"):
        space.validate({"lora.r": 8, "method": "dora"})
    with pytest.raises(ConfigError, match="a configuration must be"):
        space.validate([("method", "lora")])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"has no value for dimension 'lora\.r'"):
        space.validate({"method": "lora"}, fill=False)
    assert not space.contains({"method": "lora"})
    assert not space.contains({"method": "ia3", "lora.r": 8})
    assert space.validate({})["method"] == "lora"  # missing keys get defaults
    with pytest.raises(ConfigError):
        space.encode({"method": "ia3", "lora.r": 8})
    with pytest.raises(ConfigError, match="features"):
        space.decode(np.zeros(3))
    with pytest.raises(ConfigError, match="float range"):
        next(space.enumerate())
    constant = shipped("flan-t5-layers")
    with pytest.raises(ConfigError, match="a constant takes only its value"):
        constant.validate({"method": "ia3"})
    full = {k: v for k, v in constant.default().items() if k != "method"}
    assert constant.validate(full, fill=False)["method"] == "lora"  # a constant is never missing
    assert constant.contains(full)


def test_conditional_neighbours_repair_children() -> None:
    text = ("name: s\ndimensions:\n  - {name: method, type: categorical, choices: [lora, ia3]}\n"
            "  - {name: r, type: integer, low: 2, high: 8, step: 2, default: 4, when: {method: lora}}\n"
            "  - {name: k, type: categorical, choices: [x, y], when: {method: ia3}}\n")
    space = parse_space(text, "s.yaml").resolve({})
    assert space.cardinality() == 4 + 2
    assert [c for c in space.enumerate()] == [{"method": "lora", "r": r} for r in (2, 4, 6, 8)] + [
        {"method": "ia3", "k": "x"}, {"method": "ia3", "k": "y"}]
    assert space.neighbours({"method": "lora", "r": 2}) == [{"method": "ia3", "k": "x"}, {"method": "lora", "r": 4}]
    assert space.encode({"method": "ia3", "k": "y"}).tolist() == [0.0, 1.0, 0.0, 0.0, 1.0]
    assert space.decode([0.2, 0.1, 0.3, 0.9, 0.0]) == {"method": "lora", "r": 4}
