"""Early stopping (``search.prune``): the bars against a hand-computed case, a job stopped by its bar in both local
engines (journaled ``pruned`` with its partial curve), and the objectives it is refused for."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopeft.errors import ConfigError
from autopeft.objectives import objectives_of
from autopeft.study.context import SearchContext, make_context
from autopeft.study.engines import Job
from autopeft.study.journal import Journal
from autopeft.study.pruning import MIN_TRIALS, check_prune, may_stop, stop_bars
from autopeft.study.recipe import load_recipe
from autopeft.trial import Fidelity, TrialResult


def finished(journal: Journal, params: int, curve: tuple[tuple[float, float], ...], steps: int = 10) -> None:
    fidelity = Fidelity(steps=steps)
    trial = journal.add_trial({"method": "lora", "p": params, "n": len(journal.trials())}, fidelity, seed=0,
                              origin="bo")
    journal.start(trial.number)
    journal.finish(trial.number, TrialResult(config=trial.config, fidelity=fidelity, seed=0, status="complete",
                                             metrics={"accuracy": curve[-1][1]}, trainable_params=params,
                                             eval_curve=curve))


def test_bars_are_the_front_to_beat_minus_the_largest_gain_seen() -> None:
    journal = Journal.in_memory()
    for i in range(MIN_TRIALS - 1):  # gains after 25 %: 0.1 + 0.01 i; after 50 %: 0.05
        finished(journal, 100 * (i + 1), ((0.25, 0.5), (0.5, 0.55 + 0.01 * i), (1.0, 0.6 + 0.01 * i)))
    assert stop_bars(journal.trials(), 450, 10) == {}  # too few trials yet
    finished(journal, 1000, ((0.25, 0.3), (0.5, 0.5), (1.0, 0.9)))  # the biggest gains, and the best score
    bars = stop_bars(journal.trials(), 450, 10)
    required = 0.6 + 0.01 * 3  # the best final among trials of at most 450 parameters (100..400)
    assert bars == pytest.approx({0.25: required - 0.6, 0.5: required - 0.4})
    assert stop_bars(journal.trials(), 50, 10) == {}  # nothing as small: nothing can dominate it yet
    assert stop_bars(journal.trials(), 450, 20) == {}  # another fidelity's trials do not count


def test_reference_points_are_never_stopped() -> None:
    journal = Journal.in_memory()
    ref = journal.add_trial({"method": "lora"}, Fidelity(steps=10), seed=0, origin="reference:full_finetune@lr=1e-4")
    own = journal.add_trial({"method": "ia3"}, Fidelity(steps=10), seed=0, origin="bo")
    assert not may_stop(ref) and may_stop(own)


def test_pruning_is_refused_for_other_objectives() -> None:
    check_prune(objectives_of(["accuracy", "trainable_params"]))
    for names in (["accuracy", "trainable_params", "ece"], ["ece", "trainable_params"]):
        with pytest.raises(ConfigError, match=r"search\.prune needs the objectives"):
            check_prune(objectives_of(names))


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, sentiment_csv: Path) -> SearchContext:
    from tests.study.conftest import write_recipe

    folder = tmp_path_factory.mktemp("prune")
    recipe = write_recipe(folder, tiny_bert_dir, sentiment_csv)
    recipe.write_text(recipe.read_text().replace("curve_fractions: [1.0]", "curve_fractions: [0.5, 1.0]"))
    return make_context(load_recipe(recipe))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_job_below_its_bar_stops_and_is_journaled_pruned(ctx: SearchContext, workers: int) -> None:
    engine = ctx.engine(workers=workers)
    journal = Journal.in_memory()
    try:
        trial = journal.add_trial({"method": "head_only"}, Fidelity(steps=6), seed=0, origin="bo")
        journal.start(trial.number)
        engine.submit(Job(trial.number, trial.config, trial.fidelity, 0, stop_below=((0.5, 2.0),)))  # unreachable
        done = engine.wait()
        engine.submit(Job(99, trial.config, trial.fidelity, 0, stop_below=((0.5, -1.0),)))  # always passes
        passed = engine.wait().result
    finally:
        engine.close()
    result = done.result
    assert result.status == "pruned" and "pruned at 50% of the steps" in (result.error or "")
    assert result.steps == 3 and len(result.eval_curve) == 1 and result.eval_curve[0][0] == 0.5
    assert journal.finish(trial.number, result).state == "pruned"
    assert passed.status == "complete" and passed.steps == 6 and len(passed.eval_curve) == 2


def test_the_recipe_fields_round_trip_and_are_checked(tmp_path: Path) -> None:
    from autopeft.errors import RecipeError
    from autopeft.study.recipe import recipe_from_dict

    base = "name: r\nmodel: minilm\ntask: tweets-sentiment\nspace: s.yaml\nfidelity: {steps: 60}\n"
    (tmp_path / "ok.yaml").write_text(base + "search: {prune: true, scheduler: {type: asha, min_steps: 20}}\n")
    recipe = load_recipe(tmp_path / "ok.yaml")
    assert recipe.search.prune and recipe.search.scheduler is not None
    assert [r.steps for r in recipe.search.scheduler.rungs()] == [20, 60]
    again = recipe_from_dict(recipe.to_dict())
    assert again.search.prune and again.search.scheduler == recipe.search.scheduler
    (tmp_path / "bad.yaml").write_text(base + "search: {prune: yes please}\n")
    with pytest.raises(RecipeError, match=r"prune.*must be true or false"):
        load_recipe(tmp_path / "bad.yaml")
