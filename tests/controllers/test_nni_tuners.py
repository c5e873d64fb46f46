"""NNI's own tuners as controllers (``nni:TPE``, ``nni:Evolution``, ``nni:Anneal``, ``nni:Random``): the space
translation and its inverse on the real spaces, valid and deterministic proposals, a condition NNI cannot express,
a missing NNI, the registry's names and message, TPE against random search, and a replay on the committed table.

The contract every controller obeys (members, pending, failures, constraints, exhaustion) is checked for these
four too, by tests/controllers/test_controllers.py, which runs over every registered name.
"""

from __future__ import annotations

import importlib.util
import math
import random
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autopeft.controllers import Controller, Observation, controller_names, get_controller
from autopeft.controllers.nni_space import from_nni_params, to_nni_params, to_nni_space
from autopeft.errors import ConfigError
from autopeft.objectives import get_objective
from autopeft.space import Space, load_space, parse_space
from autopeft.space.dimensions import CategoricalSpec, Condition, IntegerSpec
from autopeft.space.spec import SpaceSpec
from autopeft.trial import config_key

ROOT = Path(__file__).resolve().parents[2]
HAS_NNI = importlib.util.find_spec("nni") is not None
HAS_HYPEROPT = importlib.util.find_spec("hyperopt") is not None
needs_nni = pytest.mark.skipif(not HAS_NNI, reason='nni is not installed (pip install "autopeft[nni]")')
TUNERS = ["nni:TPE", "nni:Evolution",
          pytest.param("nni:Anneal", marks=pytest.mark.skipif(not HAS_HYPEROPT, reason="hyperopt is not installed")),
          "nni:Random"]
OBJECTIVES = [get_objective("accuracy"), get_objective("trainable_params")]

#: the real spaces, each bound to a model layout: MiniLM-L6 (6 encoder blocks), FLAN-T5-small (8 + 8)
LAYOUTS = {"minilm-layers": {"encoder": 6}, "peftbench-minilm": {"encoder": 6},
           "flan-t5-layers": {"encoder": 8, "decoder": 8}, "flan-t5-methods": {"encoder": 8, "decoder": 8}}


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def real(request: pytest.FixtureRequest) -> Space:
    return load_space(ROOT / "spaces" / f"{request.param}.yaml").resolve(LAYOUTS[request.param])


def params_of(config: Mapping[str, Any]) -> float:
    """A parameter count that, like the real one, does not build a LoRA with every block off."""
    ranks = config.get("lora.ranks")
    if ranks is not None and not any(ranks.values()):
        raise ConfigError("option 'lora.ranks': every rank is 0, so no block is adapted")
    return 100.0 + float(sum(ranks.values())) if ranks else 50.0


def accuracy_of(config: Mapping[str, Any]) -> float:
    rates = [v for k, v in config.items() if k.endswith("learning_rate")]
    return 0.5 + 0.1 * len(config) / 10 - (0.05 * abs(math.log10(rates[0]) + 2.5) if rates else 0.0)


def history_of(space: Space, n: int, seed: int = 0) -> list[Observation]:
    rng = np.random.default_rng(seed)
    out: list[Observation] = []
    keys: set[str] = set()
    while len(out) < n:
        config = space.sample(rng)
        if config_key(config) in keys:
            continue
        keys.add(config_key(config))
        try:
            out.append(Observation(config, {"accuracy": accuracy_of(config), "trainable_params": params_of(config)}))
        except ConfigError:
            out.append(Observation(config, None))  # it did not build: a failed trial
    return out


def make(name: str, space: Space, seed: int = 0, **options: Any) -> Controller:
    return get_controller(name, space, OBJECTIVES, seed=seed, known={"trainable_params": params_of}, **options)


