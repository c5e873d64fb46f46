"""Layer selectors: grammar, fractions of depth, negative indices, overlaps and errors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopeft.errors import SelectorError
from autopeft.space.selectors import Selector, describe_layout, parse_selector, resolve_selectors

T5 = {"encoder": 6, "decoder": 6}


@pytest.mark.parametrize(
    ("text", "n", "indices"),
    [
        ("encoder.blocks[1/2:]", 6, (3, 4, 5)),
        ("encoder.blocks[1/2:]", 7, (3, 4, 5, 6)),  # floor(7/2) = 3
        ("encoder.blocks[:1/2]", 7, (0, 1, 2)),
        ("encoder.blocks[1/3:2/3]", 6, (2, 3)),
        ("encoder.blocks[0/1:1/1]", 3, (0, 1, 2)),
        ("encoder.blocks[2/4:]", 8, (4, 5, 6, 7)),
        ("encoder.blocks[:]", 4, (0, 1, 2, 3)),
        ("encoder.blocks[*]", 4, (0, 1, 2, 3)),
        ("encoder", 3, (0, 1, 2)),
        ("  encoder.blocks[ 1 : 3 ]  ", 5, (1, 2)),
        ("encoder.blocks[-2:]", 5, (3, 4)),
        ("encoder.blocks[:-1]", 4, (0, 1, 2)),
        ("encoder.blocks[-4:-2]", 4, (0, 1)),
        ("encoder.blocks[+1:]", 3, (1, 2)),
        ("encoder.blocks[0:6]", 6, (0, 1, 2, 3, 4, 5)),
        ("encoder.blocks[-6:]", 6, (0, 1, 2, 3, 4, 5)),
        ("encoder.blocks[2]", 6, (2,)),
        ("encoder.blocks[0]", 1, (0,)),
        ("encoder.blocks[-1]", 6, (5,)),
        ("encoder.blocks[-6]", 6, (0,)),
        ("encoder.blocks[1/2]", 6, (3,)),
        ("encoder.blocks[1/2]", 7, (3,)),
        ("encoder.blocks[0/3]", 2, (0,)),
    ],
)
def test_resolve(text: str, n: int, indices: tuple[int, ...]) -> None:
    assert parse_selector(text).resolve({"encoder": n}) == indices
    assert parse_selector(text).block_ids({"encoder": n}) == tuple(f"encoder.{i}" for i in indices)


def test_parse_keeps_the_parts() -> None:
    sel = parse_selector(" decoder.blocks[1/4:-1] ")
    assert sel == Selector("decoder.blocks[1/4:-1]", "decoder", Fraction(1, 4), -1)
    assert str(sel) == "decoder.blocks[1/4:-1]"
    single = parse_selector("decoder.blocks[3]")
    assert single.single and single.start == 3 and single.stop is None
    whole = parse_selector("decoder")
    assert (whole.start, whole.stop, whole.single) == (None, None, False)


def test_resolve_selectors_keeps_order_and_stacks_apart() -> None:
    assert resolve_selectors(["decoder.blocks[-1]", "encoder.blocks[:2]"], T5) == (
        "decoder.5", "encoder.0", "encoder.1")
    assert resolve_selectors([parse_selector("encoder.blocks[1/2:]"), "encoder.blocks[:1/2]"], {"encoder": 5}) == (
        "encoder.2", "encoder.3", "encoder.4", "encoder.0", "encoder.1")
    assert resolve_selectors(["encoder", "decoder"], T5) == tuple(
        [f"encoder.{i}" for i in range(6)] + [f"decoder.{i}" for i in range(6)])


@pytest.mark.parametrize(
    "texts",
    [
        ["encoder", "encoder.blocks[0]"],
        ["encoder.blocks[:4]", "encoder.blocks[3:]"],
        ["encoder.blocks[1/2:]", "encoder.blocks[-1]"],
        ["encoder.blocks[2]", "encoder.blocks[2]"],
        ["encoder.blocks[:]", "encoder.blocks[*]"],
    ],
)
def test_overlapping_selectors_are_an_error(texts: list[str]) -> None:
    with pytest.raises(SelectorError) as info:
        resolve_selectors(texts, T5)
    assert "also selected by" in str(info.value)
    assert repr(texts[0].strip()) in str(info.value)
    assert "allowed: selectors that do not overlap" in str(info.value)


@pytest.mark.parametrize(
    ("text", "layout", "needle"),
    [
        ("decoder.blocks[:]", {"encoder": 6}, "there is no stack 'decoder'"),
        ("Encoder", {"encoder": 6}, "there is no stack 'Encoder'"),
        ("encoder.blocks[6]", {"encoder": 6}, "block 6 is out of range"),
        ("encoder.blocks[-7]", {"encoder": 6}, "block -7 is out of range"),
        ("encoder.blocks[1/1]", {"encoder": 6}, "block 1/1 is out of range"),
        ("encoder.blocks[0]", {"encoder": 0}, "out of range"),
        ("encoder.blocks[0:7]", {"encoder": 6}, "slice bound 7 is out of range"),
        ("encoder.blocks[-7:]", {"encoder": 6}, "slice bound -7 is out of range"),
        ("encoder.blocks[3:3]", {"encoder": 6}, "selects no block"),
        ("encoder.blocks[4:2]", {"encoder": 6}, "selects no block"),
        ("encoder.blocks[1/2:1/2]", {"encoder": 6}, "selects no block"),
        ("encoder.blocks[:1/2]", {"encoder": 1}, "selects no block"),  # floor(1/2) = 0
        ("encoder.blocks[1/1:]", {"encoder": 3}, "selects no block"),
        ("encoder", {"encoder": 0}, "selects no block"),
    ],
)
def test_resolve_errors(text: str, layout: dict[str, int], needle: str) -> None:
    sel = parse_selector(text)
    with pytest.raises(SelectorError) as info:
        sel.resolve(layout)
    assert needle in str(info.value)
    assert "allowed:" in str(info.value)
    assert getattr(info.value, "text", None) == text and getattr(info.value, "allowed", "")


def test_unknown_stack_lists_the_stacks() -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector("decoder").resolve({"encoder": 6})
    assert "encoder (6 blocks, 0-5)" in str(info.value)
    assert describe_layout({}) == "no stacks"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "bad selector syntax"),
        ("encoder.blocks", "bad selector syntax"),
        ("encoder.blocks[", "bad selector syntax"),
        ("encoder.layers[1]", "bad selector syntax"),
        ("encoder.blocks[1][2]", "bad selector syntax"),
        ("encoder.blocks[[1]]", "bad selector syntax"),
        ("1encoder", "bad selector syntax"),
        ("encoder blocks", "bad selector syntax"),
        ("encoder.blocks[1,2]", "bad index '1,2'"),
        ("encoder.blocks[a]", "bad index 'a'"),
        ("encoder.blocks[1.5]", "bad index '1.5'"),
        ("encoder.blocks[]", "empty block index"),
        ("encoder.blocks[ ]", "empty block index"),
        ("encoder.blocks[::2]", "at most one ':'"),
        ("encoder.blocks[1:2:3]", "at most one ':'"),
        ("encoder.blocks[3/2:]", "fraction '3/2' is outside [0, 1]"),
        ("encoder.blocks[-1/2:]", "fraction '-1/2' is outside [0, 1]"),
        ("encoder.blocks[1/0]", "fraction '1/0' is outside [0, 1]"),
    ],
)
def test_syntax_errors(text: str, needle: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector(text)
    message = str(info.value)
    assert needle in message
    assert "allowed:" in message and "\n" not in message


@pytest.mark.parametrize("value", [None, 3, ["encoder"], {"encoder": 1}])
def test_non_string_selector(value: object) -> None:
    with pytest.raises(SelectorError, match="must be a string"):
        parse_selector(value)  # type: ignore[arg-type]


LAYOUTS = st.dictionaries(st.sampled_from(["encoder", "decoder", "S", "layers_2"]), st.integers(1, 40),
                          min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(LAYOUTS, st.data())
def test_halves_partition_every_stack(layout: dict[str, int], data: st.DataObject) -> None:
    stack = data.draw(st.sampled_from(sorted(layout)))
    n = layout[stack]
    first = parse_selector(f"{stack}.blocks[:1/2]")
    second = parse_selector(f"{stack}.blocks[1/2:]")
    second_ids = second.block_ids(layout)
    assert second.resolve(layout) == tuple(range(n // 2, n))
    if n == 1:  # the first half of one block is empty
        with pytest.raises(SelectorError):
            first.resolve(layout)
        return
    first_ids = first.block_ids(layout)
    assert set(first_ids).isdisjoint(second_ids)
    assert first_ids + second_ids == tuple(f"{stack}.{i}" for i in range(n))
    assert resolve_selectors([first, second], layout) == first_ids + second_ids


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(-35, 35), st.integers(-35, 35), st.booleans(), st.booleans())
def test_integer_slices_match_python(n: int, a: int, b: int, open_start: bool, open_stop: bool) -> None:
    start, stop = (None if open_start else a), (None if open_stop else b)
    text = f"S.blocks[{'' if start is None else start}:{'' if stop is None else stop}]"
    expected = tuple(range(n)[start:stop])
    in_range = all(v is None or -n <= v <= n for v in (start, stop))
    if in_range and expected:
        assert parse_selector(text).resolve({"S": n}) == expected
    else:
        with pytest.raises(SelectorError):
            parse_selector(text).resolve({"S": n})


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(0, 12), st.integers(1, 12), st.integers(0, 12), st.integers(1, 12))
def test_fraction_slices_are_floors(n: int, p1: int, q1: int, p2: int, q2: int) -> None:
    lo, hi = Fraction(p1, q1), Fraction(p2, q2)
    text = f"S.blocks[{p1}/{q1}:{p2}/{q2}]"
    if lo > 1 or hi > 1:
        with pytest.raises(SelectorError, match="outside"):
            parse_selector(text)
        return
    expected = tuple(range((p1 * n) // q1, (p2 * n) // q2))
    if expected:
        assert parse_selector(text).resolve({"S": n}) == expected
    else:
        with pytest.raises(SelectorError, match="selects no block"):
            parse_selector(text).resolve({"S": n})


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="encoder.blocks[]:/-*0123 ", max_size=30), LAYOUTS)
def test_random_text_parses_or_raises_selector_error(text: str, layout: dict[str, int]) -> None:
    try:
        blocks = parse_selector(text).block_ids(layout)
    except SelectorError as err:
        assert "allowed:" in str(err)
    else:
        assert blocks and len(set(blocks)) == len(blocks)
        assert all(b.split(".")[0] in layout and 0 <= int(b.split(".")[1]) < layout[b.split(".")[0]] for b in blocks)
