"""Every registered controller obeys the contract (members, unique, deterministic, feasible, pending, failures,
batches, exhaustion), and the model-based ones beat uniform search on a synthetic problem with a known front.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

from autopeft.controllers import Controller, Observation, controller_names, get_controller, register_controller
from autopeft.controllers.base import Round
from autopeft.controllers.evolution import crossover, repair
from autopeft.errors import ConfigError
from autopeft.objectives import Objective, get_objective, to_minimize
from autopeft.pareto import hypervolume, pareto_mask
from autopeft.space import Space, parse_space
from autopeft.trial import config_key

OBJECTIVES = [get_objective("accuracy"), get_objective("trainable_params")]


def _missing(name: str) -> str | None:
    """Why a registered controller cannot run here (its extra is not installed), or None."""
    needs = {"nni:": (("nni",), "nni"), "optuna:": (("optuna", "optuna_integration", "botorch")
                                                    if name == "optuna:botorch" else ("optuna",), "bench")}
    for prefix, (modules, extra) in needs.items():
        if name.startswith(prefix) and any(importlib.util.find_spec(m) is None for m in modules):
            return f'needs pip install "autopeft[{extra}]"'
    return None


#: Every registered controller; NNI's and Optuna's are skipped where their extra (nni, bench) is not installed.
NAMES = [pytest.param(n, marks=pytest.mark.skipif(_missing(n) is not None, reason=str(_missing(n))))
         for n in controller_names()]

MIXED = """
name: mixed
dimensions:
  - name: method
    type: categorical
    choices: [lora, ia3]
  - name: lora.ranks
    type: per_layer
    layers: encoder.blocks[:]
    choices: [0, 1, 2, 4]
    when: {method: lora}
  - name: modules
    type: categorical
    choices: [qv, attention, attention_ffn]
  - name: epochs
    type: integer
    low: 1
    high: 5
  - name: learning_rate
    type: float
    low: 1.0e-4
    high: 1.0e-2
    log: true
"""

TINY = """
name: tiny
dimensions:
  - {name: method, type: categorical, choices: [lora, ia3]}
  - {name: r, type: integer, low: 1, high: 2, when: {method: lora}}
