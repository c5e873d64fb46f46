"""Dimension types one at a time: defaults, checks, counts, moves and the numeric encoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopeft.errors import ConfigError
from autopeft.space.dimensions import (
    DIMENSION_TYPES,
    CategoricalSpec,
    Condition,
    ConstantSpec,
    DimensionSpec,
    FloatSpec,
    IntegerSpec,
    PerLayerSpec,
    same,
)
from autopeft.space.selectors import parse_selector

BLOCKS = ("encoder.0", "encoder.1", "decoder.0")


def strict(value: object) -> object:
    """``value`` with each scalar tagged by its kind, so ``True`` and ``1`` compare unequal."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return (isinstance(value, bool), value)


def per_layer(choices: tuple[object, ...], default: object = None) -> PerLayerSpec:
    spec = PerLayerSpec(name="ranks", layers=(parse_selector("encoder"),), choices=choices,  # type: ignore[arg-type]
                        default=default)  # type: ignore[arg-type]
    return spec.bind(BLOCKS)


def test_registry_names_every_type() -> None:
    assert set(DIMENSION_TYPES) == {"categorical", "integer", "float", "per_layer", "constant"}
    for name, cls in DIMENSION_TYPES.items():
        assert name == cls.TYPE
        assert {"name", "type", "when", "description"} <= set(cls.FIELDS)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(True, True, True), (True, 1, False), (1, True, False), (0, False, False), (1, 1.0, True),
     (np.bool_(True), True, True), ("1", 1, False), ([1, "a"], (1, "a"), True), ([1], [True], False),
     ([1], 1, False), ({"a": 1}, {"a": 1}, False), (None, None, True), (None, 0, False)],
)
def test_same_keeps_bools_apart(a: object, b: object, expected: bool) -> None:
    assert same(a, b) is expected


def test_condition() -> None:
    cond = Condition("method", ("lora", True), 3)
    assert cond.holds("lora") and cond.holds(True)
    assert not cond.holds(1) and not cond.holds("ia3")
    assert str(cond) == "method in ['lora', True]"


# ---- categorical --------------------------------------------------------------------------------
def test_categorical() -> None:
    dim = CategoricalSpec(name="m", choices=("a", 1, True, 2.5))
    assert dim.type == "categorical"
    assert dim.default_value() == "a"
    assert dim.count() == 4
    assert dim.check(1.0) == 1 and type(dim.check(1.0)) is int  # normalised to the declared choice
    assert dim.check(True) is True
    with pytest.raises(ConfigError, match=r"config key 'm': not one of the choices \(got False\); allowed: 'a', 1"):
        dim.check(False)
    assert dim.moves("a") == [1, True, 2.5]
    assert dim.moves(True) == ["a", 1, 2.5]
    assert dim.feature_names() == ["m=a", "m=1", "m=True", "m=2.5"]
    assert dim.feature_kinds() == ["onehot"] * 4
    assert dim.encode_value(True) == [0.0, 0.0, 1.0, 0.0]
    assert dim.decode_value(np.array([0.1, 0.2, 0.9, 0.3])) is True
    assert not dim.allows("b") and dim.allows(2.5)
    assert CategoricalSpec(name="m", choices=("a", "b"), default="b").default_value() == "b"


# ---- integer ------------------------------------------------------------------------------------
def test_integer_docstring_example() -> None:
    dim = IntegerSpec(name="tokens", low=5, high=50, step=5)
    assert (dim.default_value(), dim.check(10.0), dim.moves(50)) == (30, 10, [45])
    assert dim.count() == 10
    assert dim.moves(5) == [10] and dim.moves(20) == [15, 25]


@pytest.mark.parametrize("value", [7, 55, 0, 10.5, "10", None, True, math.nan, math.inf, [10], 10**400])
def test_integer_rejects(value: object) -> None:
    dim = IntegerSpec(name="tokens", low=5, high=50, step=5)
    with pytest.raises(ConfigError) as info:
        dim.check(value)
    assert "'tokens'" in str(info.value) and "allowed: integers in [5, 50] with step 5" in str(info.value)


