"""Covering the methods: the filter against brute force, and bo's ``prior_cover`` on the synthetic space."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pytest

from autopeft.controllers import get_controller
from autopeft.controllers.base import Observation
from autopeft.controllers.cover import roots, untried_filter
from autopeft.controllers.transfer import Prior, PriorSource
from autopeft.errors import ConfigError
from autopeft.objectives import get_objective
from autopeft.space import parse_space
from tests.bench import synthetic

METHODS = ("lora", "ia3", "ln_tuning", "head_only")
OBJECTIVES = [get_objective("accuracy"), get_objective("trainable_params")]


def known() -> dict[str, Any]:
    return {"trainable_params": synthetic.known_params}


def members() -> list[dict[str, Any]]:
    return [c for c in synthetic.space().enumerate() if synthetic.params(c) is not None]


def test_the_root_is_the_unconditional_choice_others_depend_on() -> None:
    space = parse_space("""
name: s
dimensions:
  - {name: method, type: categorical, choices: [lora, ia3]}
  - {name: lora.kind, type: categorical, choices: [a, b], when: {method: lora}}
  - {name: lora.r, type: integer, low: 1, high: 8, when: {lora.kind: a}}
  - {name: seedless, type: categorical, choices: [x, y]}
""").resolve({})
    # lora.kind gates lora.r but is itself conditional; seedless gates nothing
    assert roots(space) == (("method", ("lora", "ia3")),)
    assert roots(synthetic.space()) == (("method", METHODS),)
    flat = parse_space("name: f\ndimensions:\n  - {name: x, type: categorical, choices: [a, b]}\n").resolve({})
    assert roots(flat) == () and untried_filter(flat, []) is None


def test_the_filter_accepts_exactly_the_untried_methods_brute_force() -> None:
    space, everything = synthetic.space(), members()
    for size in range(len(METHODS) + 1):
        for tried_methods in combinations(METHODS, size):
            tried = [next(c for c in everything if c["method"] == m) for m in tried_methods]
            keep = untried_filter(space, tried)
            if size == len(METHODS):
                assert keep is None
                continue
            assert keep is not None
            assert all(keep(c) == (c["method"] not in tried_methods) for c in everything)


def source() -> Prior:
    observed = members()[::3]  # enough of a source, and its GP fits in a moment
    return Prior((PriorSource("synthetic", "table", tuple(observed),
                              {"accuracy": tuple(synthetic.accuracy(c) for c in observed)}),))


def bo(**options: Any) -> Any:
    return get_controller("bo", synthetic.space(), OBJECTIVES, seed=0, known=known(), n_candidates=64,
                          prior=source(), **options)


def observe(config: dict[str, Any]) -> Observation:
    return Observation(config, {"accuracy": synthetic.accuracy(config), "trainable_params": synthetic.params(config)})


def sequential(steps: int, **options: Any) -> list[dict[str, Any]]:
    ctl, history = bo(**options), []
    for _ in range(steps):
        (config,) = ctl.propose(history, n=1)
        history.append(observe(config))
    return [o.config for o in history]


def test_a_covering_warm_start_tries_each_method_once_first() -> None:
    assert bo().options["prior_cover"] is True  # the default
    covered = sequential(len(METHODS), prior_cover=True)
    assert sorted(c["method"] for c in covered) == sorted(METHODS)
    plain = sequential(len(METHODS), prior_cover=False)
    assert len({c["method"] for c in plain}) < len(METHODS)  # the prior alone repeats a method on this space


def test_once_every_method_is_tried_it_proposes_as_without_cover() -> None:
    history = [observe(c) for c in sequential(len(METHODS), prior_cover=True)]
    assert bo(prior_cover=True).propose(history, n=2) == bo(prior_cover=False).propose(history, n=2)


def test_a_batch_comes_from_the_methods_untried_when_it_began() -> None:
    history = [observe(next(c for c in members() if c["method"] == "lora"))]
    batch = bo(prior_cover=True).propose(history, n=3)
    assert len(batch) == 3 and all(c["method"] != "lora" for c in batch)


def test_a_method_with_no_feasible_member_is_skipped_not_an_error() -> None:
    history = [observe(next(c for c in members() if c["method"] == m)) for m in ("lora", "ia3", "ln_tuning")]
    ctl = get_controller("bo", synthetic.space(), OBJECTIVES, seed=0, known=known(), n_candidates=64,
                         prior=source(), prior_cover=True, constraints=[lambda c: c["method"] != "head_only"])
    batch = ctl.propose(history, n=2)
    assert len(batch) == 2 and all(c["method"] != "head_only" for c in batch)


def test_without_a_prior_the_option_changes_nothing() -> None:
    def cold(**options: Any) -> list[dict[str, Any]]:
        return get_controller("bo", synthetic.space(), OBJECTIVES, seed=0, known=known(), n_candidates=64,
                              **options).propose([], n=3)

    assert cold(prior_cover=True) == cold(prior_cover=False)


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_prior_cover_is_true_or_false(bad: object) -> None:
    with pytest.raises(ConfigError, match=rf"option 'prior_cover' must be true or false, got {bad!r}"):
        get_controller("bo", synthetic.space(), OBJECTIVES, prior_cover=bad)
