"""The line-tracking YAML loader and :class:`Fields`: every line number is right, every problem a SpaceError."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopeft.errors import SpaceError
from autopeft.space.yaml_fields import Fields, LineDict, LineList, count_lines, is_number, load_yaml

DOC = """\
# a comment
name: demo
dimensions:
  - name: a
    type: categorical
    choices: [x, y]

  - {name: b, type: constant, value: 3}
  - plain item
nested:
  inner:
    deep: 1
"""


def test_line_numbers_of_keys_and_items() -> None:
    data = load_yaml(DOC, "demo.yaml")
    assert isinstance(data, LineDict)
    assert data.line == 2
    assert data.lines == {"name": 2, "dimensions": 3, "nested": 10}
    dims = data["dimensions"]
    assert isinstance(dims, LineList)
    assert dims.lines == [4, 8, 9]
    assert dims[0].line == 4 and dims[0].lines == {"name": 4, "type": 5, "choices": 6}
    assert dims[0]["choices"].lines == [6, 6]
    assert dims[1].line == 8 and dims[1].lines == {"name": 8, "type": 8, "value": 8}
    assert dims[2] == "plain item"
    assert data["nested"]["inner"].lines == {"deep": 12}
    assert data["nested"].lines == {"inner": 11}


def test_block_list_items_each_on_their_own_line() -> None:
    data = load_yaml("xs:\n- 1\n-   2\n\n\n- [3, 4]\n", "x.yaml")
    assert data["xs"] == [1, 2, [3, 4]]
    assert data["xs"].lines == [2, 3, 6]
    assert data["xs"][2].lines == [6, 6]


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, 1),
        ("top:\n  x: 1\n  y: 2\n\n  x: 9\n", 5, 2),
        ("- {k: 1, k: 2}\n", 1, 1),
        ("list:\n  - name: a\n    type: t\n    name: b\n", 4, 2),
    ],
)
def test_duplicate_key_names_both_lines(text: str, line: int, first: int) -> None:
    with pytest.raises(SpaceError) as info:
        load_yaml(text, "dup.yaml")
    err = info.value
    assert err.file == "dup.yaml"
    assert err.line == line
    assert err.allowed == "each key once per mapping"
    assert f"first at line {first}" in str(err)
    assert "\n" not in str(err)


def test_merge_keys_may_be_overridden() -> None:
    data = load_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 5\n", "m.yaml")
    assert data["d"] == {"x": 5, "y": 2}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [1", 1),
        ("a: 1\nb: [1,\n  2\nc: 3\n", 4),
        ("a: 1\n\tb: 2\n", 2),
        ("a: 1\n  b: 2\n", 2),
        ("a: 1\nb: 'open\n", 2),
        ("a: 1\nb: {x: 1\n", 2),
        ("a: 1\n- b\n", 2),
        ("a: 1\nb: *nowhere\n", 2),
        ("a: 1\nb: @x\n", 2),
        ("a: 1\nb: 2001-13-45\n", 2),  # the timestamp resolver matches, the date is impossible
        ("a: !!int abc\n", 1),
        ("a: 1\nb: !!float ''\n", 2),
        ("a: !!bool maybe\n", 1),
        ("a: 1\nb: !!timestamp never\n", 2),
        ("a: 1\nb: !!map text\n", 2),
        ("a: 1\n\nb: !!seq text\n", 3),
        ("!!map x\n", 1),
        ("a: !!set 3\n", 1),
        ("a: &x [*x]\n", 1),
        ("{[1]: 2}\n", 1),
        ("a: !!python/name:os.system x\n", 1),
        ("a: 1\nb: \x00\n", 2),
        ("a: 1\n---\nb: 2\n", 2),
    ],
)
def test_malformed_yaml_is_a_space_error_with_a_line(text: str, line: int) -> None:
    with pytest.raises(SpaceError) as info:
        load_yaml(text, "bad.yaml")
    err = info.value
    assert err.file == "bad.yaml"
    assert err.line == line
    assert str(err).startswith(f"bad.yaml:{line}: ")
    assert "\n" not in str(err)


def test_deep_nesting_is_a_space_error() -> None:
    with pytest.raises(SpaceError) as info:
        load_yaml("a: " + "[" * 5000 + "]" * 5000, "deep.yaml")
    assert info.value.line == 1


def test_count_lines() -> None:
    assert count_lines("") == 1
    assert count_lines("a") == 1
    assert count_lines("a\n") == 1
    assert count_lines("a\nb") == 2
    assert count_lines("a\r\nb\r\n") == 2
    assert count_lines("a\rb\rc") == 3
    assert count_lines("\n\n\n") == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), (1.5, True), (True, False), (False, False), (math.nan, False), (math.inf, False),
     ("1", False), (None, False), (10**400, True)],
)
def test_is_number(value: object, expected: bool) -> None:
    assert is_number(value) is expected


def test_fields_accessors_raise_space_errors_at_the_key_line() -> None:
    data = load_yaml("x:\n  low: abc\n  flag: 3\n  s: ''\n  big: 1.0e400\n  n: 2\n", "f.yaml")
    f = Fields(data["x"], "f.yaml", "dims[0]")
    assert f.field("low") == "dims[0].low"
    assert f.number("n", integer=True) == 2
    with pytest.raises(SpaceError) as info:
        f.number("low", integer=False)
    assert (info.value.line, info.value.field, info.value.value) == (2, "dims[0].low", "abc")
    assert info.value.allowed == "a finite number"
    with pytest.raises(SpaceError) as info:
        f.flag("flag")
    assert (info.value.line, info.value.value, info.value.allowed) == (3, 3, "true, false")
    with pytest.raises(SpaceError) as info:
        f.string("s")
    assert info.value.line == 4 and info.value.has_value and info.value.value == ""
    with pytest.raises(SpaceError) as info:
        f.number("big", integer=False)  # YAML reads 1.0e400 as infinity
    assert info.value.line == 5
    with pytest.raises(SpaceError) as info:
        f.number("missing", integer=True)
    assert info.value.line == 2 and not info.value.has_value  # the mapping's own line
    assert "got" not in str(info.value)
    with pytest.raises(SpaceError) as info:
        f.check_keys(["low", "flag", "s", "big"])
    assert (info.value.field, info.value.line, info.value.allowed) == ("dims[0].n", 6, "low, flag, s, big")


def test_fields_number_rejects_huge_ints_as_floats() -> None:
    f = Fields({"v": 10**400}, "f.yaml")
    with pytest.raises(SpaceError, match="finite number"):
        f.number("v", integer=False)
    assert f.number("v", integer=True) == 10**400


TOKENS = [*"ab1:-[]{},'\"#&*!|>%@`\t\n ?.0e_\r\x85", "!!int ", "!!map ", "<<: ", "2001-13-45", "  - ", "\n  "]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_random_text_loads_or_raises_a_space_error(text: str) -> None:
    try:
        load_yaml(text, "fuzz.yaml")
    except SpaceError as err:
        assert err.file == "fuzz.yaml"
        assert isinstance(err.line, int) and 1 <= err.line <= max(1, len(text.splitlines()))
        assert "\n" not in str(err)