def test_integer_encoding() -> None:
    dim = IntegerSpec(name="r", low=2, high=10, step=2)
    assert [dim.encode_value(v)[0] for v in (2, 6, 10)] == [0.0, 0.5, 1.0]
    assert dim.decode_value(np.array([0.49])) == 6
    assert dim.decode_value(np.array([-3.0])) == 2 and dim.decode_value(np.array([7.0])) == 10
    assert dim.feature_names() == ["r"] and dim.feature_kinds() == ["numeric"]
    point = IntegerSpec(name="p", low=4, high=4)
    assert point.encode_value(4) == [0.0] and point.decode_value(np.array([0.7])) == 4
    assert point.moves(4) == [] and point.count() == 1


def test_integer_log() -> None:
    dim = IntegerSpec(name="r", low=1, high=64, log=True)
    assert dim.default_value() == 8  # the geometric midpoint
    assert dim.encode_value(8)[0] == pytest.approx(0.5)
    assert dim.moves(1) == [2] and dim.moves(64) == [52]  # 64 / 64**(1/20), a step on a 20-point grid
    ups = [dim.moves(v)[-1] for v in (8, 32)]
    assert ups[0] > 8 and ups[1] > 32
    rng = np.random.default_rng(0)
    draws = [dim.sample_value(rng) for _ in range(4000)]
    assert min(draws) == 1 and max(draws) == 64
    assert sum(d <= 8 for d in draws) > 1500  # log-uniform: about half lie below the geometric midpoint


def test_integer_wider_than_int64_still_samples() -> None:
    dim = IntegerSpec(name="n", low=0, high=2**70)
    rng = np.random.default_rng(1)
    for _ in range(20):
        assert dim.allows(dim.sample_value(rng))


# ---- float -------------------------------------------------------------------------------------
def test_float() -> None:
    dim = FloatSpec(name="lr", low=1e-4, high=1e-2, log=True)
    assert dim.default_value() == pytest.approx(1e-3)
    assert dim.encode_value(1e-3)[0] == pytest.approx(0.5)
    assert isinstance(dim.check(1e-3), float)
    assert FloatSpec(name="p", low=0.0, high=2.0).check(1) == 1.0
    assert dim.count() == math.inf
    lo, hi = dim.moves(1e-3)
    assert lo < 1e-3 < hi and dim.allows(lo) and dim.allows(hi)
    assert dim.moves(1e-2) == [pytest.approx(1e-2 * 10**-0.2)]
    linear = FloatSpec(name="p", low=-1.0, high=1.0)
    assert linear.default_value() == 0.0
    assert linear.decode_value(np.array([0.75])) == 0.5
    assert FloatSpec(name="c", low=2.0, high=2.0).count() == 1


@pytest.mark.parametrize("value", [-1.5, 2.0000001, "0.5", None, True, math.nan, -math.inf, 10**400, -(10**400), [0]])
def test_float_rejects(value: object) -> None:
    dim = FloatSpec(name="p", low=-1.0, high=1.0)
    with pytest.raises(ConfigError) as info:
        dim.check(value)
    assert "'p'" in str(info.value) and "allowed: a number in [-1.0, 1.0]" in str(info.value)


def test_float_range_wider_than_the_largest_float() -> None:
    dim = FloatSpec(name="x", low=-1e308, high=1.5e308)
    rng = np.random.default_rng(0)
    for value in [dim.default_value(), *(dim.sample_value(rng) for _ in range(50))]:
        assert dim.allows(value)
        unit = dim.encode_value(value)[0]
        assert 0.0 <= unit <= 1.0
        assert dim.decode_value(np.array([unit])) == pytest.approx(value, rel=1e-9, abs=1e297)
        assert all(dim.allows(m) and m != value for m in dim.moves(value))
    assert dim.encode_value(0.0)[0] == pytest.approx(0.4)


