"""The sharp reference point against closed forms and brute force, and replays scored against it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from autopeft.bench.reference import SHARP_PARAMS_FACTOR, reference_for, sharp_point
from autopeft.bench.replay import replay
from autopeft.bench.table import Table
from autopeft.errors import ConfigError
from autopeft.objectives import get_objective, reference_point, to_minimize
from autopeft.pareto import pareto_mask
from tests.bench.synthetic import OBJECTIVES

MAJORITY = 0.62


@pytest.fixture(scope="module")
def sharp_table(table: Table) -> Table:
    meta = dataclasses.replace(table.meta, info={**table.meta.info, "majority_accuracy": MAJORITY})
    return dataclasses.replace(table, meta=meta)


def test_the_sharp_point_is_majority_accuracy_and_a_tenth_above_the_largest_adapter() -> None:
    point = sharp_point(OBJECTIVES, majority=0.43, largest_params=2e5)
    assert point.tolist() == pytest.approx([-0.43, math.log10(SHARP_PARAMS_FACTOR * 2e5)])
    ece = sharp_point([get_objective("ece"), get_objective("trainable_params")], majority=0.5, largest_params=10)
    assert ece[0] == get_objective("ece").worst  # other objectives keep their stated worst value


def test_the_tables_sharp_point(sharp_table: Table) -> None:
    largest = max(sharp_table.trainable_params(c) for f in sharp_table.fidelities for c in sharp_table.configs(f))
    point = reference_for(sharp_table, OBJECTIVES, "sharp")
    assert point.tolist() == pytest.approx([-MAJORITY, math.log10(1.1 * largest)])
    assert reference_for(sharp_table, OBJECTIVES).tolist() == reference_point(OBJECTIVES,
                                                                               sharp_table.total_params).tolist()


def test_the_exhaustive_sharp_hypervolume_by_brute_force(sharp_table: Table) -> None:
    """Only what beats the majority class counts: a grid count of the dominated area agrees with the front's."""
    steps = sharp_table.main_fidelity
    ref = reference_for(sharp_table, OBJECTIVES, "sharp")
    _, _, hv = sharp_table.front(steps, OBJECTIVES, reference=ref)
    points = to_minimize(sharp_table.points(sharp_table.configs(steps), steps, OBJECTIVES), OBJECTIVES)
    inside = points[(points < ref).all(axis=1)]
    front = inside[pareto_mask(inside)]
    lo = front.min(axis=0)
    n = 400
    xs = lo[0] + (ref[0] - lo[0]) * (np.arange(n) + 0.5) / n
    ys = lo[1] + (ref[1] - lo[1]) * (np.arange(n) + 0.5) / n
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    covered = np.zeros_like(gx, dtype=bool)
    for p in front:
        covered |= (gx >= p[0]) & (gy >= p[1])
    brute = covered.mean() * (ref[0] - lo[0]) * (ref[1] - lo[1])
    assert hv == pytest.approx(brute, rel=0.02)
    assert hv < sharp_table.front(steps, OBJECTIVES)[2]  # a smaller box than the stated one


def test_replays_are_sharper_against_the_sharp_point(sharp_table: Table) -> None:
    stated = replay(sharp_table, "random", budget=10, seed=3, objectives=OBJECTIVES)
    sharp = replay(sharp_table, "random", budget=10, seed=3, objectives=OBJECTIVES, reference="sharp")
    assert stated.configs == sharp.configs  # the same search, only scored differently
    assert np.all(np.diff(sharp.ratio) >= -1e-12) and sharp.ratio[-1] <= 1 + 1e-9
    assert sharp.ratio[-1] < stated.ratio[-1]  # further from the front: the score spreads out


def test_a_table_without_a_majority_accuracy_has_no_sharp_point(table: Table) -> None:
    with pytest.raises(ConfigError, match="states no majority_accuracy"):
        reference_for(table, OBJECTIVES, "sharp")
    with pytest.raises(ConfigError, match="unknown reference 'blunt'; allowed: stated, sharp"):
        reference_for(table, OBJECTIVES, "blunt")


def test_compare_scores_against_the_sharp_point(sharp_table: Table) -> None:
    from autopeft.bench.compare import compare

    result = compare(sharp_table, ["random"], budget=8, seeds=2, objectives=OBJECTIVES, reference="sharp")
    (summary,) = result.summaries
    ref = reference_for(sharp_table, OBJECTIVES, "sharp")
    assert result.single_info()["hypervolume"] == sharp_table.front(sharp_table.main_fidelity, OBJECTIVES,
                                                                     reference=ref)[2]
    assert result.to_dict()["reference"] == "sharp" and "sharp reference point" in result.text().splitlines()[0]
    assert all(r.ratio[-1] <= 1 + 1e-9 for r in summary.runs)


def test_multi_fidelity_replays_score_against_the_sharp_point_too(sharp_table: Table) -> None:
    """The same searches as against the stated point; the target is the paired subset's sharp front."""
    from autopeft.bench.compare import compare
    from autopeft.bench.multifidelity import MultiFidelity

    names = ["mf:random", "high:random"]
    stated = compare(sharp_table, names, budget=12, seeds=2, objectives=OBJECTIVES)
    sharp = compare(sharp_table, names, budget=12, seeds=2, objectives=OBJECTIVES, reference="sharp")
    for a, b in zip(stated.summaries, sharp.summaries, strict=True):
        assert [r.configs for r in a.runs] == [r.configs for r in b.runs]
        for r in b.runs:
            assert np.all(np.diff(r.ratio) >= -1e-12) and r.ratio[-1] <= 1 + 1e-9
    mf = MultiFidelity(sharp_table, OBJECTIVES, reference="sharp")
    ref = reference_for(sharp_table, OBJECTIVES, "sharp")
    assert mf.reference_point.tolist() == ref.tolist()
    points = to_minimize(sharp_table.points(mf.paired, mf.high, OBJECTIVES), OBJECTIVES)
    inside = points[(points < ref).all(axis=1)]
    front = inside[pareto_mask(inside)]
    front = front[np.argsort(front[:, 0])]  # two objectives: the area as a sum of slabs
    area = sum((ref[1] - p[1]) * ((front[i + 1, 0] if i + 1 < len(front) else ref[0]) - p[0])
               for i, p in enumerate(front))
    assert mf.exhaustive == pytest.approx(area)
    assert mf.exhaustive < MultiFidelity(sharp_table, OBJECTIVES).exhaustive


def test_the_command_line_names_a_table_without_a_sharp_point(synthetic_csv: object,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from autopeft.cli import main

    code = main(["bench", "--table", str(synthetic_csv), "--controller", "random", "--budget", "5", "--seeds", "1",
                 "--reference", "sharp"])
    err = capsys.readouterr().err
    assert code == 2 and "states no majority_accuracy" in err and len(err.strip().splitlines()) == 1
