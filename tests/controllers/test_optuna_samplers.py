"""Optuna's samplers as controllers (``optuna:tpe``, ``optuna:nsga2``, ``optuna:gp``, ``optuna:botorch``): the space
translation and its inverse on the real spaces, what the Optuna study is told (history, pending, repeats,
directions), valid and deterministic proposals, a missing extra, the registry's names and message, TPE against
random search, BoTorch's model phase, and a bench replay on the committed table.

The contract every controller obeys (members, pending, failures, constraints, exhaustion) is checked for these
four too, by tests/controllers/test_controllers.py, which runs over every registered name (optuna:botorch there in
its startup phase: its model phase costs tens of seconds per draw, and is tested here once).
"""

from __future__ import annotations

import importlib.util
import math
import random
import subprocess
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from autopeft.controllers import Controller, Observation, controller_names, get_controller
from autopeft.controllers.optuna_space import (
    from_optuna_params,
    optuna_distributions,
    optuna_params,
    suggest,
    translate,
)
from autopeft.errors import ConfigError
from autopeft.objectives import get_objective, to_minimize
from autopeft.pareto import hypervolume
from autopeft.space import Space, load_space, parse_space
from autopeft.trial import config_key
from tests.controllers.test_controllers import SYNTHETIC, synthetic_accuracy, synthetic_params
from tests.controllers.test_nni_tuners import LAYOUTS, check_four_proposals, close, history_of, params_of

ROOT = Path(__file__).resolve().parents[2]
HAS_BOTORCH = all(importlib.util.find_spec(m) is not None for m in ("optuna", "optuna_integration", "botorch"))
NAMES = ["optuna:tpe", "optuna:nsga2", "optuna:gp", "optuna:botorch"]
#: the samplers cheap enough to run many times here (the GP ones fit a model per draw)
FAST = ["optuna:tpe", "optuna:nsga2"]
OBJECTIVES = [get_objective("accuracy"), get_objective("trainable_params")]


@pytest.fixture
def optuna() -> ModuleType:
    return pytest.importorskip("optuna")


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def real(request: pytest.FixtureRequest) -> Space:
    return load_space(ROOT / "spaces" / f"{request.param}.yaml").resolve(LAYOUTS[request.param])


def make(name: str, space: Space, seed: int = 0, **options: Any) -> Controller:
    return get_controller(name, space, OBJECTIVES, seed=seed, known={"trainable_params": params_of}, **options)