def close(a: Any, b: Any) -> bool:
    """Equal, numbers to 1e-12 whatever their type (NNI keeps a log range as its logarithm, so exp(log(x)) may be
    one rounding off, and draws an integer of a q-range as a float); a bool or a string only equals its like."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return type(a) is type(b) and a == b
    return math.isclose(float(a), float(b), rel_tol=1e-12)


# ---- the registry ------------------------------------------------------------------------------------------------
def test_the_four_are_registered_and_importing_the_controllers_imports_no_nni() -> None:
    assert {"nni:TPE", "nni:Evolution", "nni:Anneal", "nni:Random"} <= set(controller_names())
    code = "import sys, autopeft.controllers; sys.exit(1 if 'nni' in sys.modules else 0)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_unknown_nni_tuner_lists_the_offered_ones(real: Space) -> None:
    with pytest.raises(ConfigError) as info:
        get_controller("nni:Foo", real, OBJECTIVES)
    message = str(info.value)
    assert message.startswith("unknown NNI tuner 'nni:Foo'; allowed: nni:Anneal, nni:Evolution, nni:Random, nni:TPE "
                              "(GP, Metis, Hyperband and BOHB are not offered: ")
    assert "\n" not in message
    with pytest.raises(ConfigError, match="unknown controller 'nope'; allowed: bo, evolution, nni:Anneal"):
        get_controller("nope", real, OBJECTIVES)


@pytest.mark.parametrize("name", ["nni:TPE", "nni:Evolution", "nni:Anneal", "nni:Random"])
def test_without_nni_building_one_is_a_one_line_config_error(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    space = parse_space("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [a, b]}\n").resolve({})
    monkeypatch.setitem(sys.modules, "nni", None)  # `import nni` now fails as if it were not installed
    with pytest.raises(ConfigError) as info:
        get_controller(name, space, OBJECTIVES)
    message = str(info.value)
    assert 'pip install "autopeft[nni]"' in message and "\n" not in message
    assert message.startswith(f"controller {name!r} needs NNI")


@needs_nni
def test_without_hyperopt_anneal_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    space = parse_space("name: s\ndimensions:\n  - {name: m, type: categorical, choices: [a, b]}\n").resolve({})
    monkeypatch.setitem(sys.modules, "hyperopt", None)
    with pytest.raises(ConfigError, match=r'needs hyperopt >= 0.3 .* pip install "hyperopt>=0.3"'):
        get_controller("nni:Anneal", space, OBJECTIVES)


@needs_nni
@pytest.mark.parametrize(("name", "options", "message"), [
    ("nni:TPE", {"n_startup_jobs": 0}, "'n_startup_jobs' must be an integer >= 1"),
    ("nni:Evolution", {"population_size": 1}, "'population_size' must be an integer >= 2"),
    ("nni:Random", {"population_size": 4}, "has no option 'population_size'; allowed: none"),
])
def test_options_are_checked(name: str, options: dict[str, Any], message: str, real: Space) -> None:
    with pytest.raises(ConfigError, match=message):
        make(name, real, **options)


def test_the_bench_replay_resolves_nni_names_as_themselves() -> None:
    from autopeft.bench.replay import controller_spec, spec_names

    spec = controller_spec("nni:TPE")
    assert (spec.name, spec.controller, dict(spec.options)) == ("nni:TPE", "nni:TPE", {})
    assert {"nni:TPE", "nni:Evolution", "nni:Anneal", "nni:Random"} <= set(spec_names())


# ---- the translation -----------------------------------------------------------------------------------------------
def test_the_nni_space_of_a_real_space() -> None:
    space = load_space(ROOT / "spaces" / "minilm-layers.yaml").resolve({"encoder": 6})
    nni_space = to_nni_space(space)
    assert list(nni_space) == ["method"]  # every other dimension is conditional on it
    branches = {b["_name"]: b for b in nni_space["method"]["_value"]}
    assert nni_space["method"]["_type"] == "choice" and list(branches) == ["lora", "ia3", "ln_tuning", "bitfit",
                                                                           "head_only"]
    lora = branches["lora"]
    assert [k for k in lora if k.startswith("lora.ranks")] == [f"lora.ranks[encoder.{i}]" for i in range(6)]
    assert lora["lora.ranks[encoder.0]"] == {"_type": "choice", "_value": [0, 2, 4, 8, 16]}
    assert lora["lora.learning_rate"] == {"_type": "loguniform", "_value": [1e-4, 1e-2]}
    assert branches["head_only"] == {"_name": "head_only",
                                     "head_only.learning_rate": {"_type": "loguniform", "_value": [1e-3, 1e-1]}}
    methods = load_space(ROOT / "spaces" / "flan-t5-methods.yaml").resolve({"encoder": 8, "decoder": 8})
    t5 = {b["_name"]: b for b in to_nni_space(methods)["method"]["_value"]}
    assert t5["lora"]["lora.r"] == {"_type": "qloguniform", "_value": [1, 64, 1]}
    assert t5["prompt_tuning"]["prompt_tuning.num_virtual_tokens"] == {"_type": "quniform", "_value": [10, 100, 10]}
    layers = load_space(ROOT / "spaces" / "flan-t5-layers.yaml").resolve({"encoder": 8, "decoder": 8})
    assert "method" not in to_nni_space(layers)  # a constant is left out and filled in by the space


def test_integers_and_conditions_translate_exactly() -> None:
    """randint's upper bound is exclusive; an offset step grid is a choice; a child of several parent values is
    repeated in each branch; a condition on a constant is the constant's; a conjunction down one nesting works."""
    space = parse_space("""
name: s
dimensions:
  - {name: method, type: categorical, choices: [lora, dora, ia3]}
  - {name: kind, type: categorical, choices: [a, b], when: {method: [lora, dora]}}
  - {name: r, type: integer, low: 1, high: 4, when: {method: [lora, dora]}}
  - {name: odd, type: integer, low: 1, high: 7, step: 2, when: {kind: b, method: dora}}
  - {name: fixed, type: constant, value: 3, when: {method: ia3}}
  - {name: depth, type: integer, low: 2, high: 3, when: {fixed: 3}}
  - {name: one, type: float, low: 0.5, high: 0.5}
""").resolve({})
    nni_space = to_nni_space(space)
    lora, dora, ia3 = nni_space["method"]["_value"]
    assert lora["r"] == dora["r"] == {"_type": "randint", "_value": [1, 5]}
    assert "odd" not in lora["kind"]["_value"][1] and "odd" not in dora["kind"]["_value"][0]
    assert dora["kind"]["_value"][1]["odd"] == {"_type": "choice", "_value": [1, 3, 5, 7]}
    assert ia3 == {"_name": "ia3", "depth": {"_type": "randint", "_value": [2, 4]}}
    assert "one" not in nni_space
    members = list(space.enumerate())
    assert len(members) == space.cardinality() == 2 * 4 + 4 * (1 + 4) + 2  # lora, dora (kind a, kind b), ia3
    for config in members:
        params = to_nni_params(space, config)
        assert from_nni_params(space, params) == config
    assert from_nni_params(space, {"method": {"_name": "dora", "kind": {"_name": "b", "odd": 5}, "r": 4}}) == {
        "method": "dora", "kind": "b", "r": 4, "odd": 5, "one": 0.5}