"""  # 3 members: ia3, lora r=1, lora r=2

N_MODULES = {"qv": 2, "attention": 4, "attention_ffn": 6}


@pytest.fixture(scope="module")
def mixed() -> Space:
    return parse_space(MIXED, "mixed.yaml").resolve({"encoder": 4})


@pytest.fixture(scope="module")
def tiny() -> Space:
    return parse_space(TINY, "tiny.yaml").resolve({})


def mixed_params(config: Mapping[str, Any]) -> float:
    ranks = config.get("lora.ranks", {})
    per_module = sum(ranks.values()) * 64 if config["method"] == "lora" else 32
    return 100.0 + per_module * N_MODULES[config["modules"]]


def mixed_accuracy(config: Mapping[str, Any]) -> float:
    lr = math.log10(config["learning_rate"])
    base = 0.6 + 0.05 * config["epochs"] / 5 - 0.05 * (lr + 3) ** 2
    if config["method"] == "lora":
        base += 0.2 * (1 - math.exp(-sum(config["lora.ranks"].values()) / 4))
    return float(base)


def observe(config: Mapping[str, Any]) -> Observation:
    return Observation(config, {"accuracy": mixed_accuracy(config), "trainable_params": mixed_params(config)})


#: Optuna's GP samplers fit a model per draw: ~1 s for optuna:gp, tens of seconds for optuna:botorch on a shared CPU.
#: Here optuna:gp draws twice per proposal and optuna:botorch stays in its startup phase (Optuna's random draws
#: through the same wrapper); BoTorch's model phase is tested in test_optuna_samplers.py.
LIGHT: dict[str, dict[str, Any]] = {"optuna:gp": {"draws": 2}, "optuna:botorch": {"n_startup_trials": 1000}}


def make(name: str, space: Space, seed: int = 0, **kwargs: Any) -> Controller:
    return get_controller(name, space, OBJECTIVES, seed=seed, known={"trainable_params": mixed_params},
                          **{**LIGHT.get(name, {}), **kwargs})


def history_of(space: Space, n: int, seed: int = 123) -> list[Observation]:
    rng = np.random.default_rng(seed)
    out: list[Observation] = []
    keys: set[str] = set()
    while len(out) < n:
        config = space.sample(rng)
        if config_key(config) not in keys:
            keys.add(config_key(config))
            out.append(observe(config))
    return out


def keys(configs: list[dict[str, Any]]) -> list[str]:
    return [config_key(c) for c in configs]


# History sizes that reach each controller's model-based / evolutionary phase (bo: 8 initial, evolution: 16).
SIZES = [0, 3, 20]


# ---- the contract, for every registered controller ----------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", SIZES)
def test_proposals_are_unique_untried_members(name: str, size: int, mixed: Space) -> None:
    history = history_of(mixed, size)
    proposals = make(name, mixed).propose(history, n=3)
    assert len(proposals) == 3
    assert all(mixed.contains(c) for c in proposals)
    assert len(set(keys(proposals))) == 3
    assert not set(keys(proposals)) & set(keys([dict(o.config) for o in history]))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", SIZES)
def test_proposals_are_deterministic(name: str, size: int, mixed: Space) -> None:
    history = history_of(mixed, size)
    controller = make(name, mixed, seed=5)
    first = controller.propose(history, n=2)
    assert controller.propose(history, n=2) == first  # no hidden state between calls
    assert make(name, mixed, seed=5).propose(history, n=2) == first  # a resumed search proposes the same
    assert make(name, mixed, seed=6).propose(history, n=2) != first


@pytest.mark.parametrize("name", NAMES)
def test_resumed_search_replays_the_same_trials(name: str, mixed: Space) -> None:
    def search(steps: int) -> list[dict[str, Any]]:
        controller, history = make(name, mixed, seed=3, **small(name)), list[Observation]()
        for _ in range(steps):
            history.extend(observe(c) for c in controller.propose(history))
        return [dict(o.config) for o in history]

    full = search(12)
    assert search(7) == full[:7]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", SIZES)
def test_every_proposal_satisfies_every_constraint(name: str, size: int, mixed: Space) -> None:
    constraints = [lambda c: c["method"] == "lora", lambda c: mixed_params(c) <= 1000.0]
    proposals = make(name, mixed, constraints=constraints).propose(history_of(mixed, size), n=4)
    assert len(proposals) == 4
    assert all(c["method"] == "lora" and mixed_params(c) <= 1000.0 for c in proposals)


OFFABLE = """
name: offable
dimensions:
  - {name: method, type: categorical, choices: [lora, ia3]}
  - name: lora.ranks
    type: per_layer
    layers: encoder.blocks[:]
    choices: [0, 1]
    when: {method: lora}
  - {name: learning_rate, type: float, low: 1.0e-4, high: 1.0e-2, log: true}