# ---- the registry, the extra, the options ------------------------------------------------------------------------
def test_the_four_are_registered_and_importing_the_controllers_imports_no_optuna() -> None:
    assert set(NAMES) <= set(controller_names())
    code = ("import sys, autopeft.controllers; "
            "sys.exit(1 if {'optuna', 'optuna_integration', 'botorch'} & set(sys.modules) else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_unknown_optuna_sampler_lists_the_offered_ones() -> None:
    space = parse_space("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [a, b]}\n").resolve({})
    with pytest.raises(ConfigError) as info:
        get_controller("optuna:cmaes", space, OBJECTIVES)
    message = str(info.value)
    assert message.startswith("unknown Optuna sampler 'optuna:cmaes'; allowed: optuna:botorch, optuna:gp, "
                              "optuna:nsga2, optuna:tpe (CMA-ES is not offered: ")
    assert "\n" not in message


@pytest.mark.parametrize("name", NAMES)
def test_without_the_extra_building_one_is_a_one_line_config_error(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    space = parse_space("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [a, b]}\n").resolve({})
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` now fails as if it were not installed
    with pytest.raises(ConfigError) as info:
        get_controller(name, space, OBJECTIVES)
    message = str(info.value)
    assert message == f'controller {name!r} needs Optuna >= 5, which is not installed; pip install "autopeft[bench]"'


@pytest.mark.parametrize(("module", "what"), [("optuna_integration", "optuna-integration >= 5"),
                                              ("botorch", "BoTorch >= 0.18")])
def test_botorch_names_what_is_missing(module: str, what: str, optuna: ModuleType,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    space = parse_space("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [a, b]}\n").resolve({})
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError, match=f"^controller 'optuna:botorch' needs {what}, which is not installed; "
                                          r'pip install "autopeft\[bench\]"$'):
        get_controller("optuna:botorch", space, OBJECTIVES)


@pytest.mark.parametrize(("name", "options", "message"), [
    ("optuna:tpe", {"n_startup_trials": 0}, "'n_startup_trials' must be an integer >= 1"),
    ("optuna:tpe", {"population_size": 4}, "has no option 'population_size'; allowed: draws, n_startup_trials"),
    ("optuna:nsga2", {"population_size": 1}, "'population_size' must be an integer >= 2"),
    ("optuna:gp", {"draws": 0}, "'draws' must be an integer >= 1"),
    ("optuna:botorch", {"acquisition": "qei"}, "'acquisition' must be one of qlogehvi, qlognehvi, got 'qei'"),
])
def test_options_are_checked(name: str, options: dict[str, Any], message: str, optuna: ModuleType) -> None:
    if name == "optuna:botorch" and not HAS_BOTORCH:
        pytest.skip("needs optuna-integration and botorch")
    space = parse_space("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [a, b]}\n").resolve({})
    with pytest.raises(ConfigError, match=message):
        make(name, space, **options)


def test_gp_needs_an_optuna_whose_gp_has_several_objectives(optuna: ModuleType,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    space = parse_space("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [a, b]}\n").resolve({})
    monkeypatch.setattr(optuna, "__version__", "4.3.0")
    with pytest.raises(ConfigError, match=r"^controller 'optuna:gp': Optuna 4.3.0's GPSampler has one objective only"):
        make("optuna:gp", space)
    assert get_controller("optuna:gp", space, OBJECTIVES[:1]).name == "optuna:gp"


def test_the_bench_replay_resolves_optuna_names_as_themselves() -> None:
    from autopeft.bench.replay import controller_spec, spec_names

    spec = controller_spec("optuna:tpe")
    assert (spec.name, spec.controller, dict(spec.options)) == ("optuna:tpe", "optuna:tpe", {})
    assert set(NAMES) <= set(spec_names())


# ---- the translation -----------------------------------------------------------------------------------------------
def test_the_optuna_space_of_the_real_spaces(optuna: ModuleType) -> None:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    bench = load_space(ROOT / "spaces" / "peftbench-minilm.yaml").resolve({"encoder": 6})
    tree = translate(bench)
    lora = {"method": "lora", "lora.ranks": {"encoder.2": 0, "encoder.3": 4, "encoder.4": 16, "encoder.5": 4},
            "lora.modules": "qv", "lora.alpha_ratio": 2.0, "lora.learning_rate": 8e-3}
    params = optuna_params(tree, lora)
    assert params == {"method": "lora", "lora.ranks[encoder.2]": 0, "lora.ranks[encoder.3]": 4,
                      "lora.ranks[encoder.4]": 16, "lora.ranks[encoder.5]": 4, "lora.modules": "qv"}
    dists = optuna_distributions(tree, params)
    assert list(dists) == list(params)
    assert dists["method"] == CategoricalDistribution(("lora", "ia3", "ln_tuning", "head_only"))
    assert dists["lora.ranks[encoder.2]"] == CategoricalDistribution((0, 4, 16))
    assert optuna_params(tree, {"method": "head_only", "head_only.learning_rate": 0.04}) == {
        "method": "head_only", "head_only.learning_rate": 0.04}
    methods = load_space(ROOT / "spaces" / "flan-t5-methods.yaml").resolve({"encoder": 8, "decoder": 8})
    tree = translate(methods)
    rng = np.random.default_rng(0)
    seen: dict[str, Any] = {}
    for _ in range(300):
        config = methods.sample(rng)
        params = optuna_params(tree, config)
        seen.update(optuna_distributions(tree, params))
    assert seen["lora.r"] == IntDistribution(1, 64, log=True)
    assert seen["prompt_tuning.num_virtual_tokens"] == IntDistribution(10, 100, step=10)
    assert seen["lora.learning_rate"] == FloatDistribution(1e-4, 3e-3, log=True)
    assert seen["prefix_tuning.projection"] == CategoricalDistribution((False, True))
    layers = load_space(ROOT / "spaces" / "flan-t5-layers.yaml").resolve({"encoder": 8, "decoder": 8})
    config = layers.sample(rng)
    assert "method" not in optuna_params(translate(layers), config)  # a constant is left out, filled by the space


def test_configurations_round_trip_through_optuna_params(real: Space, optuna: ModuleType) -> None:
    tree = translate(real)
    rng = np.random.default_rng(7)
    for _ in range(300):
        config = real.validate(real.sample(rng), fill=False)
        params = optuna_params(tree, config)
        assert from_optuna_params(real, tree, params) == config
        for name, dist in optuna_distributions(tree, params).items():
            assert dist._contains(dist.to_internal_repr(params[name])), (name, params[name])


def test_optunas_own_draws_are_members_and_its_trials_take_our_parameters(real: Space, optuna: ModuleType) -> None:
    """Optuna's random sampler, asked define-by-run, draws members; their parameters are exactly the trial's, and a
    trial made from a member's parameters (as history is added) is accepted by Optuna's own validation."""
    tree = translate(real)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), directions=["maximize", "minimize"])
    for _ in range(100):
        trial = study.ask()
        config = suggest(trial, real, tree)
        assert real.contains(config)
        assert close(optuna_params(tree, config), trial.params)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    rng = np.random.default_rng(3)
    made = []
    for _ in range(50):
        params = optuna_params(tree, real.validate(real.sample(rng), fill=False))
        made.append(optuna.trial.create_trial(params=params, distributions=optuna_distributions(tree, params),
                                              values=[0.5, 2.0]))
    study.add_trials(made)
    assert [t.params for t in study.trials[100:]] == [t.params for t in made]


def test_optuna_parameters_that_do_not_fit_are_config_errors() -> None:
    space = load_space(ROOT / "spaces" / "peftbench-minilm.yaml").resolve({"encoder": 6})
    tree = translate(space)
    good = {"method": "ia3", "ia3.modules": "attention_ffn", "ia3.learning_rate": 0.01}
    assert from_optuna_params(space, tree, good) == good
    with pytest.raises(ConfigError, match="'method': 'dora' is not one of its choices"):
        from_optuna_params(space, tree, {"method": "dora"})
    with pytest.raises(ConfigError, match=r"have no 'ia3\.learning_rate'"):
        from_optuna_params(space, tree, {"method": "ia3", "ia3.modules": "attention_ffn"})
    with pytest.raises(ConfigError, match=r"'lora\.modules' is not active in this configuration"):
        from_optuna_params(space, tree, {**good, "lora.modules": "qv"})
    with pytest.raises(ConfigError, match="'r' is not a parameter of this space"):
        from_optuna_params(space, tree, {**good, "r": 4})


def test_a_space_optuna_cannot_nest_is_a_config_error_naming_the_dimension(optuna: ModuleType) -> None:
    space = parse_space("""
name: s
dimensions:
  - {name: a, type: categorical, choices: [x, y]}
  - {name: b, type: categorical, choices: [u, v]}
  - {name: c, type: integer, low: 1, high: 3, when: {a: x, b: u}}
""").resolve({})
    with pytest.raises(ConfigError, match="dimension 'c': its conditions on 'a' and 'b' cannot be expressed"):
        get_controller("optuna:tpe", space, OBJECTIVES)


# ---- what the study is told ----------------------------------------------------------------------------------------
SMALL = """
name: small
dimensions:
  - {name: method, type: categorical, choices: [lora, ia3]}
  - {name: lora.r, type: categorical, choices: [1, 2, 4, 8], when: {method: lora}}
  - {name: ia3.rate, type: categorical, choices: [0.01, 0.04], when: {method: ia3}}
"""  # 6 members


def small_values(config: Mapping[str, Any]) -> dict[str, float]:
    r = config.get("lora.r", 0)
    return {"accuracy": 0.6 + 0.02 * r, "ece": 0.1 - 0.005 * r, "trainable_params": 1000.0 * (1 + r)}


@pytest.mark.parametrize("name", FAST)
def test_the_study_is_told_the_history_pending_repeats_and_failures(name: str, optuna: ModuleType,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Complete observations go in as COMPLETE trials in trial order (objectives by name, directions from the
    objectives, log10 of the parameter count), failed and incomplete ones not at all, pending ones as RUNNING; a
    draw that repeats a tried configuration is told its known values and is no proposal, every other rejected
    draw is FAIL, and the proposal is left RUNNING."""
    space = parse_space(SMALL, "small.yaml").resolve({})
    tree = translate(space)
    members = list(space.enumerate())
    studies: list[Any] = []
    real_create = optuna.create_study

    def spy(*args: Any, **kwargs: Any) -> Any:
        studies.append(real_create(*args, **kwargs))
        return studies[-1]

    monkeypatch.setattr(optuna, "create_study", spy)
    objectives = [get_objective("trainable_params"), get_objective("ece"), get_objective("accuracy")]
    complete = [Observation(c, small_values(c)) for c in members[:2]]
    history = [complete[0], Observation(members[3], None), complete[1],
               Observation(members[4], {"trainable_params": 10.0})]  # failed; no accuracy
    pending = [members[5]]
    (proposal,) = get_controller(name, space, objectives, seed=0).propose(history, n=1, pending=pending)
    assert proposal == members[2]
    (study,) = studies
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE,
                                optuna.study.StudyDirection.MINIMIZE]  # accuracy, ece, trainable_params
    trials = study.trials
    known = {config_key(o.config): o for o in complete}
    for trial, obs in zip(trials[:2], complete, strict=True):
        assert trial.state == optuna.trial.TrialState.COMPLETE and trial.params == optuna_params(tree, obs.config)
        values = obs.values or {}
        assert trial.values == [values["accuracy"], values["ece"], math.log10(values["trainable_params"])]
    assert trials[2].state == optuna.trial.TrialState.RUNNING and trials[2].params == optuna_params(tree, members[5])
    drawn = trials[3:]
    assert drawn[-1].state == optuna.trial.TrialState.RUNNING and drawn[-1].params == optuna_params(tree, proposal)
    repeats = 0
    for trial in drawn[:-1]:
        config = from_optuna_params(space, tree, trial.params)
        if trial.state == optuna.trial.TrialState.COMPLETE:  # a repeat, told what history says
            obs = known[config_key(config)]
            values = obs.values or {}
            assert trial.values == [values["accuracy"], values["ece"], math.log10(values["trainable_params"])]
            repeats += 1
        else:  # a failed observation, an incomplete one, the pending one
            assert trial.state == optuna.trial.TrialState.FAIL
            assert config_key(config) in {config_key(c) for c in members[3:]}
    assert repeats >= 1 and len(drawn) >= 3


# ---- proposals ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FAST)
def test_proposals_on_the_real_spaces_are_valid_distinct_untried_and_feasible(name: str, real: Space,
                                                                              optuna: ModuleType) -> None:
    check_four_proposals(make(name, real, seed=1), real)


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("size", [5, 30])
def test_proposals_are_a_function_of_seed_and_history(name: str, size: int, real: Space, optuna: ModuleType) -> None:
    history = history_of(real, size)
    controller = make(name, real, seed=5)
    first = controller.propose(history, n=3)
    assert controller.propose(history, n=3) == first
    assert make(name, real, seed=5).propose(history, n=3) == first
    assert make(name, real, seed=6).propose(history, n=3) != first


@pytest.mark.parametrize("name", ["optuna:tpe", "optuna:gp"])
def test_a_proposal_leaves_the_global_generators_and_the_terminal_alone(name: str, optuna: ModuleType,
                                                                        capfd: pytest.CaptureFixture[str]) -> None:
    """Past the startup trials (Optuna's loggers print INFO lines and independent-sampling warnings, and GPSampler
    uses torch): nothing reaches the terminal, no warning escapes, no global generator moves."""
    import torch

    space = load_space(ROOT / "spaces" / "peftbench-minilm.yaml").resolve({"encoder": 6})
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make(name, space, draws=1).propose(history_of(space, 14), n=1)
    assert not caught, [str(w.message) for w in caught]
    assert random.getstate() == states[0]
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), states[1], strict=True))
    assert torch.equal(torch.random.get_rng_state(), states[2])
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_tpe_steered_by_both_objectives_beats_random_search_on_a_known_front(optuna: ModuleType) -> None:
    """test_controllers.py's synthetic problem, 25 trials, 6 seeds: the hypervolume of what TPE found (accuracy up,
    parameters down), on average, beats random search's; seeds are fixed, so the numbers are the same every run."""
    space = parse_space(SYNTHETIC, "synthetic.yaml").resolve({"encoder": 4})
    points = to_minimize([[synthetic_accuracy(c), synthetic_params(c)] for c in space.enumerate()], OBJECTIVES)
    high, low = points.max(axis=0), points.min(axis=0)
    reference = high + 0.05 * (high - low)
    best = hypervolume(points, reference)

    def ratio(name: str, seed: int) -> float:
        controller = get_controller(name, space, OBJECTIVES, seed=seed, known={"trainable_params": synthetic_params})
        history: list[Observation] = []
        for _ in range(25):
            (config,) = controller.propose(history)
            history.append(Observation(config, {"accuracy": synthetic_accuracy(config),
                                                "trainable_params": synthetic_params(config)}))
        found = to_minimize([[o.values["accuracy"], o.values["trainable_params"]] for o in history if o.values],
                            OBJECTIVES)
        return float(hypervolume(found, reference) / best)

    tpe = np.array([ratio("optuna:tpe", s) for s in range(6)])
    uniform = np.array([ratio("random", s) for s in range(6)])
    print(f"\nhypervolume / true front's after 25 trials, seeds 0-5: optuna:tpe {tpe.mean():.3f}, "
          f"random {uniform.mean():.3f}")
    assert tpe.mean() > uniform.mean()


@pytest.mark.skipif(not HAS_BOTORCH, reason='needs pip install "autopeft[bench]"')
def test_botorch_models_with_its_default_qlogehvi_past_its_startup_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    """One proposal in BoTorch's model phase (tens of seconds on a CPU): its default candidates function for two
    objectives, qehvi_candidates_func (qLogEHVI), is called with every complete trial; qlognehvi picks the other."""
    from optuna_integration.botorch import botorch as module

    calls: list[tuple[int, int]] = []
    default = module.qehvi_candidates_func

    def spy(train_x: Any, train_obj: Any, *args: Any) -> Any:
        calls.append((int(train_x.shape[0]), int(train_obj.shape[1])))
        return default(train_x, train_obj, *args)

    monkeypatch.setattr(module, "qehvi_candidates_func", spy)
    space = parse_space(SMALL, "small.yaml").resolve({})
    history = [Observation(c, {k: v for k, v in small_values(c).items() if k != "ece"})
               for c in list(space.enumerate())[:4]]
    controller = get_controller("optuna:botorch", space, OBJECTIVES, seed=0, n_startup_trials=4, draws=1)
    (proposal,) = controller.propose(history)
    assert space.contains(proposal) and config_key(proposal) not in {config_key(o.config) for o in history}
    assert calls and calls[0] == (4, 2)
    with warnings.catch_warnings():  # BoTorchSampler's ExperimentalWarning: _sampler() is called outside a proposal
        warnings.simplefilter("ignore")
        nehvi = get_controller("optuna:botorch", space, OBJECTIVES, acquisition="qlognehvi")._sampler(0)
    assert nehvi._candidates_func is module.qnehvi_candidates_func


# ---- the bench ------------------------------------------------------------------------------------------------------
def test_a_short_bench_replay_on_the_committed_table(optuna: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    from autopeft.cli import main

    table = ROOT / "benchmarks" / "peftbench" / "minilm-tweets.csv"
    code = main(["bench", "--table", str(table), "--controller", "optuna:tpe", "--budget", "10", "--seeds", "1"])
    text = capsys.readouterr().out
    assert code == 0 and "optuna:tpe" in text, text


@pytest.mark.parametrize("name", FAST)
def test_a_replay_is_deterministic(name: str, optuna: ModuleType) -> None:
    from autopeft.bench.replay import replay
    from autopeft.bench.table import load_table, objectives_from

    table = load_table(ROOT / "benchmarks" / "peftbench" / "minilm-tweets.csv")
    objectives = objectives_from(["accuracy", "trainable_params"])
    run = replay(table, name, budget=12, seed=0, objectives=objectives)
    assert run.strategy == name and len({config_key(c) for c in run.configs}) == 12
    assert np.all(np.diff(run.hypervolume) >= 0) and 0.0 < run.ratio[-1] <= 1.0
    again = replay(table, name, budget=12, seed=0, objectives=objectives)
    assert [config_key(c) for c in again.configs] == [config_key(c) for c in run.configs]
