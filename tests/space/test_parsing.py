"""Space files that are malformed, written by hand and fuzzed: every one gives a SpaceError that names the file,
line, field, bad value and what is allowed, never a traceback."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopeft.errors import ConfigError, SpaceError
from autopeft.space import SpaceSpec, load_space, parse_space
from autopeft.space.references import REFERENCES
from autopeft.space.selectors import GRAMMAR
from tests.space.test_spec import SHIPPED, SPACES, TYPES, equal, spaces


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
