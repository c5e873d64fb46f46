"""Checking a space against a model: shipped spaces pass, every kind of bad input is a SpaceError."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autopeft.errors import SpaceError
from autopeft.methods.checks import check_space, check_space_file
from autopeft.model.graph import ModelGraph
from autopeft.model.loading import skeleton
from autopeft.space import parse_space

SPACES = Path(__file__).resolve().parents[2] / "spaces"


@pytest.mark.parametrize("model", ["flan-t5-small", "flan-t5-base", "flan-t5-large"])
@pytest.mark.parametrize("name", ["flan-t5-layers", "flan-t5-methods"])
def test_shipped_t5_spaces_fit_every_flan_t5_size(name: str, model: str) -> None:
    check = check_space_file(SPACES / f"{name}.yaml", model)
    n_blocks = {"flan-t5-small": 8, "flan-t5-base": 12, "flan-t5-large": 24}[model]
    assert check.graph.layout == {"encoder": n_blocks, "decoder": n_blocks}
    assert set(check.references) == {"peft_default_lora", "attention_only", "later_layers_only", "full_finetune"}
    if name == "flan-t5-layers":  # one rank per encoder and per decoder block
        ranks = check.space.default()["lora.ranks"]
        assert len(ranks) == 2 * n_blocks
    assert "OK for model" in check.text()


def test_minilm_space_fits_minilm() -> None:
    check = check_space_file(SPACES / "minilm-layers.yaml", "minilm")
    assert check.graph.layout == {"encoder": 6}
    assert check.graph.total_params == 22_713_986  # MiniLM-L6 + a 2-class head
    assert len(check.space.default()["lora.ranks"]) == 6


@pytest.fixture(scope="module")
def minilm() -> ModelGraph:
    return ModelGraph.from_model(skeleton("minilm"))


def check(text: str, graph: ModelGraph) -> None:
    check_space(parse_space(textwrap.dedent(text), "bad.yaml"), graph)


HEAD = "name: bad\ndimensions:\n"
BAD = {
    "unknown method": (
        HEAD + "  - {name: method, type: categorical, choices: [lora, loraa]}\n",
        3, "method.choices[1]", "loraa", "unknown method"),
    "unknown option": (
        HEAD + "  - {name: method, type: constant, value: lora}\n"
               "  - {name: lora.rnak, type: integer, low: 1, high: 8}\n",
        4, "lora.rnak.name", "lora.rnak", "unknown option 'rnak'"),
    "option of a method never chosen": (
        HEAD + "  - {name: method, type: constant, value: lora}\n"
               "  - {name: ia3.modules, type: categorical, choices: [qv]}\n",
        4, "ia3.modules.name", "ia3.modules", "never takes"),
    "module the model lacks": (
        HEAD + "  - {name: method, type: constant, value: lora}\n"
               "  - name: lora.modules\n    type: categorical\n    choices:\n      - qv\n      - cross_attention\n",
        8, "lora.modules.choices[1]", "cross_attention", "names no module"),
    "layer the model lacks": (
        HEAD + "  - {name: method, type: constant, value: lora}\n"
               "  - {name: lora.ranks, type: per_layer, layers: 'encoder.blocks[6]', choices: [0, 8]}\n",
        4, "lora.ranks.layers", "encoder.blocks[6]", "out of range"),
    "stack the model lacks": (
        HEAD + "  - {name: method, type: constant, value: lora}\n"
               "  - {name: lora.layers, type: categorical, choices: [encoder, decoder]}\n",
        4, "lora.layers.choices[1]", "decoder", "there is no stack 'decoder'"),
    "rank <= 0": (
        HEAD + "  - {name: method, type: constant, value: lora}\n"
               "  - {name: lora.r, type: integer, low: 0, high: 8}\n",
        4, "lora.r.low", 0, "integer >= 1"),
    "negative per-layer rank": (
        HEAD + "  - {name: method, type: constant, value: lora}\n"
               "  - {name: lora.ranks, type: per_layer, layers: encoder, choices: [-1, 8]}\n",
        4, "lora.ranks.choices[0]", -1, ">= 0"),
    "non-positive learning rate": (
        HEAD + "  - {name: method, type: constant, value: ia3}\n"
               "  - {name: ia3.learning_rate, type: float, low: 0.0, high: 0.1}\n",
        4, "ia3.learning_rate.low", 0.0, "> 0"),
    "method that cannot apply": (
        HEAD + "  - {name: method, type: categorical, choices: [lora, prefix_tuning]}\n",
        3, "method.choices[1]", "prefix_tuning", "prompt_tuning"),
    "no method dimension": (
        HEAD + "  - {name: lora.r, type: integer, low: 1, high: 8}\n",
        1, "method", None, "no categorical or constant 'method'"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_space_is_a_space_error_at_the_right_line(case: str, minilm: ModelGraph) -> None:
    text, line, field, value, reason = BAD[case]
    with pytest.raises(SpaceError) as err:
        check(text, minilm)
    exc = err.value
    assert (exc.file, exc.line, exc.field) == ("bad.yaml", line, field), str(exc)
    if value is not None:
        assert exc.has_value and exc.value == value, str(exc)
    assert reason in str(exc)
    assert "\n" not in str(exc)


def test_bad_reference_config_points_at_its_line(minilm: ModelGraph) -> None:
    text = HEAD + "  - {name: method, type: constant, value: lora}\nreferences:\n  - full_finetune\n" \
                  "  - {name: mine, config: {method: lora, lora.modules: cross_attention}}\n"
    with pytest.raises(SpaceError) as err:
        check(text, minilm)
    assert err.value.line == 6 and "references.mine" in str(err.value) and "cross_attention" in str(err.value)


def test_all_zero_default_ranks_are_refused(minilm: ModelGraph) -> None:
    text = HEAD + "  - {name: method, type: constant, value: lora}\n" \
                  "  - {name: lora.ranks, type: per_layer, layers: encoder, choices: [0, 8]}\n"
    with pytest.raises(SpaceError, match=r"default configuration.*every rank is 0"):
        check(text, minilm)


def test_the_file_check_builds_every_reference_on_the_skeleton() -> None:
    from autopeft.methods import count_trainable

    check = check_space_file(SPACES / "minilm-layers.yaml", "minilm")
    assert set(check.built) == set(check.references) == {"peft_default_lora", "attention_only", "later_layers_only",
                                                         "full_finetune"}
    shapes = skeleton("minilm")
    for name, config in check.references.items():  # the built model's count is the closed form's
        assert check.built[name] == count_trainable(config, check.graph, shapes), name
    assert check.built["full_finetune"] == check.graph.total_params
    assert "peft_default_lora (74,498 trainable, built)" in check.text()


def test_without_a_skeleton_references_are_parsed_not_built(minilm: ModelGraph) -> None:
    text = HEAD + "  - {name: method, type: constant, value: lora}\nreferences: [full_finetune]\n"
    spec = parse_space(text, "ok.yaml")
    check = check_space(spec, minilm)
    assert check.built == {} and set(check.references) == {"full_finetune"}
    assert "references: full_finetune\n" in check.text()


def test_a_reference_that_does_not_build_fails_the_check_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from autopeft.methods import get_method

    def refuse(*args: object, **kwargs: object) -> object:
        raise ValueError("Target modules {'key'} not found\nin the base model.")

    monkeypatch.setattr(type(get_method("ia3")), "build", refuse)
    shapes = skeleton("minilm")
    text = HEAD + "  - {name: method, type: constant, value: lora}\nreferences:\n  - full_finetune\n" \
                  "  - {name: mine, config: {method: ia3}}\n"
    with pytest.raises(SpaceError) as err:
        check_space(parse_space(text, "bad.yaml"), ModelGraph.from_model(shapes), "minilm", skeleton=shapes)
    message = str(err.value)
    assert (err.value.file, err.value.line, err.value.field) == ("bad.yaml", 6, "references.mine"), message
    assert "reference point 'mine' does not build" in message and "ValueError: Target modules" in message
    assert "\n" not in message


def test_spaces_check_says_how_much_of_the_space_trains_nothing(tiny_t5_dir: Path) -> None:
    """The T5 space's ``cross_attention`` with every decoder block at rank 0 trains nothing: the share is counted
    on seeded draws, each void draw is exactly one whose build fails, and a space without such members says
    nothing."""
    import copy

    import numpy as np

    from autopeft.errors import ConfigError
    from autopeft.methods import build
    from autopeft.methods.checks import void_members
    from autopeft.model.loading import load_model
    from autopeft.space import load_space

    model = load_model(str(tiny_t5_dir))
    graph = ModelGraph.from_model(model)
    check = check_space(load_space(SPACES / "flan-t5-layers.yaml"), graph, "t5")
    void, draws, reason = check.void
    assert draws == 2000 and 0 < void < draws and "modules 'cross_attention' are in blocks decoder.0" in reason
    assert f"members that train nothing on this model: {void:,} of 2,000 random draws" in check.text()
    rng = np.random.default_rng(0)
    failed = 0
    for _ in range(300):  # brute force: the same seeded draws, each built
        try:
            build(copy.deepcopy(model), check.space.sample(rng), graph)
        except ConfigError:
            failed += 1
    assert void_members(check.space, graph, draws=300)[0] == failed > 0
    minilm = check_space_file(SPACES / "minilm-layers.yaml", "minilm")  # LoRA, all 6 blocks at rank 0: 1 in 78,125
    assert minilm.void == (0, 2000, "") and "train nothing" not in minilm.text()