# ---- per layer -----------------------------------------------------------------------------------
def test_per_layer_ordinal() -> None:
    dim = per_layer((8, 0, 2.5, 4), default=4)
    assert dim.ordinal
    assert dim.default_value() == dict.fromkeys(BLOCKS, 4)
    assert dim.count() == 4**3
    assert dim.feature_names() == ["ranks[encoder.0]", "ranks[encoder.1]", "ranks[decoder.0]"]
    assert dim.feature_kinds() == ["ordinal"] * 3
    value = {"encoder.0": 0, "encoder.1": 2.5, "decoder.0": 8}
    assert dim.encode_value(value) == [0.0, pytest.approx(1 / 3), 1.0]
    assert dim.decode_value(np.array(dim.encode_value(value))) == value
    moves = dim.moves(value)
    assert {"encoder.0": 2.5, "encoder.1": 2.5, "decoder.0": 8} in moves
    assert {"encoder.0": 0, "encoder.1": 0, "decoder.0": 8} in moves
    assert len(moves) == 1 + 2 + 1  # adjacent values only


def test_per_layer_onehot() -> None:
    dim = per_layer(("qv", "all", True))
    assert not dim.ordinal
    assert len(dim.feature_names()) == 9 and set(dim.feature_kinds()) == {"onehot"}
    value = {"encoder.0": "all", "encoder.1": True, "decoder.0": "qv"}
    assert dim.encode_value(value) == [0, 1, 0, 0, 0, 1, 1, 0, 0]
    assert dim.decode_value(np.array(dim.encode_value(value))) == value
    assert len(dim.moves(value)) == 3 * 2


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ([0, 0, 0], "must be a mapping"),
        ({"encoder.0": 0, "encoder.1": 0}, "missing blocks 'decoder.0'"),
        ({"encoder.0": 0, "encoder.1": 0, "decoder.0": 0, "decoder.1": 0}, "unknown blocks 'decoder.1'"),
        ({"encoder.0": 0, "encoder.1": 3, "decoder.0": 0}, "block 'encoder.1': not one of the choices (got 3)"),
        ({"encoder.0": False, "encoder.1": 0, "decoder.0": 0}, "block 'encoder.0'"),
    ],
)
def test_per_layer_rejects(value: object, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        per_layer((0, 4)).check(value)
    assert needle in str(info.value) and "allowed:" in str(info.value) and "'ranks'" in str(info.value)


# ---- constant ----------------------------------------------------------------------------------
def test_constant() -> None:
    dim = ConstantSpec(name="mods", value=("q", ("v", 1)))
    assert dim.default_value() == ["q", ["v", 1]]
    assert dim.check(["q", ["v", 1]]) == ["q", ["v", 1]]
    assert dim.check(("q", ("v", 1))) == ["q", ["v", 1]]
    with pytest.raises(ConfigError, match="a constant takes only its value"):
        dim.check(["q", ["v", True]])
    assert dim.count() == 1 and dim.moves(dim.default_value()) == [] and dim.feature_names() == []
    assert dim.decode_value(np.zeros(0)) == ["q", ["v", 1]]
    assert ConstantSpec(name="n", value=None).check(None) is None


# ---- every type: a generic contract -------------------------------------------------------------
def _dims() -> list[DimensionSpec]:
    return [
        CategoricalSpec(name="c", choices=("x", 0, False, -1.5)),
        IntegerSpec(name="i", low=-6, high=9, step=3),
        IntegerSpec(name="il", low=3, high=300, log=True),
        FloatSpec(name="f", low=-2.0, high=3.0),
        FloatSpec(name="fl", low=1e-6, high=10.0, log=True),
        per_layer((0, 2, 8)),
        per_layer(("a", "b")),
        ConstantSpec(name="k", value="lora"),
    ]


@pytest.mark.parametrize("dim", _dims(), ids=lambda d: d.name)
@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_dimension_contract(dim: DimensionSpec, seed: int) -> None:
    rng = np.random.default_rng(seed)
    value = dim.sample_value(rng)
    assert dim.allows(value) and dim.allows(dim.default_value())
    assert strict(dim.check(value)) == strict(value)
    features = dim.encode_value(dim.check(value))
    assert len(features) == len(dim.feature_names()) == len(dim.feature_kinds())
    assert all(0.0 <= x <= 1.0 for x in features)
    decoded = dim.decode_value(np.array(features))
    if isinstance(dim, FloatSpec):
        assert decoded == pytest.approx(value, rel=1e-9, abs=1e-12)
    else:
        assert strict(decoded) == strict(value)
    for move in dim.moves(value):
        assert dim.allows(move)
        assert strict(move) != strict(value)
