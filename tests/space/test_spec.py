"""Search spaces end to end: generated valid files obey the encode/decode, membership, neighbour and counting
laws; malformed files and out-of-range configurations always give an autopeft error that says where and why.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from autopeft.errors import ConfigError, SpaceError
from autopeft.space import Space, SpaceSpec, load_space, parse_space
from autopeft.space.references import REFERENCES
from autopeft.space.selectors import GRAMMAR

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


# ---- malformed files: deterministic examples ----------------------------------------------------------
def space_error(text: str, layout: Mapping[str, int] | None = None) -> SpaceError:
    with pytest.raises(SpaceError) as info:
        spec = parse_space(text, "bad.yaml")
        if layout is not None:
            spec.resolve(layout)
    err = info.value
    assert err.file == "bad.yaml"
    assert str(err).startswith(f"bad.yaml:{err.line}: ")
    assert "\n" not in str(err)
    return err


def expect(err: SpaceError, *, line: int, field: str | None, allowed: str | None, **value: Any) -> None:
    assert (err.line, err.field, err.allowed) == (line, field, allowed), str(err)
    if "value" in value:
        assert err.has_value and equal(err.value, value["value"]), str(err)
        assert f"(got {value['value']!r})" in str(err)
    else:
        assert not err.has_value and "(got" not in str(err), str(err)
    if allowed:
        assert str(err).endswith(f"; allowed: {allowed}")
    if field:
        assert f"field '{field}':" in str(err)


CAT = "name: s\ndimensions:\n  - name: m\n    type: categorical\n    choices: [a, b]\n"


def test_unknown_field() -> None:
    err = space_error(CAT + "    colour: red\n")
    expect(err, line=6, field="dimensions[0].colour", allowed="name, type, when, description, choices, default")
    assert "unknown field 'colour' for type 'categorical'" in str(err)


def test_unknown_top_level_field() -> None:
    err = space_error("name: s\ndimension: []\n")
    expect(err, line=2, field="dimension", allowed="name, description, references, dimensions")


def test_unknown_type() -> None:
    err = space_error("name: s\ndimensions:\n  - name: m\n\n    type: categorial\n")
    expect(err, line=5, field="dimensions[0].type", allowed=TYPES, value="categorial")


@pytest.mark.parametrize("kind", ["null", "[categorical]", "1", "Categorical"])
def test_unknown_type_values(kind: str) -> None:
    err = space_error(f"name: s\ndimensions:\n  - name: m\n    type: {kind}\n")
    assert err.line == 4 and err.field == "dimensions[0].type" and err.has_value and err.allowed == TYPES


def test_missing_type() -> None:
    err = space_error("name: s\ndimensions:\n  - name: m\n    choices: [a]\n")
    expect(err, line=3, field="dimensions[0].type", allowed=TYPES)


def test_duplicate_dimension_names() -> None:
    err = space_error(CAT + "  - name: m\n    type: constant\n    value: 1\n")
    expect(err, line=6, field="dimensions[1].name", allowed="unique dimension names", value="m")
    assert "first at line 3" in str(err)


def test_condition_on_a_missing_dimension() -> None:
    err = space_error(CAT + "  - name: r\n    type: integer\n    low: 1\n    high: 4\n    when:\n      methd: a\n")
    expect(err, line=11, field="dimensions[1].when.methd", allowed="an earlier categorical dimension: m",
           value="methd")
    assert "does not exist" in str(err)


def test_condition_on_a_later_dimension() -> None:
    text = ("name: s\ndimensions:\n  - {name: r, type: integer, low: 1, high: 4, when: {m: a}}\n"
            "  - {name: m, type: categorical, choices: [a, b]}\n")
    err = space_error(text)
    expect(err, line=3, field="dimensions[0].when.m", allowed="an earlier categorical dimension: none", value="m")
    assert "declared later" in str(err)


def test_condition_on_a_non_categorical_dimension() -> None:
    text = CAT + ("  - {name: r, type: integer, low: 1, high: 4}\n"
                  "  - {name: k, type: constant, value: 1, when: {r: 2}}\n")
    err = space_error(text)
    expect(err, line=7, field="dimensions[2].when.r", allowed="categorical or constant dimensions", value="r")


def test_condition_value_never_taken() -> None:
    err = space_error(CAT + "  - name: k\n    type: constant\n    value: 1\n    when: {m: [a, c]}\n")
    expect(err, line=9, field="dimensions[1].when.m", allowed="'a', 'b'", value="c")
    err = space_error(CAT + "  - name: k\n    type: constant\n    value: 1\n    when: {m: []}\n")
    expect(err, line=9, field="dimensions[1].when.m", allowed="'a', 'b'", value=[])
    err = space_error(CAT + "  - name: k\n    type: constant\n    value: 1\n    when: {m: true}\n")
    expect(err, line=9, field="dimensions[1].when.m", allowed="'a', 'b'", value=True)


@pytest.mark.parametrize("when", ["[m]", "{}", "m", "null"])
def test_condition_must_be_a_mapping(when: str) -> None:
    err = space_error(CAT + f"  - name: k\n    type: constant\n    value: 1\n    when: {when}\n")
    assert (err.line, err.field, err.has_value) == (9, "dimensions[1].when", True)
    assert err.allowed == "e.g. {method: lora} or {method: [lora, dora]}"


def test_empty_space() -> None:
    err = space_error("name: s\ndimensions: []\n")
    expect(err, line=2, field="dimensions", allowed="at least one dimension", value=[])
    assert "empty" in str(err)


@pytest.mark.parametrize(("dims", "value"), [("", None), ("{a: 1}", {"a": 1}), ("x", "x")])
def test_dimensions_not_a_list(dims: str, value: Any) -> None:
    err = space_error(f"name: s\n\ndimensions: {dims}\n")
    expect(err, line=3, field="dimensions", allowed="a non-empty list", value=value)


def test_low_above_high() -> None:
    err = space_error("name: s\ndimensions:\n  - name: r\n    type: integer\n    low: 8\n    high: 4\n")
    expect(err, line=6, field="r.high", allowed="a number >= 8", value=4)
    err = space_error("name: s\ndimensions:\n  - {name: lr, type: float, low: 0.5, high: 0.25}\n")
    expect(err, line=3, field="lr.high", allowed="a number >= 0.5", value=0.25)


@pytest.mark.parametrize(("kind", "low", "value"), [("float", "0.0", 0.0), ("float", "-1.0e-3", -1e-3),
                                                     ("integer", "0", 0), ("integer", "-4", -4)])
def test_log_needs_positive_low(kind: str, low: str, value: float) -> None:
    err = space_error(f"name: s\ndimensions:\n  - name: lr\n    type: {kind}\n    log: true\n    low: {low}\n"
                      "    high: 1\n")
    expect(err, line=6, field="lr.low", allowed="a number > 0", value=value)


def test_default_not_in_choices() -> None:
    err = space_error(CAT + "    default: c\n")
    expect(err, line=6, field="m.default", allowed="'a', 'b'", value="c")
    err = space_error("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [1, 0], default: true}\n")
    expect(err, line=3, field="m.default", allowed="1, 0", value=True)


@pytest.mark.parametrize(
    ("body", "line", "allowed", "value"),
    [
        ("type: integer\n    low: 0\n    high: 10\n    step: 5\n    default: 7", 8,
         "integers in [0, 10] with step 5", 7),
        ("type: integer\n    low: 0\n    high: 10\n    default: 11", 7, "integers in [0, 10]", 11),
        ("type: integer\n    low: 0\n    high: 10\n    default: 2.5", 7, "integers in [0, 10]", 2.5),
        ("type: float\n    low: 0.0\n    high: 1.0\n    default: 1.5", 7, "a number in [0.0, 1.0]", 1.5),
        ("type: float\n    low: 1.0e-4\n    high: 1.0e-2\n    log: true\n    default: abc", 8,
         "a number in [0.0001, 0.01] (log scale)", "abc"),
        ("type: per_layer\n    layers: encoder\n    choices: [0, 4]\n    default: 8", 7, "0, 4", 8),
    ],
)
def test_default_outside_the_range(body: str, line: int, allowed: str, value: Any) -> None:
    err = space_error(f"name: s\ndimensions:\n  - name: d\n    {body}\n")
    expect(err, line=line, field="d.default", allowed=allowed, value=value)


def test_selector_out_of_range_for_the_layout() -> None:
    text = ("name: s\ndimensions:\n  - name: ranks\n    type: per_layer\n    layers:\n      - encoder.blocks[:]\n"
            "      - decoder.blocks[7]\n    choices: [0, 4]\n")
    spec = parse_space(text, "bad.yaml")
    assert spec.resolve({"encoder": 2, "decoder": 8}).default()["ranks"]["decoder.7"] == 0
    err = space_error(text, {"encoder": 6, "decoder": 6})
    expect(err, line=5, field="ranks.layers", allowed="-6..5 or a fraction below 1", value="decoder.blocks[7]")
    assert "for this model" in str(err)


def test_selector_for_a_stack_the_model_lacks() -> None:
    text = ("name: s\ndimensions:\n  - name: ranks\n    type: per_layer\n    layers: decoder.blocks[1/2:]\n"
            "    choices: [0]\n")
    err = space_error(text, {"encoder": 6})
    expect(err, line=5, field="ranks.layers", allowed="stacks encoder (6 blocks, 0-5)", value="decoder.blocks[1/2:]")


def test_overlapping_selectors_at_resolve() -> None:
    text = ("name: s\ndimensions:\n  - name: ranks\n    type: per_layer\n    choices: [0]\n"
            "    layers: ['encoder.blocks[1/2:]', 'encoder.blocks[-1]']\n")
    err = space_error(text, {"encoder": 6})
    expect(err, line=6, field="ranks.layers", allowed="selectors that do not overlap", value="encoder.blocks[-1]")


def test_selector_selecting_nothing_at_resolve() -> None:
    text = "name: s\ndimensions:\n  - name: ranks\n    type: per_layer\n    choices: [0]\n    layers: e.blocks[:1/2]\n"
    assert parse_space(text).resolve({"e": 2}).cardinality() == 1
    err = space_error(text, {"e": 1})
    expect(err, line=6, field="ranks.layers", allowed="a selector naming at least one block", value="e.blocks[:1/2]")


@pytest.mark.parametrize(
    ("layers", "field", "line", "value", "allowed"),
    [
        ("\n      - encoder.blocks[:]\n      - encoder.blocks[1:2:3]", "ranks.layers[1]", 7, "encoder.blocks[1:2:3]",
         GRAMMAR),
        ("encoder.blocks(1)", "ranks.layers", 5, "encoder.blocks(1)", GRAMMAR),
        ("'encoder.blocks[3/2:]'", "ranks.layers", 5, "encoder.blocks[3/2:]", "fractions p/q with 0 <= p/q <= 1"),
        ("[encoder, 3]", "ranks.layers[1]", 5, 3, GRAMMAR),
    ],
)
def test_selector_syntax_error(layers: str, field: str, line: int, value: Any, allowed: str) -> None:
    err = space_error(f"name: s\ndimensions:\n  - name: ranks\n    type: per_layer\n    layers: {layers}\n"
                      "    choices: [0, 4]\n")
    expect(err, line=line, field=field, allowed=allowed, value=value)


@pytest.mark.parametrize("layers", ["[]", "null", "{encoder: 1}", "7"])
def test_layers_must_be_selectors(layers: str) -> None:
    err = space_error(f"name: s\ndimensions:\n  - name: ranks\n    type: per_layer\n    layers: {layers}\n"
                      "    choices: [0, 4]\n")
    assert (err.line, err.field, err.has_value) == (5, "ranks.layers", True)


def test_missing_layers_points_at_the_dimension() -> None:
    err = space_error("name: s\ndimensions:\n  - name: ranks\n    type: per_layer\n    choices: [0, 4]\n")
    assert (err.line, err.field) == (3, "ranks.layers")


def test_duplicate_yaml_key() -> None:
    err = space_error(CAT + "    choices: [c]\n")
    expect(err, line=6, field="choices", allowed="each key once per mapping")
    assert "first at line 5" in str(err)


def test_unknown_reference() -> None:
    err = space_error("name: s\nreferences:\n  - peft_default_lora\n  - lora_everywhere\n"
                      "dimensions:\n  - {name: m, type: constant, value: lora}\n")
    expect(err, line=4, field="references[1]", value="lora_everywhere",
           allowed=f"{', '.join(REFERENCES)}, or give it a config")


@pytest.mark.parametrize(
    ("refs", "line", "field", "needle"),
    [
        ("[full_finetune, full_finetune]", 2, "references[1]", "duplicate reference name"),
        ("[{name: mine}]", 2, "references[0]", "unknown reference point"),
        ("[{name: mine, config: {lora.r: 8}}]", 2, "references[0].config", "'method' key"),
        ("[{name: mine, config: {method: lora}, colour: red}]", 2, "references[0].colour", "unknown field"),
        ("[{config: {method: lora}}]", 2, "references[0].name", "missing required field 'name'"),
        ("[3]", 2, "references[0]", "a reference must be"),
        ("full_finetune", 2, "references", "must be a list"),
    ],
)
def test_bad_references(refs: str, line: int, field: str, needle: str) -> None:
    err = space_error(f"name: s\nreferences: {refs}\ndimensions:\n  - {{name: m, type: constant, value: lora}}\n")
    assert (err.line, err.field) == (line, field) and needle in str(err)


def test_reference_with_its_own_config() -> None:
    spec = parse_space("name: s\nreferences:\n  - {name: mine, config: {method: lora, lora.r: 4}}\n  - full_finetune\n"
                       "dimensions:\n  - {name: m, type: constant, value: lora}\n")
    assert [(r.name, r.line) for r in spec.references] == [("mine", 3), ("full_finetune", 4)]
    assert spec.references[0].config == {"method": "lora", "lora.r": 4}
    assert parse_space("name: s\nreferences: null\ndimensions: [{name: m, type: constant, value: 1}]").references == ()


@pytest.mark.parametrize(
    ("text", "value"),
    [("", None), ("- a\n- b\n", ["a", "b"]), ("just text\n", "just text"), ("42\n", 42), ("# only a comment\n", None)],
)
def test_top_level_not_a_mapping(text: str, value: Any) -> None:
    err = space_error(text)
    expect(err, line=1, field=None, allowed="name: ..., dimensions: [...]", value=value)


@pytest.mark.parametrize(
    ("text", "line", "field", "needle"),
    [
        ("dimensions: [{name: m, type: constant, value: 1}]\n", 1, "name", "missing required field 'name'"),
        ("name: ''\ndimensions: [{name: m, type: constant, value: 1}]\n", 1, "name", "non-empty string"),
        ("name: s\n", 1, "dimensions", "missing required field 'dimensions'"),
        ("name: s\ndimensions:\n  - just a string\n", 3, "dimensions[0]", "must be a mapping"),
        ("name: s\ndimensions:\n  - type: constant\n    value: 1\n", 3, "dimensions[0].name", "missing required"),
        ("name: s\ndimensions:\n  - {name: 'bad name', type: constant, value: 1}\n", 3, "dimensions[0].name",
         "bad dimension name"),
        ("name: s\ndimensions:\n  - {name: 3, type: constant, value: 1}\n", 3, "dimensions[0].name", "bad dimension"),
        ("name: s\ndimensions:\n  - {name: m, type: constant}\n", 3, "m.value", "missing required field 'value'"),
        ("name: s\ndimensions:\n  - {name: m, type: constant, value: {a: 1}}\n", 3, "m.value", "must be a scalar"),
        ("name: s\ndimensions:\n  - {name: m, type: categorical, choices: []}\n", 3, "m.choices", "non-empty list"),
        ("name: s\ndimensions:\n  - {name: m, type: categorical}\n", 3, "m.choices", "missing required"),
        ("name: s\ndimensions:\n  - name: m\n    type: categorical\n    choices:\n      - a\n      - [b]\n", 7,
         "m.choices[1]", "a choice must be a scalar"),
        ("name: s\ndimensions:\n  - name: m\n    type: categorical\n    choices:\n      - 1\n      - 1.0\n", 7,
         "m.choices[1]", "duplicate choice (first at line 6)"),
        ("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [.nan]}\n", 3, "m.choices[0]", "scalar"),
        ("name: s\ndimensions:\n  - {name: r, type: integer, low: 1, high: 2.5}\n", 3, "r.high", "an integer"),
        ("name: s\ndimensions:\n  - {name: r, type: integer, low: true, high: 2}\n", 3, "r.low", "an integer"),
        ("name: s\ndimensions:\n  - {name: r, type: integer, high: 2}\n", 3, "r.low", "missing required"),
        ("name: s\ndimensions:\n  - {name: r, type: float, low: 0.0, high: .inf}\n", 3, "r.high", "finite"),
        ("name: s\ndimensions:\n  - {name: r, type: float, low: 0.0, high: 1.0e999}\n", 3, "r.high", "finite"),
        ("name: s\ndimensions:\n  - {name: r, type: float, low: 0.0, high: 1, log: yes please}\n", 3, "r.log",
         "true or false"),
        ("name: s\ndimensions:\n  - name: r\n    type: integer\n    low: 1\n    high: 9\n    log: true\n    step: 2\n",
         8, "r.step", "not allowed with log"),
        ("name: s\ndimensions:\n  - name: r\n    type: integer\n    low: 1\n    high: 9\n    step: 0\n", 7, "r.step",
         "step must be positive"),
        ("name: s\ndimensions:\n  - name: r\n    type: integer\n    low: 1\n    high: 8\n    step: 2\n", 6, "r.high",
         "multiple of step"),
        ("name: s\ndimensions:\n  - {name: r, type: float, low: 0.0, high: 1.0, step: 0.1}\n", 3, "dimensions[0].step",
         "unknown field 'step' for type 'float'"),
        ("name: s\ndimensions:\n  - {name: m, type: constant, value: 1, description: 3}\n", 3,
         "dimensions[0].description", "non-empty string"),
    ],
)
def test_more_malformed_spaces(text: str, line: int, field: str, needle: str) -> None:
    err = space_error(text)
    assert (err.line, err.field) == (line, field), str(err)
    assert needle in str(err) and err.allowed


def test_load_space_errors(tmp_path: Path) -> None:
    with pytest.raises(SpaceError) as info:
        load_space(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml") and info.value.has_value and info.value.allowed
    with pytest.raises(SpaceError, match="no such space file"):
        load_space(tmp_path)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: \xff\n")
    with pytest.raises(SpaceError, match="cannot read"):
        load_space(bad)
    good = tmp_path / "ok.yaml"
    good.write_text(CAT, encoding="utf-8")
    spec = load_space(good)
    assert isinstance(spec, SpaceSpec) and spec.source == str(good) and spec.text == CAT


def test_dimension_lookup() -> None:
    spec = parse_space(CAT)
    assert spec.dimension("m").type == "categorical"
    with pytest.raises(ConfigError, match="unknown dimension 'x'; allowed: m"):
        spec.dimension("x")


# ---- malformed files: fuzzing ----------------------------------------------------------------------------
JUNK = st.one_of(
    st.sampled_from(["", "-", "[", "]", "{", "}", "{a: 1}", "[1, 2]", "null", "true", "~", "'str'", "!!int x", "&a",
                     "*b", "2001-13-45", ">", "|", "-1000000", "0", "1.0e400", ".nan", "-.inf",
                     "10000000000000000000000",
                     "categorial", "encoder.blocks[9]", "nope.blocks[:]", "encoder.blocks[1/0]", "[encoder, encoder]",
                     "'a\\tb'", "\"unterminated", "x: y: z", "@", "`", "%YAML 1.1", "!!map x", "<<: 1", "[[]]"]),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=8),
)


BAD_SELECTORS = ["encoder.blocks[9]", "nope.blocks[:]", "encoder.blocks[1/0]", "encoder.blocks[:0]", "decoder",
                 "encoder.blocks[-99:]", "encoder.blocks[1:2:3]", "encoder.blocks(1)", "encoder.blocks[0]", "layers"]


def _replace_value(lines: list[str], i: int, junk: str) -> list[str]:
    line = lines[i]
    line = line[: line.index(": ") + 2] + junk if ": " in line else line + junk
    return [*lines[:i], line, *lines[i + 1 :]]


def _keyed(lines: list[str], key: str) -> list[int]:
    return [i for i, line in enumerate(lines) if re.search(rf"(^|[\s{{,-]){re.escape(key)}: ", line)]


# Targeted mutations: the key whose line they edit, and what they put there.
TARGETED: dict[str, tuple[str, list[str]]] = {
    "low_above_high": ("high", ["-1000000", "-1.0e300", "0", "-1"]),
    "unknown_type": ("type", ["categorial", "int", "list", "per-layer"]),
    "duplicate_name": ("name", ["d0", "d1", "lora.d0", "method"]),
    "bad_condition": ("when", ["{nope: a}", "{d5: 1}", "{d3: 1}", "{d0: zz}", "[d0]", "{lora.r: 8}"]),
    "bad_default": ("default", ["99999", "-99999", "zz", "0.5", "[1]"]),
    "log_low": ("low", ["0", "-1.0", "0.0"]),
}
STACK_WORD = re.compile(r"(encoder|decoder|layers)(\.blocks\[[^\]]*\])?(?!:)")


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[tuple[str, dict[str, int]]]) -> tuple[str, dict[str, int]]:
    """A valid space text with one to three random edits."""
    text, layout = draw(base)
    for _ in range(draw(st.integers(1, 3))):
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "junk", "insert", "truncate", "indent", "unknown_field",
                                     "empty", "top", "selector", "selector", *TARGETED]))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "junk":
            lines = _replace_value(lines, i, draw(JUNK))
        elif kind == "indent":
            lines[i] = draw(st.sampled_from(["", " ", "  ", "\t"])) + lines[i].lstrip()
        elif kind == "insert":
            at = draw(st.integers(0, len(text)))
            piece = draw(st.sampled_from(["\t", "[", "]", "{", "}", ":", ": ", ",", "- ", "\n", "#", "'", "&x ", "*x",
                                          "? ", "\t\t:"]))
            lines = (text[:at] + piece + text[at:]).split("\n")
        elif kind == "truncate":
            lines = text[: draw(st.integers(0, len(text)))].split("\n")
        elif kind == "empty" and "dimensions:" in text:
            lines = [text[: text.index("dimensions:")] + "dimensions: []", ""]
        elif kind == "top":
            lines[0] = draw(st.sampled_from(["- ", "just text ", "", "42\n", "[", "---\n"])) + lines[0]
        elif kind == "unknown_field" and (found := _keyed(lines, "type")):
            i = draw(st.sampled_from(found))
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())].replace("-", " ")
            lines.insert(i + 1, indent + draw(st.sampled_from(["colour: red", "step: 2", "log: true", "low: 3"])))
        elif kind == "selector" and (found := [j for j, line in enumerate(lines) if STACK_WORD.search(line)]):
            i, bad = draw(st.sampled_from(found)), draw(st.sampled_from(BAD_SELECTORS))
            match = STACK_WORD.search(lines[i])
            assert match is not None
            lines[i] = lines[i][: match.start()] + bad + lines[i][match.end() :]
        elif kind in TARGETED and (found := _keyed(lines, TARGETED[kind][0])):
            lines = _replace_value(lines, draw(st.sampled_from(found)), draw(st.sampled_from(TARGETED[kind][1])))
        text = "\n".join(lines)
    return text, layout


def _shipped_texts() -> list[tuple[str, dict[str, int]]]:
    return [((SPACES / f"{name}.yaml").read_text(encoding="utf-8"), layout) for name, layout in SHIPPED.items()]


VALID_TEXTS = st.one_of(spaces(max_dims=4).map(lambda g: (g.text, g.layout)), st.sampled_from(_shipped_texts()))


@settings(max_examples=400, deadline=None)
@given(mutated(VALID_TEXTS))
def test_mutated_spaces_give_space_errors_never_tracebacks(case: tuple[str, dict[str, int]]) -> None:
    text, layout = case
    try:
        space = parse_space(text, "fuzz.yaml").resolve(layout)
    except SpaceError as err:
        assert err.file == "fuzz.yaml"
        assert isinstance(err.line, int) and 1 <= err.line <= max(1, len(text.splitlines())), (err.line, str(err))
        assert "\n" not in str(err) and str(err).startswith(f"fuzz.yaml:{err.line}: ")
        assert err.reason
    else:  # whatever still parses is a usable space
        assert space.contains(space.default())


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