"""  # a quarter of the LoRA members have every block off: they do not build


def offable_params(config: Mapping[str, Any]) -> float:
    if config["method"] == "ia3":
        return 132.0
    if not any(config["lora.ranks"].values()):
        raise ConfigError("option 'lora.ranks': every rank is 0, so no block is adapted")
    return 100.0 + 64.0 * sum(config["lora.ranks"].values())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [0, 20])
def test_a_constraint_on_a_known_objective_skips_what_does_not_build(name: str, size: int) -> None:
    """A search's ``max_trainable_params`` constrains the parameter count, which raises ConfigError for a LoRA
    with every block off: such a configuration is infeasible, not a crash of the search."""
    space = parse_space(OFFABLE, "offable.yaml").resolve({"encoder": 2})
    rng = np.random.default_rng(0)
    history: list[Observation] = []
    while len(history) < size:
        config = space.sample(rng)
        with contextlib.suppress(ConfigError):
            history.append(Observation(config, {"accuracy": 0.5 + 0.1 * math.log10(config["learning_rate"] / 1e-4),
                                                "trainable_params": offable_params(config)}))
    controller = get_controller(name, space, OBJECTIVES, seed=0, known={"trainable_params": offable_params},
                                constraints=[lambda c: offable_params(c) <= 200.0], **small(name))
    proposals = controller.propose(history, n=4)
    assert len(proposals) == 4 and all(offable_params(c) <= 200.0 for c in proposals)


@pytest.mark.parametrize("name", NAMES)
def test_unsatisfiable_constraints_are_a_config_error(name: str, mixed: Space, tiny: Space) -> None:
    with pytest.raises(ConfigError, match="constraints"):
        make(name, mixed, constraints=[lambda c: False]).propose([])
    with pytest.raises(ConfigError, match="violate the constraints"):
        make(name, tiny, constraints=[lambda c: c["method"] == "ia3"]).propose([observe_tiny({"method": "ia3"})])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", SIZES)
def test_pending_configurations_are_not_proposed_again(name: str, size: int, mixed: Space) -> None:
    history = history_of(mixed, size)
    controller = make(name, mixed)
    first = controller.propose(history, n=3)
    second = controller.propose(history, n=3, pending=first)
    assert len(second) == 3
    assert not set(keys(first)) & set(keys(second))


@pytest.mark.parametrize("name", NAMES)
def test_failed_observations_count_as_tried(name: str, mixed: Space) -> None:
    history = history_of(mixed, 20)
    failed = [Observation(o.config, None) if i % 2 else o for i, o in enumerate(history)]
    proposals = make(name, mixed).propose(failed, n=3)
    assert len(set(keys(proposals))) == 3 and all(mixed.contains(c) for c in proposals)
    assert not set(keys(proposals)) & set(keys([dict(o.config) for o in history]))
    only_failures = [Observation(o.config, None) for o in history]
    assert len(make(name, mixed).propose(only_failures, n=2)) == 2


def observe_tiny(config: dict[str, Any]) -> Observation:
    return Observation(config, {"accuracy": 0.5 + 0.1 * config.get("r", 0), "trainable_params": 10.0})


@pytest.mark.parametrize("name", NAMES)
def test_a_tiny_space_is_exhausted_then_refused(name: str, tiny: Space) -> None:
    controller = get_controller(name, tiny, OBJECTIVES, seed=0)
    history = [Observation({"method": "lora", "r": 2}, None)]
    assert controller.propose(history, n=5) != []
    history.append(observe_tiny(controller.propose(history)[0]))
    last = controller.propose(history, n=3)  # only one member is left: fewer than n come back
    assert len(last) == 1 and config_key(last[0]) not in keys([dict(o.config) for o in history])
    history.append(observe_tiny(last[0]))
    with pytest.raises(ConfigError, match="space exhausted: all 3 configurations were tried"):
        controller.propose(history)
    with pytest.raises(ConfigError, match="space exhausted"):
        controller.propose(history[:2], pending=[history[2].config])


@pytest.mark.parametrize("name", NAMES)
def test_unknown_options_and_bad_arguments_are_config_errors(name: str, mixed: Space) -> None:
    with pytest.raises(ConfigError, match="has no option 'bogus'; allowed"):
        make(name, mixed, bogus=1)
    with pytest.raises(ConfigError, match="known objective 'ece' is not an objective"):
        get_controller(name, mixed, OBJECTIVES, known={"ece": mixed_params})
    with pytest.raises(ConfigError, match="seed"):
        get_controller(name, mixed, OBJECTIVES, seed=-1)
    with pytest.raises(ConfigError, match="n must be"):
        make(name, mixed).propose([], n=0)


def test_the_registry_lists_names_and_refuses_bad_ones(mixed: Space) -> None:
    assert {"random", "bo", "evolution"} <= set(controller_names())
    with pytest.raises(ConfigError, match="unknown controller 'nope'; allowed: bo, evolution"):
        get_controller("nope", mixed, OBJECTIVES)

    class Impostor(Controller):
        name: ClassVar[str] = "random"

        def _propose(self, state: Round) -> list[dict[str, Any]]:
            return []

    with pytest.raises(ValueError, match="already registered"):
        register_controller(Impostor)
    Impostor.name = "Bad Name"
    with pytest.raises(ValueError, match="needs a name"):
        register_controller(Impostor)


@pytest.mark.parametrize(("name", "options", "message"), [
    ("bo", {"surrogate": "svm"}, "allowed: forest, gp"),
    ("bo", {"n_initial": 0}, "'n_initial' must be an integer >= 1"),
    ("bo", {"mc_samples": 2.5}, "'mc_samples'"),
    ("bo", {"reference": {"accuracy": 0.0}}, "must map every objective"),
    ("bo", {"reference": {"accuracy": 0.0, "trainable_params": -1.0}}, "log scale"),
    ("bo", {"incumbent": "best"}, "'incumbent' must be one of observed, predicted"),
    ("bo", {"known_inputs": "yes"}, "'known_inputs' must be true or false"),
    ("bo", {"random_fraction": 1.0}, "'random_fraction' must be a number in \\[0, 1\\), got 1.0"),
    ("bo", {"random_fraction": "some"}, "'random_fraction'"),
    ("evolution", {"population": 1}, "'population' must be an integer >= 2"),
    ("evolution", {"mutation": 1.5}, "probability"),
], ids=lambda v: str(v)[:30])
def test_bad_option_values_name_the_option(name: str, options: dict[str, Any], message: str, mixed: Space) -> None:
    with pytest.raises(ConfigError, match=message):
        make(name, mixed, **options)


def test_config_key_is_canonical() -> None:
    a = {"m": "lora", "r": {"encoder.1": 4, "encoder.0": 2}}
    b = {"r": {"encoder.0": np.int64(2), "encoder.1": 4}, "m": "lora"}
    assert config_key(a) == config_key(b)
    assert config_key({"x": True}) != config_key({"x": 1})


# ---- bo and evolution specifics --------------------------------------------------------------------------------
def test_bo_surrogate_option_sets_the_model_that_is_fitted(mixed: Space, monkeypatch: pytest.MonkeyPatch) -> None:
    """``surrogate: forest`` fits a forest of randomised trees, ``gp`` (the default) a Gaussian process, and
    the acquisition sees their (different) predictions."""
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.gaussian_process import GaussianProcessRegressor

    import autopeft.controllers.bo as bo

    fitted: list[Any] = []
    real_fit = bo.BayesianOptimization._fit

    def spy(self: Any, *args: Any) -> Any:
        models = real_fit(self, *args)
        fitted.extend(models)
        return models

    monkeypatch.setattr(bo.BayesianOptimization, "_fit", spy)
    history = history_of(mixed, 12)
    probe = make("bo", mixed).encode([o.config for o in history_of(mixed, 8, seed=77)])
    predictions = {}
    for surrogate, model_type in (("gp", GaussianProcessRegressor), ("forest", ExtraTreesRegressor)):
        fitted.clear()
        options = {} if surrogate == "gp" else {"surrogate": surrogate}
        proposals = make("bo", mixed, n_candidates=64, **options).propose(history, n=2)
        assert len(proposals) == 2 and all(mixed.contains(c) for c in proposals)
        assert fitted, "12 observations are past n_initial: the model-based phase must fit surrogates"
        inner = [m.forest_ if surrogate == "forest" else m.gp_ for m in fitted]
        assert all(isinstance(m, model_type) for m in inner), [type(m).__name__ for m in inner]
        if surrogate == "forest":
            assert all(len(m.estimators_) == m.n_estimators > 1 for m in inner)  # fitted, not only built
        predictions[surrogate] = fitted[0].predict(probe)
    assert not np.allclose(predictions["gp"], predictions["forest"])


def test_bo_reference_option_is_the_hypervolume_reference(mixed: Space, monkeypatch: pytest.MonkeyPatch) -> None:
    """EHVI measures from the ``reference`` given (in the objectives' own units, minimised: -accuracy and
    log10 params); without it, from the worst accuracy seen plus 10 % of the range. A tighter reference
    changes what is proposed."""
    import autopeft.controllers.bo as bo

    references: list[np.ndarray] = []
    real = bo.ehvi_monte_carlo

    def spy(mean: Any, std: Any, known: Any, front: Any, reference: Any, **kwargs: Any) -> Any:
        references.append(np.asarray(reference, dtype=float))
        return real(mean, std, known, front, reference, **kwargs)

    monkeypatch.setattr(bo, "ehvi_monte_carlo", spy)
    history = history_of(mixed, 12)

    def run(**options: Any) -> tuple[np.ndarray, list[str]]:
        references.clear()
        proposals = make("bo", mixed, n_candidates=64, **options).propose(history, n=2)
        assert len(references) == 2 and np.array_equal(references[0], references[1])  # one per batch pick
        return references[0], keys(proposals)

    default, plain = run()
    accuracy = np.array([o.values["accuracy"] for o in history if o.values is not None])
    assert default[0] == pytest.approx(-accuracy.min() + 0.1 * (accuracy.max() - accuracy.min()))
    assert default[1] > np.log10(max(mixed_params(o.config) for o in history))  # beyond every point seen

    given, _ = run(reference={"accuracy": 0.0, "trainable_params": 1e5})
    np.testing.assert_allclose(given, [0.0, 5.0])
    tight, proposed = run(reference={"accuracy": 0.75, "trainable_params": 1e3})
    np.testing.assert_allclose(tight, [-0.75, 3.0])
    assert proposed != plain


def test_bo_never_models_a_known_objective(mixed: Space, monkeypatch: pytest.MonkeyPatch) -> None:
    import autopeft.controllers.bo as bo

    def no_model(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a known objective must never be modelled")

    monkeypatch.setattr(bo, "make_surrogate", no_model)
    known: dict[str, Callable[[Mapping[str, Any]], float]] = {
        "accuracy": mixed_accuracy, "trainable_params": mixed_params}
    controller = get_controller("bo", mixed, OBJECTIVES, known=known, n_candidates=64)
    history = history_of(mixed, 12)
    proposals = controller.propose(history, n=2, pending=[history_of(mixed, 1, seed=9)[0].config])
    assert len(proposals) == 2


def test_bo_known_inputs_add_the_scaled_known_objective(mixed: Space) -> None:
    configs = [o.config for o in history_of(mixed, 30)]
    plain = make("bo", mixed)._inputs(configs)
    ctl = make("bo", mixed, known_inputs=True)
    x = ctl._inputs(configs)
    assert x.shape == (30, plain.shape[1] + 1) and np.array_equal(x[:, :-1], plain)
    log_params = np.log10([mixed_params(c) for c in configs])
    sample = ctl._fixed_known[:, 0]  # log10 params of the controller's fixed sample of the space
    np.testing.assert_allclose(x[:, -1], (log_params - sample.min()) / (sample.max() - sample.min()))
    assert ctl._inputs([]).shape == (0, plain.shape[1] + 1)  # no rows, the same columns


@pytest.mark.parametrize("incumbent", ["observed", "predicted"])
def test_bo_incumbent_front_is_observed_or_the_models_means(incumbent: str, mixed: Space,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """With a lucky draw among near-copies, the observed front holds it; the predicted one shrinks it."""
    import autopeft.controllers.bo as bo

    base = {"method": "lora", "lora.ranks": dict.fromkeys(("encoder.0", "encoder.1", "encoder.2", "encoder.3"), 4),
            "modules": "qv", "epochs": 2}
    history = [Observation({**base, "learning_rate": lr}, {"accuracy": 0.6, "trainable_params": mixed_params(base)})
               for lr in (9.0e-4, 9.5e-4, 1.05e-3, 1.1e-3)]  # closer than the GP's shortest length scale
    history.append(Observation({**base, "learning_rate": 1e-3}, {"accuracy": 0.9,
                                                                 "trainable_params": mixed_params(base)}))
    history += history_of(mixed, 6)
    fronts: list[np.ndarray] = []
    real = bo.ehvi_monte_carlo

    def spy(mean: Any, std: Any, known: Any, front: Any, *args: Any, **kwargs: Any) -> Any:
        fronts.append(np.array(front))
        return real(mean, std, known, front, *args, **kwargs)

    monkeypatch.setattr(bo, "ehvi_monte_carlo", spy)
    ctl = get_controller("bo", mixed, OBJECTIVES, known={"trainable_params": mixed_params}, n_initial=2,
                         n_candidates=32, incumbent=incumbent)
    assert len(ctl.propose(history)) == 1
    best = -float(fronts[0][:, 0].min())  # accuracy of the front's best point (minimisation space)
    if incumbent == "observed":
        assert best == pytest.approx(0.9)
    else:
        assert best < 0.85


def test_bo_values_may_omit_known_objectives(mixed: Space) -> None:
    history = [Observation(o.config, {"accuracy": mixed_accuracy(o.config)}) for o in history_of(mixed, 10)]
    controller = make("bo", mixed, n_candidates=64)
    assert len(controller._complete(history)[0]) == 10
    assert len(controller.propose(history)) == 1


def test_crossover_and_repair_give_members(mixed: Space) -> None:
    rng = np.random.default_rng(0)
    lora = {"method": "lora", "lora.ranks": dict.fromkeys(("encoder.0", "encoder.1", "encoder.2", "encoder.3"), 4),
            "modules": "qv", "epochs": 2, "learning_rate": 1e-3}
    ia3 = {"method": "ia3", "modules": "attention", "epochs": 5, "learning_rate": 1e-2}
    children = [crossover(mixed, lora, ia3, rng) for _ in range(50)]
    assert all(mixed.contains(c) for c in children)
    assert {c["method"] for c in children} == {"lora", "ia3"}
    assert all(("lora.ranks" in c) == (c["method"] == "lora") for c in children)
    assert repair(mixed, {**ia3, "lora.ranks": lora["lora.ranks"]}) == ia3  # the inactive key is dropped
    filled = repair(mixed, {"method": "lora", "modules": "qv", "epochs": 1, "learning_rate": 1e-3})
    assert filled["lora.ranks"] == mixed.default()["lora.ranks"]  # a missing active key gets its default
    assert mixed.contains(filled)


# ---- the comparison: a synthetic problem whose front is known by enumeration ---------------------------------
SYNTHETIC = """
name: synthetic
dimensions:
  - {name: method, type: categorical, choices: [lora, ia3, bitfit]}
  - name: lora.ranks
    type: per_layer
    layers: encoder.blocks[:]
    choices: [0, 1, 2, 4, 8]
    when: {method: lora}
  - {name: lora.modules, type: categorical, choices: [q, qv, qkvo], when: {method: lora}}
  - {name: lora.alpha, type: integer, low: 1, high: 4, when: {method: lora}}
  - {name: ia3.layers, type: integer, low: 1, high: 6, when: {method: ia3}}
