"""`autopeft trial` and recipes: one JSON record on success, one-line errors (exit 2) on bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from autopeft.cli import main
from autopeft.errors import RecipeError
from autopeft.study.recipe import load_recipe, parse_recipe

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def recipe(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> Path:
    (tmp_path / "space.yaml").write_text(textwrap.dedent("""\
        name: tiny
        dimensions:
          - {name: method, type: categorical, choices: [ia3, lora]}
          - {name: lora.r, type: integer, low: 1, high: 4, when: {method: lora}}
          - {name: ia3.learning_rate, type: float, low: 1.0e-3, high: 1.0e-1, log: true, when: {method: ia3}}
        """))
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: tiny
        model: {tiny_bert_dir}
        task: {{file: {sentiment_csv}, text_fields: [text], label_field: label}}
        space: space.yaml
        data: {{seed: 0, n_validation: 16, n_test: 16}}
        fidelity: {{steps: 3}}
        training: {{batch_size: 8, eval_batch_size: 16, max_length: 16}}
        """))
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_trial_prints_one_json_record(recipe: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["trial", "--recipe", str(recipe), "--config", '{"method": "ia3"}', "--test"], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["status"] == "complete" and record["fidelity"] == {"steps": 3, "train_fraction": 1.0}
    for key in ("accuracy", "macro_f1", "ece", "mce", "brier", "nll", "ece_ts"):
        assert key in record["metrics"] and key in record["test_metrics"]
    for key in ("trainable_params", "total_params", "train_seconds", "eval_seconds", "peak_memory_mb", "steps",
                "seed", "loss_curve", "eval_curve"):
        assert record[key] is not None
    assert record["config"] == {"method": "ia3", "ia3.learning_rate": pytest.approx(0.01)}


def test_overrides_of_steps_fraction_and_seed(recipe: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["trial", "--recipe", str(recipe), "--config", '{"method": "lora", "lora.r": 2}',
                        "--steps", "2", "--train-fraction", "0.5", "--seed", "7"], capsys)
    record = json.loads(out)
    assert code == 0 and record["steps"] == 2 and record["seed"] == 7
    assert record["fidelity"]["train_fraction"] == 0.5


@pytest.mark.parametrize(("extra", "expect"), [
    (["--config", '{"method": "dora"}'], "not one of the choices"),
    (["--config", '{"method": "ia3", "lora.r": 2}'], "applies only when method"),
    (["--config", '{"method": "lora", "lora.r": 9}'], "allowed: integers in [1, 4]"),
    (["--config", '{"method": "ia3"}', "--task", "nope"], "unknown task 'nope'"),
    (["--config", '{"method": "ia3"}', "--task", "sst2"], "Hub"),
    (["--config", '{"method": "ia3"}', "--model", "someone/absent-model"], "Hub is unreachable"),
    (["--config", '{"method": "ia3"}', "--steps", "0"], "steps must be an integer >= 1"),
    (["--config", '{"method": "ia3"}', "--train-fraction", "1.5"], "train_fraction"),
    (["--config", '{"method": "ia3"}', "--seed", "-1"], "--seed must be an integer from 0 to 4294967295, got -1"),
    (["--config", '{"method": "ia3"}', "--seed", str(10**20)], f"from 0 to 4294967295, got {10**20}"),
    (["--config", '{"method": "ia3"}', "--data", "missing.csv", "--text-fields", "t", "--label-field", "l"],
     "missing.csv"),
    (["--config", '{"method": "ia3"}', "--data", "x.csv"], "--text-fields and --label-field"),
])
def test_bad_input_is_one_line_exit_2(recipe: Path, extra: list[str], expect: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["trial", "--recipe", str(recipe), *extra], capsys)
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and expect in err, err


def test_wrong_label_column(recipe: Path, sentiment_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["trial", "--recipe", str(recipe), "--config", '{"method": "ia3"}', "--data",
                        str(sentiment_csv), "--text-fields", "text", "--label-field", "sentiment"], capsys)
    assert code == 2 and "'sentiment'" in err and "text, label" in err


def test_the_default_recipe_parses_and_points_at_shipped_files() -> None:
    rec = load_recipe(ROOT / "search" / "default.yaml")
    assert rec.model == "minilm" and rec.task == "tweets-sentiment"
    assert Path(rec.space).resolve() == (ROOT / "spaces" / "minilm-layers.yaml").resolve()
    assert rec.data.n_train == 1000 and rec.fidelity.steps == 60 and rec.training.max_length == 64


@pytest.mark.parametrize(("text", "expect"), [
    ("model: m\ntask: t\n", "missing required field 'space'"),
    ("model: m\ntask: t\nspace: s\nbudgett: 3\n", "unknown field 'budgett'"),
    ("model: m\ntask: t\nspace: s\nfidelity: {steps: 0}\n", "steps must be an integer >= 1"),
    ("model: m\ntask: t\nspace: s\ntraining: {batch_size: 0}\n", "batch_size"),
    ("model: m\ntask: t\nspace: s\ndata: {n_train: -1}\n", "integer >= 1"),
    ("model: m\ntask: [1]\nspace: s\n", "bad task"),
    ("- a\n", "must be a mapping"),
    ("model: [\n", "malformed YAML"),
])
def test_recipe_errors(text: str, expect: str) -> None:
    with pytest.raises(RecipeError) as err:
        parse_recipe(text, "r.yaml")
    assert expect in str(err.value) and str(err.value).startswith("r.yaml")


def test_missing_recipe_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["trial", "--recipe", "nope.yaml", "--config", "{}"], capsys)
    assert code == 2 and "no such recipe file" in err


@pytest.mark.parametrize("path", sorted((ROOT / "search").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_fits_its_model(path: Path) -> None:
    """Each recipe parses, names a registered task, and its space checks against its model's shape."""
    from autopeft.methods.checks import check_space_file
    from autopeft.objectives import objectives_of

    rec = load_recipe(path)
    task = rec.load_task()
    check = check_space_file(rec.space, rec.model)
    assert check.references
    objectives_of(rec.search.objectives)
    if task.kind == "generation":
        assert "rouge_l" in rec.search.objectives
