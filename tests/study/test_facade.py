"""The Python API on tiny models: create (from a file, a Recipe, a mapping), optimise with a callback, read the
trials and the front as DataFrames, finalize, export, load; bad input is a one-line error."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

import autopeft
from autopeft.errors import AutopeftError, ConfigError, RecipeError
from autopeft.study.journal import JournalError


def test_the_api_end_to_end(tiny_recipe: Path, tmp_path: Path) -> None:
    study = autopeft.create_study(tiny_recipe, out=tmp_path / "run", budget=4)
    assert study.trials == [] and study.settings["budget"] == 4  # nothing runs before optimize
    seen: list[tuple[str, int, str]] = []
    study.optimize(callbacks=[lambda s, t: seen.append((str(s.folder), t.number, t.state))], stream=io.StringIO())
    assert [n for _, n, _ in seen] == [1, 2, 3, 4] and {f for f, _, _ in seen} == {str(tmp_path / "run")}
    frame = study.trials_dataframe()
    assert frame["number"].tolist() == [1, 2, 3, 4] and set(frame["state"]) == {"complete"}
    assert {"accuracy", "ece", "trainable_params", "on_front", "knee", "at_chance", "config"} <= set(frame.columns)
    from autopeft.study.classes import run_chance

    chance = run_chance(study.trials, "accuracy")  # the tiny task's validation split: its majority class's share
    assert chance is not None
    assert frame["at_chance"].tolist() == [bool(a <= chance + 1e-12) for a in frame["accuracy"]]
    front = study.front_dataframe()
    assert front["trainable_params"].is_monotonic_increasing and front["knee"].sum() == 1
    assert study.knee is not None and study.knee.number in front["number"].tolist()

    study.optimize(budget=6, stream=io.StringIO())  # more budget: two more trials, the first four untouched
    assert [t.number for t in study.trials] == [1, 2, 3, 4, 5, 6]
    assert all(t.attempts == 1 for t in study.trials)

    table = study.finalize(pick="best", seeds=2, stream=io.StringIO())
    assert len(table) == 1 and table["seeds"].iloc[0] == 2 and "test_accuracy_mean" in table.columns
    per_class = study.per_class_dataframe()
    assert per_class["class"].tolist() == ["negative", "positive"] and set(per_class["seeds"]) == {2}
    assert per_class["trial"].tolist() == [table["trial"].iloc[0]] * 2
    adapter = study.export(pick="best", out=tmp_path / "adapter")
    assert (adapter / "autopeft.json").is_file()
    again = autopeft.load_study(tmp_path / "run")
    assert again.trials == study.trials and "budget 6" in again.status()


def test_a_recipe_built_in_code_resumes_like_a_file(tiny_bert_dir: Path, sentiment_csv: Path, tmp_path: Path) -> None:
    (tmp_path / "space.yaml").write_text("name: s\ndimensions:\n  - {name: method, type: categorical, "
                                         "choices: [head_only, ia3]}\n")
    recipe = autopeft.make_recipe({
        "model": str(tiny_bert_dir), "space": "space.yaml",
        "task": {"file": str(sentiment_csv), "text_fields": ["text"], "label_field": "label"},
        "data": {"n_validation": 16, "n_test": 16}, "fidelity": {"steps": 2},
        "training": {"batch_size": 8, "max_length": 16, "curve_fractions": [1.0]},
        "search": {"budget": 2, "controller": "random"}}, base=tmp_path, name="coded")
    assert recipe.name == "coded" and Path(recipe.space) == tmp_path / "space.yaml"
    study = autopeft.create_study(recipe, out=tmp_path / "run")
    code = subprocess.run([sys.executable, "-m", "autopeft.cli", "search", "--resume", str(study.folder)],
                          capture_output=True, text=True, timeout=300, cwd="/")
    assert code.returncode == 0, code.stderr
    assert {t.config["method"] for t in study.trials} == {"head_only", "ia3"}


def test_bad_input_is_a_one_line_error(tiny_recipe: Path, tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="is not a run folder"):
        autopeft.load_study(tmp_path / "nowhere")
    with pytest.raises(RecipeError, match="no such recipe file"):
        autopeft.create_study(tmp_path / "missing.yaml")
    with pytest.raises(RecipeError, match="model"):
        autopeft.make_recipe({"task": "tweets-sentiment", "space": "minilm-layers"})
    # fields given in code are named as such, not as a line of a file that does not exist (or is another one)
    (tmp_path / "tiny.yaml").write_text("name: tiny\n")
    with pytest.raises(RecipeError) as err:
        autopeft.make_recipe({"model": "minilm", "task": "tweets-sentiment", "space": "minilm-layers",
                              "budget": 3}, base=tmp_path, name="tiny")
    assert str(err.value).startswith("recipe fields given in code: field 'budget': unknown field 'budget'")
    assert "tiny.yaml" not in str(err.value)
    with pytest.raises(ConfigError, match="recipe must be a recipe file, a Recipe or a mapping of recipe fields, "
                                          "got int; allowed"):
        autopeft.create_study(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must be a mapping of recipe fields"):
        autopeft.make_recipe(["model"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown engine 'cloud'; allowed: inprocess, nni, pool"):
        autopeft.create_study(tiny_recipe, out=tmp_path / "r").optimize(engine="cloud")
    with pytest.raises(AutopeftError, match="--budget must be an integer >= 1, got 0"):
        autopeft.create_study(tiny_recipe, out=tmp_path / "r2", budget=0)
    assert not (tmp_path / "r2").exists()


@pytest.mark.parametrize(("kwargs", "expect"), [
    ({"budget": "3"}, "--budget must be an integer >= 1, got '3'"),
    ({"budget": 2.5}, "--budget must be an integer >= 1, got 2.5"),
    ({"budget": True}, "--budget must be an integer >= 1, got True"),
    ({"seed": "x"}, "--seed must be an integer from 0 to 4294967295, got 'x'"),
    ({"seed": -1}, "--seed must be an integer from 0 to 4294967295, got -1"),
    ({"seed": 2**32}, "--seed must be an integer from 0 to 4294967295, got 4294967296"),  # once a traceback
])
def test_create_study_checks_its_counts_before_anything_is_written(kwargs: dict[str, object], expect: str,
                                                                    tiny_recipe: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(expect)):
        autopeft.create_study(tiny_recipe, out=tmp_path / "r", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "r").exists()


def test_counts_picks_and_phases_given_in_code_are_one_line_errors(tiny_recipe: Path, tmp_path: Path) -> None:
    """What a Python caller can pass that argparse never would: a count as text or a float, 0 workers (which
    used to fall back to the recipe's and run), callbacks that cannot take (study, trial) (which used to raise
    after the first trial), no pick at all, an unknown phase. Nothing runs for any."""
    study = autopeft.create_study(tiny_recipe, out=tmp_path / "r", budget=2)
    for kwargs, expect in (({"budget": "9"}, "--budget must be an integer >= 1, got '9'"),
                           ({"budget": 9.0}, "--budget must be an integer >= 1, got 9.0"),
                           ({"workers": 0}, "--workers must be an integer >= 1, got 0"),
                           ({"workers": "2"}, "--workers must be an integer >= 1, got '2'"),
                           ({"workers_per_gpu": 0}, "--workers-per-gpu must be an integer >= 1, got 0")):
        with pytest.raises(ConfigError, match=re.escape(expect)):
            study.optimize(**kwargs)  # type: ignore[arg-type]
    for kwargs, expect in (({"seeds": "2"}, "--seeds must be an integer >= 1, got '2'"),
                           ({"workers": 0}, "--workers must be an integer >= 1, got 0"),
                           ({"pick": None}, "--pick must be text, got None; allowed: knee, best")):
        with pytest.raises(ConfigError, match=re.escape(expect)):
            study.finalize(**kwargs)  # type: ignore[arg-type]
    for callbacks, expect in (([1], "callback 1 is not callable"), ("f", "callbacks must be a list of functions"),
                              ([lambda trial: None], "cannot be called with (study, trial)")):
        with pytest.raises(ConfigError, match=re.escape(expect)):
            study.optimize(callbacks=callbacks)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=re.escape("--pick must be text, got 3")):
        study.export(pick=3, out=tmp_path / "adapter")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=re.escape("phase must be one of search, finalize, got 'test'")):
        study.trials_dataframe(phase="test")
    assert study.trials == [] and not (tmp_path / "adapter").exists()
    with pytest.raises(JournalError, match="already holds a run"):  # refused before the model is loaded
        autopeft.create_study(tiny_recipe, out=tmp_path / "r")
    assert "ETA unknown until a trial ends for 2 more" in study.status()


def test_pareto_of_a_study_with_no_trial_yet_says_so(tiny_recipe: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from autopeft.cli.main import main

    study = autopeft.create_study(tiny_recipe, out=tmp_path / "run", budget=2)
    for extra, what in (([], "no point on the front yet"), (["--all"], "no trial yet")):
        assert main(["pareto", str(study.folder), *extra]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[2] == f"({what}; `autopeft status {study.folder}` says where the run stands)"
    assert main(["pareto", str(study.folder), "--format", "json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_a_moved_study_goes_on_from_load_study(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_study(folder, model=..., data=...)``: the API's ``--model`` and ``--data`` for a run whose model
    folder and data file moved; optimize, finalize, export and the recipe take them, each checked."""
    import shutil

    from tests.study.conftest import write_recipe

    made = tmp_path / "made"
    shutil.copytree(tiny_bert_dir, made / "bert")
    shutil.copy(sentiment_csv, made / "data.csv")
    write_recipe(made, Path("bert"), Path("data.csv"), steps=2, budget=2)
    monkeypatch.chdir(made)
    autopeft.create_study(made / "recipe.yaml", out="run").optimize(stream=io.StringIO())
    shutil.copytree(made, tmp_path / "moved")
    shutil.rmtree(made)
    monkeypatch.chdir(tmp_path / "moved")
    with pytest.raises(ConfigError, match="of this run is missing"):
        autopeft.load_study("run").optimize(budget=3, stream=io.StringIO())
    with pytest.raises(ConfigError, match=r"--data data\.csv: not the file"):
        (tmp_path / "moved" / "data.csv").write_text("text,label\nthe movie was good,positive\n")
        autopeft.load_study("run", data="data.csv").recipe  # noqa: B018 - the property is the check
    shutil.copy(sentiment_csv, tmp_path / "moved" / "data.csv")
    study = autopeft.load_study("run", model="bert", data="data.csv")
    assert study.recipe.model == "bert"
    study.optimize(budget=3, stream=io.StringIO())
    assert len(study.trials) == 3
    study.finalize("knee", seeds=1, stream=io.StringIO())
    assert study.export("knee", out="knee").is_dir()
    with pytest.raises(ConfigError, match="--model is empty"):
        autopeft.load_study("run", model="")