"""
BLOCK_WEIGHT = {"encoder.0": 0.2, "encoder.1": 0.5, "encoder.2": 1.0, "encoder.3": 1.6}  # later blocks matter more
MODULES = {"q": (0.6, 1), "qv": (1.0, 2), "qkvo": (1.3, 4)}  # (accuracy factor, adapted modules per block)


def synthetic_params(config: Mapping[str, Any]) -> float:
    if config["method"] == "lora":
        return 100.0 + float(sum(config["lora.ranks"].values())) * 128 * MODULES[config["lora.modules"]][1]
    return 100.0 + 192.0 * float(config["ia3.layers"]) if config["method"] == "ia3" else 600.0


def synthetic_accuracy(config: Mapping[str, Any]) -> float:
    """Saturating in the block-weighted total rank, a module-set factor, an alpha optimum, an interaction."""
    if config["method"] == "lora":
        factor = MODULES[config["lora.modules"]][0]
        effective = factor * sum(BLOCK_WEIGHT[b] * r for b, r in config["lora.ranks"].items())
        accuracy = 0.5 + 0.4 * (1 - math.exp(-effective / 6)) + 0.02 * (1 - abs(config["lora.alpha"] - 2) / 2)
        return float(accuracy) + (0.02 if config["lora.modules"] == "qkvo" and config["lora.alpha"] == 4 else 0.0)
    return 0.55 + 0.05 * math.sqrt(config["ia3.layers"]) if config["method"] == "ia3" else 0.62


def small(name: str) -> dict[str, Any]:
    """Lighter bo settings where a test runs many searches (the defaults are for real, expensive trials)."""
    return {"n_candidates": 128, "mc_samples": 32} if name == "bo" else LIGHT.get(name, {})


def test_bo_and_evolution_beat_random_on_a_known_front() -> None:
    space = parse_space(SYNTHETIC, "synthetic.yaml").resolve({"encoder": 4})
    members = list(space.enumerate())
    points = to_minimize([[synthetic_accuracy(c), synthetic_params(c)] for c in members], OBJECTIVES)
    high, low = points.max(axis=0), points.min(axis=0)
    reference = high + 0.05 * (high - low)
    best = hypervolume(points, reference)
    assert len(members) == space.cardinality() == 7507 and pareto_mask(points).sum() > 10

    def final_hypervolume(name: str, seed: int, budget: int = 30) -> float:
        controller = get_controller(name, space, OBJECTIVES, seed=seed,
                                    known={"trainable_params": synthetic_params}, **small(name))
        history: list[Observation] = []
        for _ in range(budget):
            (config,) = controller.propose(history)
            values = {"accuracy": synthetic_accuracy(config), "trainable_params": synthetic_params(config)}
            history.append(Observation(config, values))
        found = to_minimize([[o.values["accuracy"], o.values["trainable_params"]] for o in history
                             if o.values is not None], OBJECTIVES)
        return hypervolume(found, reference) / best

    seeds = range(10)
    ratios = {name: np.array([final_hypervolume(name, s) for s in seeds]) for name in ("random", "bo", "evolution")}
    wins = {name: int((ratios[name] > ratios["random"]).sum()) for name in ("bo", "evolution")}
    print(f"\nfinal hypervolume / true front's, 30 trials, seeds 0-9 (true front: {pareto_mask(points).sum()} points)")
    for name, values in ratios.items():
        print(f"  {name:9s} mean {values.mean():.3f}  {np.round(values, 3).tolist()}")
    print(f"  wins over random: {wins}")
    assert (ratios["random"] < 1.0 + 1e-9).all() and (ratios["bo"] <= 1.0 + 1e-9).all()
    assert wins["bo"] >= 6 and wins["evolution"] >= 6
    assert ratios["bo"].mean() > ratios["random"].mean()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [3, 20])
def test_objective_order_does_not_matter(name: str, size: int, mixed: Space) -> None:
    """The same history and seed with the objectives listed in either order give the same proposals: bo keeps
    its acquisition's columns uncertain-then-known and evolution's sorting and crowding are symmetric, so the
    order a recipe lists its objectives in is not a hidden setting (sizes reach the model-based phases)."""
    history = history_of(mixed, size)
    swapped: list[Objective] = OBJECTIVES[::-1]
    options = ({"n_candidates": 64, "n_initial": 2} if name == "bo" else {"population": 4} if name == "evolution"
               else LIGHT.get(name, {}))
    first = make(name, mixed, seed=4, **options).propose(history, n=2)
    second = get_controller(name, mixed, swapped, seed=4, known={"trainable_params": mixed_params},
                            **options).propose(history, n=2)
    assert len(first) == 2 and second == first


def test_bo_skips_near_copies_of_tried_configurations() -> None:
    """A learning rate 1 % away from a tried one is not a new experiment: min_distance keeps bo off it."""
    space = parse_space("name: s\ndimensions:\n  - {name: method, type: categorical, choices: [a, b]}\n"
                        "  - {name: lr, type: float, low: 1.0e-3, high: 1.0e-1, log: true}\n", "s.yaml").resolve({})
    objectives = [get_objective("accuracy"), get_objective("trainable_params")]
    params = {"a": 10.0, "b": 100.0}
    known = {"trainable_params": lambda c: params[c["method"]]}
    rng = np.random.default_rng(0)
    history = [Observation(c, {"accuracy": 0.5 + 0.4 * math.log10(c["lr"] / 1e-3) / 2 * (c["method"] == "a"),
                               "trainable_params": params[c["method"]]})
               for c in (space.sample(rng) for _ in range(12))]
    ctl = get_controller("bo", space, objectives, seed=0, known=known, n_initial=4, min_distance=0.05)
    tried = space.encode_many([o.config for o in history])
    for config in ctl.propose(history, 3):
        gap = np.min(np.max(np.abs(tried - space.encode(config)), axis=1))
        assert gap >= 0.05, (config, gap)
        tried = np.vstack((tried, space.encode(config)))
    with pytest.raises(ConfigError, match="min_distance"):
        get_controller("bo", space, objectives, min_distance=1.5)


@pytest.mark.parametrize("share", [0.0, 0.5, 0.999])
def test_bo_random_fraction_replaces_that_share_of_the_ehvi_picks_by_uniform_draws(
        share: float, mixed: Space, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the design each proposal is, with probability ``random_fraction``, a uniform draw (SMAC's random
    interleaving): EHVI picks the rest. At 0 every proposal is EHVI's; the draws are untried members."""
    import autopeft.controllers.bo as bo

    asked: list[int] = []
    real = bo.BayesianOptimization._model_based

    def spy(self: Any, state: Round, k: int) -> Any:
        asked.append(k)
        return real(self, state, k)

    monkeypatch.setattr(bo.BayesianOptimization, "_model_based", spy)
    history = history_of(mixed, 12)
    n = 40
    proposals = make("bo", mixed, n_candidates=64, random_fraction=share).propose(history, n=n)
    assert len(proposals) == n and all(mixed.contains(c) for c in proposals)
    assert len(set(keys(proposals)) | set(keys([o.config for o in history]))) == n + len(history)
    drawn = n - sum(asked)
    if share == 0.0:
        assert asked == [n]
    else:  # binomial(n, share): within 4 sd
        assert abs(drawn - n * share) <= 4 * math.sqrt(n * share * (1 - share)) + 1, (drawn, share)
        assert drawn >= 1


def test_random_draws_the_method_first_not_a_member_uniformly() -> None:
    """The documented convention, against the closed form on the PEFT-Bench space: each of the 2 head-only
    members 1/8 of the draws, each of the 243 LoRA members 1/972."""
    from collections import Counter

    from autopeft.trial import config_key
    from tests.bench.synthetic import space

    sp = space()
    members = list(sp.enumerate())
    by_method = Counter(m["method"] for m in members)
    assert by_method == {"lora": 243, "ia3": 4, "ln_tuning": 4, "head_only": 2}
    rng = np.random.default_rng(0)
    n = 40_000
    draws = Counter(config_key(sp.sample(rng)) for _ in range(n))
    head = [config_key(m) for m in members if m["method"] == "head_only"]
    for key in head:  # 1/8 each: binomial sd is sqrt(n p (1-p)) ~ 66 draws
        assert abs(draws[key] - n / 8) < 5 * np.sqrt(n / 8 * 7 / 8)
    lora = sum(v for k, v in draws.items() if k.endswith('"method":"lora"}'))
    assert abs(lora - n / 4) < 5 * np.sqrt(n / 4 * 3 / 4)
