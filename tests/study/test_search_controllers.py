"""The model-based controllers through a real search: bo and evolution run on the tiny recipe, are interrupted
(budget reached, Ctrl-C between trials, Ctrl-C inside a trial), resumed, and end with the budget's trials, all
complete and distinct, each proposal the one the controller makes from the journal's history. A recipe's
``max_trainable_params`` bounds every proposal, and its ``controller_options`` reach the controller.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from autopeft.cli import main
from autopeft.controllers import BayesianOptimization, Evolution, Observation, get_controller
from autopeft.errors import ConfigError
from autopeft.objectives import PARAMS, objectives_of
from autopeft.study.journal import DB_NAME, Journal, Trial
from autopeft.study.loop import REFERENCE, objective_values
from autopeft.study.recipe import load_recipe
from autopeft.study.search import make_context, run_search
from autopeft.trial import config_key
from tests.study.conftest import write_recipe

#: Short settings: bo leaves its initial design after 2 searched trials (the default is 8), evolution breeds
#: from a population of 2 (the default is 16).
OPTIONS: dict[str, dict[str, Any]] = {
    "bo": {"n_initial": 2, "n_candidates": 64, "mc_samples": 16},
    "evolution": {"population": 2},
}


def recipe_with(folder: Path, model: Path, data: Path, **search: Any) -> Path:
    """The tiny recipe (tests/study/conftest.py) with its ``search:`` section updated by ``search``."""
    path = write_recipe(folder, model, data)
    recipe = yaml.safe_load(path.read_text())
    recipe["search"] = {**recipe["search"], **search}
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture
def phases(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, set[str]]]:
    """Keys of the configurations each controller phase returned: bo's design or model, evolution's children."""
    seen: dict[str, set[str]] = {"design": set(), "model": set(), "child": set()}

    def spy(phase: str, real: Any) -> Any:
        def wrapped(self: Any, *args: Any) -> Any:
            out = real(self, *args)
            for config in out if isinstance(out, list) else [out] if out is not None else []:
                seen[phase].add(config_key(config))
            return out
        return wrapped

    monkeypatch.setattr(BayesianOptimization, "_design", spy("design", BayesianOptimization._design))
    monkeypatch.setattr(BayesianOptimization, "_model_based", spy("model", BayesianOptimization._model_based))
    monkeypatch.setattr(Evolution, "_child", spy("child", Evolution._child))
    yield seen


def stop_after(number: int) -> Any:
    """A callback that presses Ctrl-C once trial ``number`` has been journaled."""
    def callback(trial: Trial) -> None:
        if trial.number == number:
            raise KeyboardInterrupt
    return callback


def trials_of(out: Path) -> list[Trial]:
    with Journal.open(out, lock=False) as journal:
        return journal.trials()


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_interrupted_and_resumed_search(name: str, tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path,
                                        phases: dict[str, set[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    path = recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller=name, controller_options=OPTIONS[name])
    out = tmp_path / "run"

    # 1. a budget of 3, reached; 2. resumed to 6, Ctrl-C after trial 4; 3. Ctrl-C inside trial 5; 4. resumed
    run_search(load_recipe(path), out, budget=3)
    assert [t.number for t in trials_of(out)] == [1, 2, 3]
    with pytest.raises(KeyboardInterrupt):
        run_search(None, out, resume=True, budget=6, callbacks=(stop_after(4),))
    assert [(t.number, t.state) for t in trials_of(out)] == [(n, "complete") for n in range(1, 5)]

    from autopeft.runner.worker import Worker

    real_run = Worker.run

    def interrupted(self: Worker, *args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(Worker, "run", real_run)  # only this once
        raise KeyboardInterrupt

    monkeypatch.setattr(Worker, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_search(None, out, resume=True)
    assert [t.state for t in trials_of(out)][4:] == ["running"]
    run_search(None, out, resume=True)

    trials = trials_of(out)
    assert [t.number for t in trials] == list(range(1, 7))  # the budget, no gap, nothing twice
    assert all(t.state == "complete" for t in trials)
    assert [t.attempts for t in trials] == [1, 1, 1, 1, 2, 1]  # only the trial Ctrl-C cut short ran again
    assert len({config_key(t.config) for t in trials}) == 6
    searched = [t for t in trials if not t.origin.startswith(REFERENCE)]
    assert [t.origin for t in trials[:2]] == ["reference:peft_default_lora", "reference:later_layers_only"]
    assert [t.number for t in searched] == [3, 4, 5, 6] and all(t.origin == name for t in searched)

    keys = [config_key(t.config) for t in searched]
    if name == "bo":  # the recipe's n_initial: 2 reached the controller (the default 8 would still be designing)
        assert set(keys[:2]) <= phases["design"] and not set(keys[:2]) & phases["model"]
        assert set(keys[2:]) <= phases["model"]
    else:  # population: 2 tried, then children of the population
        assert not set(keys[:2]) & phases["child"]
        assert set(keys[2:]) <= phases["child"]

    # each proposal is the one the controller makes from the journal's history before it: what an
    # uninterrupted search would have proposed (its trials give the same results: same configuration, same seed)
    recipe = load_recipe(path)
    ctx = make_context(recipe)
    objectives = objectives_of(list(recipe.search.objectives))
    for i, trial in enumerate(searched):
        controller = get_controller(name, ctx.space, objectives, seed=recipe.seed, known={PARAMS: ctx.count},
                                    **OPTIONS[name])
        history = [Observation(t.config, objective_values(t, objectives)) for t in searched[:i]]
        (proposal,) = controller.propose(history)
        assert config_key(proposal) == config_key(trial.config), f"searched trial {i + 1} (#{trial.number})"


def test_max_trainable_params_bounds_every_proposal(tmp_path: Path, tiny_bert_dir: Path,
                                                    sentiment_csv: Path) -> None:
    path = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv)
    ctx = make_context(load_recipe(path))
    rng = np.random.default_rng(0)
    counts: set[float] = set()
    for config in (ctx.space.sample(rng) for _ in range(200)):
        with contextlib.suppress(ConfigError):  # a LoRA with every block off does not build: it has no count
            counts.add(ctx.count(config))
    limit = int(sorted(counts)[len(counts) // 3])  # a third of the space's distinct counts fit
    path = recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller="bo", references=False, budget=5,
                       max_trainable_params=limit, controller_options=OPTIONS["bo"])
    run_search(load_recipe(path), tmp_path / "run")
    trials = trials_of(tmp_path / "run")
    assert len(trials) == 5 and all(t.state == "complete" and t.result is not None for t in trials)
    assert all(t.result.trainable_params <= limit for t in trials if t.result), limit
    assert all(t.result.trainable_params == ctx.count(t.config) for t in trials if t.result)


def test_an_infeasible_max_trainable_params_is_one_clear_error(tmp_path: Path, tiny_bert_dir: Path,
                                                               sentiment_csv: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller="bo", references=False,
                       max_trainable_params=1, controller_options=OPTIONS["bo"])
    with pytest.raises(ConfigError, match="constraints"):
        run_search(load_recipe(path), tmp_path / "run")
    assert main(["search", str(path), "--out", str(tmp_path / "cli")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autopeft: error: ") and "constraints" in err and len(err.strip().splitlines()) == 1, err
    assert all(t.state == "complete" for t in trials_of(tmp_path / "cli"))  # nothing half-run


def test_references_over_the_limit_are_left_out_and_named(tmp_path: Path, tiny_bert_dir: Path,
                                                           sentiment_csv: Path) -> None:
    import io

    from autopeft.study.journal import Journal

    path = recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller="random", budget=2,
                       max_trainable_params=1200)  # later_layers_only (1,058) fits, peft_default_lora (1,570) not
    ctx = make_context(load_recipe(path))
    assert set(ctx.over_limit) == {"peft_default_lora"} and set(ctx.references) == {"later_layers_only"}
    stream = io.StringIO()
    run_search(load_recipe(path), tmp_path / "run", stream=stream)
    assert ("reference points over search.max_trainable_params (1,200) are left out: peft_default_lora (1,570 "
            "trainable)") in stream.getvalue()
    with Journal.open(tmp_path / "run", lock=False) as j:
        assert [t.origin for t in j.trials()][:1] == ["reference:later_layers_only"]


def test_a_budget_the_reference_points_fill_says_what_it_leaves(tmp_path: Path, tiny_bert_dir: Path,
                                                                sentiment_csv: Path) -> None:
    import io

    path = recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller="random", budget=1)
    assert list(make_context(load_recipe(path)).references) == ["peft_default_lora", "later_layers_only"]
    stream = io.StringIO()
    run_search(load_recipe(path), tmp_path / "run", stream=stream)
    out = tmp_path / "run"  # the first line names the run, for `status` from another shell
    assert f"\nsearch {out}: budget 1, controller random (`autopeft status {out}` from another shell)\n  running 1/1 " \
        in stream.getvalue()
    assert ("note: the reference points take 2 trials and the budget is 1, so random proposes no trial, and "
            "later_layers_only is left out (raise the budget above 2, or set search.references: false)\n"
            ) in stream.getvalue()
    assert [t.origin for t in trials_of(tmp_path / "run")] == ["reference:peft_default_lora"]
    stream = io.StringIO()  # a budget above the reference points: no note
    run_search(load_recipe(recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller="random", budget=3)),
               tmp_path / "run3", stream=stream)
    assert "note: the reference points" not in stream.getvalue()


def test_a_class_with_no_train_example_is_named_before_the_trials(tmp_path: Path, tiny_bert_dir: Path,
                                                                  sentiment_csv: Path) -> None:
    import io

    from autopeft.tasks import load_task_data, task_from_file

    data = tmp_path / "rare.csv"
    data.write_text(sentiment_csv.read_text() + "an odd one,neutral\n")
    task = task_from_file(data, text_fields="text", label_field="label")
    seed = next(s for s in range(50)  # a data seed that puts the one 'neutral' row outside train
                if load_task_data(task, seed=s, n_validation=16, n_test=16).classes_missing("train"))
    path = recipe_with(tmp_path, tiny_bert_dir, data, controller="random", budget=1)
    recipe = yaml.safe_load(path.read_text())
    recipe["data"]["seed"] = seed
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    stream = io.StringIO()
    run_search(load_recipe(path), tmp_path / "run", stream=stream)
    assert stream.getvalue().startswith(
        "note: class 'neutral' has no example in the train split (89 examples), so no trial can learn it; the data "
        "needs more examples of it\n")
    assert all(t.state == "complete" for t in trials_of(tmp_path / "run"))  # a note, not an error


def test_rows_left_out_of_the_data_are_named_and_journaled(tmp_path: Path, tiny_bert_dir: Path,
                                                            sentiment_csv: Path) -> None:
    import io

    from autopeft.report.collect import load_run

    data = tmp_path / "gaps.csv"
    data.write_text(sentiment_csv.read_text() + ",negative\n   ,positive\nno label here,\n")
    stream = io.StringIO()
    run_search(load_recipe(recipe_with(tmp_path, tiny_bert_dir, data, controller="random", budget=1)),
               tmp_path / "run", stream=stream)
    assert stream.getvalue().startswith(
        "note: 3 of the 123 rows of task 'gaps' are not used (2 with an empty text, 1 unlabelled); the splits are "
        "drawn from the 120 examples left\n")
    made = load_run(tmp_path / "run", details=False).settings["data"]
    assert made["pool"] == 120 and made["dropped"] == {"without_text": 2, "unlabelled": 1, "duplicates": 0}
    assert {name: split["size"] for name, split in made["splits"].items()} == {"train": 88, "validation": 16,
                                                                              "test": 16}
    stream = io.StringIO()  # every row used: no note
    run_search(load_recipe(recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller="random", budget=1)),
               tmp_path / "run2", stream=stream)
    assert "are not used" not in stream.getvalue()


@pytest.mark.parametrize(("name", "options", "expect"), [
    ("bo", {"bogus": 1}, "controller 'bo' has no option 'bogus'; allowed: "),
    ("evolution", {"n_initial": 2}, "controller 'evolution' has no option 'n_initial'; allowed: mutation, population"),
    ("bo", {"n_initial": 0}, "option 'n_initial' must be an integer >= 1, got 0"),
])
def test_bad_controller_options_are_one_line(name: str, options: dict[str, Any], expect: str, tmp_path: Path,
                                             tiny_bert_dir: Path, sentiment_csv: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller=name, controller_options=options)
    assert main(["search", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert expect in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run" / DB_NAME).exists() or trials_of(tmp_path / "run") == []  # no trial ran


def test_bad_controller_options_write_nothing(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    """Like every other bad input (tests/study/test_search.py::test_bad_input), nothing is written."""
    path = recipe_with(tmp_path, tiny_bert_dir, sentiment_csv, controller="bo", controller_options={"bogus": 1})
    assert main(["search", str(path), "--out", str(tmp_path / "run")]) == 2
    assert not (tmp_path / "run" / DB_NAME).exists()