def test_nni_parameters_that_do_not_fit_are_config_errors() -> None:
    space = load_space(ROOT / "spaces" / "peftbench-minilm.yaml").resolve({"encoder": 6})
    good = to_nni_params(space, {"method": "ia3", "ia3.modules": "attention_ffn", "ia3.learning_rate": 0.01})
    assert good == {"method": {"_name": "ia3", "ia3.modules": "attention_ffn", "ia3.learning_rate": 0.01}}
    with pytest.raises(ConfigError, match="'method': 'dora' is not one of its choices"):
        from_nni_params(space, {"method": {"_name": "dora"}})
    with pytest.raises(ConfigError, match=r"have no 'ia3\.learning_rate'"):
        from_nni_params(space, {"method": {"_name": "ia3", "ia3.modules": "attention_ffn"}})
    with pytest.raises(ConfigError, match=r"'lora\.modules' is not a parameter of this space here"):
        from_nni_params(space, {"method": {**good["method"], "lora.modules": "qv"}})


@pytest.mark.parametrize(("text", "dimension", "why"), [
    ("""
  - {name: a, type: categorical, choices: [x, y]}
  - {name: b, type: categorical, choices: [u, v]}
  - {name: c, type: integer, low: 1, high: 3, when: {a: x, b: u}}
""", "c", "its conditions on 'a' and 'b' cannot be expressed"),
    ("""
  - {name: flag, type: categorical, choices: [0, false]}
""", "flag", "its choices 0 and False are equal to NNI"),
], ids=["independent-parents", "equal-choices"])
def test_a_space_nni_cannot_express_is_a_config_error_naming_the_dimension(text: str, dimension: str,
                                                                             why: str) -> None:
    space = parse_space("name: s\ndimensions:" + text).resolve({})
    with pytest.raises(ConfigError, match=f"dimension '{dimension}'.*{why}"):
        to_nni_space(space)
    if HAS_NNI:
        with pytest.raises(ConfigError, match=f"dimension '{dimension}'"):
            get_controller("nni:TPE", space, OBJECTIVES)


