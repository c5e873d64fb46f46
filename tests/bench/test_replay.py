"""Replays: determinism, budgets, monotone curves that end at the exhaustive hypervolume, multi-fidelity."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from autopeft.bench.multifidelity import MultiFidelity, cost_ratio, fidelity_correlation, replay_high, replay_promotion
from autopeft.bench.replay import controller_spec, replay, spec_names
from autopeft.bench.table import Table, TableError, load_table, objectives_from, sidecar_path
from autopeft.errors import ConfigError
from autopeft.trial import config_key

OBJECTIVES = objectives_from(["accuracy", "trainable_params"])


def test_controller_names_cover_the_registry_and_each_surrogate() -> None:
    assert {"random", "bo", "evolution", "bo:gp", "bo:forest"} <= set(spec_names())
    assert dict(controller_spec("bo:gp").options) == {"surrogate": "gp"}
    with pytest.raises(ConfigError, match="unknown controller 'bo:svm'; allowed: bo, bo:forest"):
        controller_spec("bo:svm")


def test_a_warm_spec_keeps_its_base_options_and_adds_the_prior() -> None:
    base = controller_spec("bo:forest")
    prior = object()
    warm = base.warm(prior)
    assert (warm.name, warm.controller) == ("warm:bo:forest", "bo")
    assert dict(warm.options) == {"surrogate": "forest", "prior": prior}
    named = base.warm(prior, "warm:bo stacked", prior_std="stacked")
    assert named.name == "warm:bo stacked" and named.options["prior_std"] == "stacked"
    assert dict(base.options) == {"surrogate": "forest"}  # the base spec is left as it was


@pytest.mark.parametrize("name", ["random", "evolution", "bo:forest"])
def test_a_replay_is_a_function_of_its_seed(table: Table, name: str) -> None:
    a = replay(table, name, budget=14, seed=3, objectives=OBJECTIVES)
    b = replay(table, name, budget=14, seed=3, objectives=OBJECTIVES)
    c = replay(table, name, budget=14, seed=4, objectives=OBJECTIVES)
    assert [config_key(x) for x in a.configs] == [config_key(x) for x in b.configs]
    assert a.ratio.tolist() == b.ratio.tolist()
    assert [config_key(x) for x in a.configs] != [config_key(x) for x in c.configs]
    unbuildable = {config_key(x) for x in table.unbuildable(30)}  # known objective raises ConfigError: infeasible
    assert not unbuildable & {config_key(x) for x in a.configs + c.configs}


def test_random_search_climbs_to_exactly_the_exhaustive_hypervolume(table: Table) -> None:
    size = len(table.configs(30))
    run = replay(table, "random", budget=size, seed=0, objectives=OBJECTIVES)
    assert len({config_key(c) for c in run.configs}) == size  # every answerable member once, never the others
    assert not {config_key(c) for c in run.configs} & {config_key(c) for c in table.unbuildable(30)}
    assert np.all(np.diff(run.hypervolume) >= 0)
    _, _, exhaustive = table.front(30, OBJECTIVES)
    assert run.hypervolume[-1] == exhaustive  # the same points, so exactly (no tolerance)
    assert run.ratio[-1] == 1.0
    # brute force, trial by trial: the ratio is the hypervolume of the seed means of the trials so far
    for k in (1, 7, 40):
        assert run.hypervolume[k - 1] == pytest.approx(table.hypervolume(run.configs[:k], 30, OBJECTIVES))


def test_a_budget_larger_than_the_table_is_refused(table: Table) -> None:
    with pytest.raises(TableError, match="budget 251 is larger than the table: 'synthetic' has 250 configurations "
                                         "a controller can be answered for at 30 steps, plus 3 that do not build"):
        replay(table, "random", budget=251, seed=0, objectives=OBJECTIVES)
    with pytest.raises(ConfigError, match="--budget must be an integer >= 1"):
        replay(table, "random", budget=0, seed=0, objectives=OBJECTIVES)
    with pytest.raises(TableError, match="has no rows at 45 steps; allowed: 30, 60"):
        replay(table, "random", budget=5, seed=0, objectives=OBJECTIVES, fidelity=45)


def test_a_controller_asking_for_a_missing_configuration_is_told_which(synthetic_csv: Path, tmp_path: Path) -> None:
    dst = tmp_path / synthetic_csv.name
    shutil.copy(sidecar_path(synthetic_csv), sidecar_path(dst))
    with synthetic_csv.open(newline="") as f:
        rows = list(csv.reader(f))
    method = rows[0].index("method")
    rows = [rows[0]] + [r for r in rows[1:] if r[method] != "head_only"]  # both head-only members are gone
    with dst.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    table = load_table(dst)
    with pytest.raises(TableError, match=r"controller 'random' \(seed 0, trial \d+\).*has no row for configuration "
                                         r"\{\"head_only.learning_rate\":0.0[14],\"method\":\"head_only\"\}"):
        replay(table, "random", budget=len(table.configs(30)), seed=0, objectives=OBJECTIVES)


def test_the_search_sees_one_seed_of_noise(table: Table) -> None:
    """Answers are single training seeds' rows (the table's noise), not the seed means the score uses."""
    from autopeft.bench.engine import TableEngine
    from autopeft.bench.replay import noise_generator
    from autopeft.study.engines import Job
    from autopeft.trial import Fidelity

    config = table.configs(30)[10]
    rows = [r.metrics["accuracy"] for r in table.entry(config, 30).rows]
    draws = set()
    for s in range(12):
        engine = TableEngine(table, noise_generator(s))
        engine.submit(Job(1, config, Fidelity(steps=30), seed=0))
        done = engine.wait()
        assert done.number == 1 and done.result.ok and done.result.trainable_params == table.trainable_params(config)
        draws.add(done.result.metrics["accuracy"])
    assert draws == set(rows)


# ---- multi-fidelity --------------------------------------------------------------------------------------------
def test_the_two_fidelity_setting(table: Table) -> None:
    mf = MultiFidelity(table, OBJECTIVES)
    assert (mf.low, mf.high) == (30, 60)
    assert len(mf.paired) == len({config_key(c) for c in mf.paired}) == 70  # every 4th member and the 10 others
    assert mf.cost == pytest.approx((0.21 * 60 + 2.9) / (0.21 * 30 + 2.9))
    assert cost_ratio(table, 30, 60) == mf.cost
    assert 0.5 < mf.correlation() < 1.0
    assert mf.exhaustive == pytest.approx(table.hypervolume(mf.paired, 60, OBJECTIVES))


@pytest.mark.parametrize("strategy", [replay_promotion, replay_high])
def test_multi_fidelity_replays_stay_in_the_subset_and_budget(table: Table, strategy: object) -> None:
    mf = MultiFidelity(table, OBJECTIVES)
    run = strategy(mf, "random", budget=40, seed=1)  # type: ignore[operator]
    again = strategy(mf, "random", budget=40, seed=1)  # type: ignore[operator]
    assert run.ratio.shape == (40,) and run.ratio.tolist() == again.ratio.tolist()
    assert np.all(np.diff(run.ratio) >= 0) and run.ratio[-1] <= 1.0 + 1e-12
    assert {config_key(c) for c in run.configs} <= mf.keys


def test_promotion_ends_at_the_subset_front_given_budget_for_everything(table: Table) -> None:
    mf = MultiFidelity(table, OBJECTIVES)
    run = replay_high(mf, "random", budget=200, seed=0)  # 50 configurations x 1.6 < 200
    assert run.ratio[-1] == pytest.approx(1.0)
    assert len(run.configs) == len(mf.paired)
    promoted = replay_promotion(mf, "random", budget=400, seed=0, eta=2)
    assert len(promoted.configs) == len(mf.paired)  # every low trial, half promoted, then it stops
    with pytest.raises(ConfigError, match="eta must be an integer >= 2"):
        replay_promotion(mf, "random", budget=10, seed=0, eta=1)


def test_one_fidelity_is_no_multi_fidelity_setting(synthetic_csv: Path, tmp_path: Path) -> None:
    from tests.bench import synthetic

    table = load_table(synthetic.write(tmp_path, high=None))
    with pytest.raises(TableError, match="has one fidelity"):
        MultiFidelity(table, OBJECTIVES)


def test_spearman_matches_hand_computed_values() -> None:
    # ranks (1, 2, 3, 4, 5) and (1, 2, 3.5, 5, 3.5): covariance 8, variances 10 and 9.5
    assert fidelity_correlation([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(8 / np.sqrt(95))
    assert fidelity_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(fidelity_correlation([1, 2], [1, 2]))
    assert np.isnan(fidelity_correlation([1, 1, 1], [1, 2, 3]))