def test_a_condition_on_a_range_is_a_config_error() -> None:
    """Space files allow conditions on categorical and constant dimensions only; a space built in code may not."""
    dims = (IntegerSpec(name="n", low=1, high=3),
            CategoricalSpec(name="c", choices=("a", "b"), when=(Condition("n", (1,)),)))
    space = Space(SpaceSpec("<code>", "coded", dims), {}, dims)
    with pytest.raises(ConfigError, match=r"dimension 'c': its condition on 'n' \(type integer\) cannot be "
                                          "expressed in NNI's search space"):
        to_nni_space(space)


def test_configurations_round_trip_through_nni_parameters(real: Space) -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        config = real.validate(real.sample(rng), fill=False)
        params = to_nni_params(real, config)
        assert from_nni_params(real, params) == config


@needs_nni
def test_nni_reads_the_parameters_as_they_were_written_and_its_draws_come_back(real: Space) -> None:
    """NNI's own formatting turns our parameters into its internal form and back unchanged; the random tuner's
    draws from the translated space are members, and their parameters are exactly what NNI drew."""
    from nni.algorithms.hpo.random_tuner import RandomTuner
    from nni.common.hpo_utils import deformat_parameters, format_parameters, format_search_space

    formatted = format_search_space(to_nni_space(real))
    rng = np.random.default_rng(3)
    for _ in range(100):
        config = real.validate(real.sample(rng), fill=False)
        params = to_nni_params(real, config)
        again = deformat_parameters(format_parameters(params, formatted), formatted)
        assert close(from_nni_params(real, again), config)
    tuner = RandomTuner(seed=0)
    tuner.update_search_space(to_nni_space(real))
    for i in range(100):
        drawn = tuner.generate_parameters(i)
        config = from_nni_params(real, drawn)
        assert real.contains(config)
        assert close(to_nni_params(real, config), drawn)


# ---- proposals -----------------------------------------------------------------------------------------------------
@needs_nni
@pytest.mark.parametrize("name", TUNERS)
def test_each_tuner_proposes_valid_distinct_untried_members_of_the_real_spaces(name: str, real: Space) -> None:
    check_four_proposals(make(name, real, seed=1), real)


def check_four_proposals(controller: Controller, space: Space) -> None:
    """Four proposals after 25 observed and 2 pending members of ``space``: members, distinct, untried, not
    pending, feasible (none has every LoRA block off). The NNI and the Optuna controllers share this check."""
    history = history_of(space, 25)
    pending = [o.config for o in history_of(space, 2, seed=99)]
    proposals = controller.propose(history, n=4, pending=pending)
    assert len(proposals) == 4 and all(space.contains(c) for c in proposals)
    keys = [config_key(c) for c in proposals]
    assert len(set(keys)) == 4
    assert not set(keys) & ({config_key(o.config) for o in history} | {config_key(c) for c in pending})
    assert all(controller.feasible(c) for c in proposals)


@needs_nni
@pytest.mark.parametrize("name", TUNERS)
@pytest.mark.parametrize("size", [5, 30])
def test_proposals_are_a_function_of_seed_and_history(name: str, size: int, real: Space) -> None:
    """Past its random start (20 trials) TPE may settle on the same picks from any seed: only a short history
    must give different proposals for a different seed."""
    history = history_of(real, size)
    controller = make(name, real, seed=5)
    first = controller.propose(history, n=3)
    assert controller.propose(history, n=3) == first
    assert make(name, real, seed=5).propose(history, n=3) == first
    if size < 20:
        assert make(name, real, seed=6).propose(history, n=3) != first


@needs_nni
@pytest.mark.parametrize("name", TUNERS)
def test_a_proposal_leaves_the_global_generators_and_the_terminal_alone(name: str, real: Space,
                                                                        capfd: pytest.CaptureFixture[str]) -> None:
    random.seed(11)
    np.random.seed(11)
    py_state, np_state = random.getstate(), np.random.get_state()
    make(name, real).propose(history_of(real, 22), n=2)
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(after, np_state, strict=True))
    out, _ = capfd.readouterr()
    assert out == ""  # NNI's INFO lines ("Using random seed ...") stay off stdout


@needs_nni
def test_the_tuner_optimises_the_score_objective_whatever_the_order(real: Space) -> None:
    history = history_of(real, 25)
    a = make("nni:TPE", real, seed=2)
    b = get_controller("nni:TPE", real, OBJECTIVES[::-1], seed=2, known={"trainable_params": params_of})
    assert a.target.name == b.target.name == "accuracy" and a.mode == "maximize"
    assert a.propose(history, n=2) == b.propose(history, n=2)


SYNTHETIC = """
name: synthetic
dimensions:
  - {name: method, type: categorical, choices: [lora, ia3, bitfit]}
  - {name: lora.r, type: integer, low: 1, high: 64, log: true, when: {method: lora}}
  - {name: lora.modules, type: categorical, choices: [q, qv, qkvo], when: {method: lora}}
  - {name: ia3.layers, type: integer, low: 1, high: 6, when: {method: ia3}}
  - {name: learning_rate, type: float, low: 1.0e-5, high: 1.0e-1, log: true}
"""


def synthetic_accuracy(config: Mapping[str, Any]) -> float:
    """A learning-rate optimum at 1e-3, LoRA better with rank and modules, IA3 best at 4 layers."""
    value = 0.9 - 0.08 * (math.log10(config["learning_rate"]) + 3) ** 2
    if config["method"] == "lora":
        value += 0.05 * math.log2(config["lora.r"]) / 6 + {"q": 0.0, "qv": 0.02, "qkvo": 0.03}[config["lora.modules"]]
    elif config["method"] == "ia3":
        value -= 0.01 * abs(config["ia3.layers"] - 4)
    else:
        value -= 0.05
    return value


@needs_nni
def test_tpe_beats_or_matches_random_search_on_a_synthetic_problem() -> None:
    """One objective, 30 trials, 8 seeds: the best accuracy found, on average, is at least random search's."""
    space = parse_space(SYNTHETIC, "synthetic.yaml").resolve({})
    accuracy = [get_objective("accuracy")]

    def best(name: str, seed: int) -> float:
        controller = get_controller(name, space, accuracy, seed=seed)
        history: list[Observation] = []
        for _ in range(30):
            config = controller.propose(history)[0]
            history.append(Observation(config, {"accuracy": synthetic_accuracy(config)}))
        return max(o.values["accuracy"] for o in history if o.values is not None)

    tpe = np.array([best("nni:TPE", s) for s in range(8)])
    uniform = np.array([best("random", s) for s in range(8)])
    print(f"\nbest accuracy after 30 trials, seeds 0-7: nni:TPE {tpe.mean():.4f}, random {uniform.mean():.4f}")
    assert tpe.mean() >= uniform.mean()


@needs_nni
@pytest.mark.parametrize("name", TUNERS)
def test_a_short_replay_on_the_committed_table(name: str) -> None:
    from autopeft.bench.replay import replay
    from autopeft.bench.table import load_table, objectives_from

    table = load_table(ROOT / "benchmarks" / "peftbench" / "minilm-tweets.csv")
    objectives = objectives_from(["accuracy", "trainable_params"])
    run = replay(table, name, budget=6, seed=0, objectives=objectives)
    assert run.strategy == name and len({config_key(c) for c in run.configs}) == 6
    assert np.all(np.diff(run.hypervolume) >= 0) and 0.0 < run.ratio[-1] <= 1.0
    again = replay(table, name, budget=6, seed=0, objectives=objectives)
    assert [config_key(c) for c in again.configs] == [config_key(c) for c in run.configs]
