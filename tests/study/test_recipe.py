"""Recipes: the shipped ones parse; ``--task`` overrides the task and survives in the journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopeft.cli import main
from autopeft.errors import RecipeError, TaskError
from autopeft.study.recipe import load_recipe, stored_recipe, with_task

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted((ROOT / "search").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_recipes_parse(path: Path) -> None:
    """Each shipped recipe parses, its space file exists and loads, and its task, objectives and controller are
    registered: a renamed space file or task fails here, not minutes into a search."""
    from autopeft.controllers import controller_names
    from autopeft.objectives import objectives_of
    from autopeft.space import SpaceSpec
    from autopeft.tasks import get_task

    recipe = load_recipe(path)
    assert recipe.name and recipe.model
    assert Path(recipe.space).is_file(), f"{path.name}: space file {recipe.space} does not exist"
    spec = recipe.load_space()
    assert isinstance(spec, SpaceSpec) and spec.dimensions
    assert isinstance(recipe.task, str), f"{path.name}: a shipped recipe names a registered task"
    assert get_task(recipe.task).name == recipe.task
    assert [o.name for o in objectives_of(list(recipe.search.objectives))] == list(recipe.search.objectives)
    assert recipe.search.controller in controller_names()


def test_bbc_news_recipe_is_the_default_on_another_task() -> None:
    default, bbc = load_recipe(ROOT / "search/default.yaml"), load_recipe(ROOT / "search/default-bbc-news.yaml")
    assert bbc.task == "bbc-news" and bbc.data.n_test == 600
    assert (bbc.model, bbc.fidelity, bbc.training, bbc.search) == (default.model, default.fidelity,
                                                                   default.training, default.search)
    assert (bbc.data.n_train, bbc.data.n_validation) == (default.data.n_train, default.data.n_validation)


def test_with_task_renames_and_checks_the_task() -> None:
    default = load_recipe(ROOT / "search/default.yaml")
    other = with_task(default, "bbc-news")
    assert other.task == "bbc-news" and other.name == "default-bbc-news" and other.space == default.space
    assert with_task(default, "tweets-sentiment") is default
    with pytest.raises(TaskError, match=r"unknown task 'nope'; allowed: .*bbc-news"):
        with_task(default, "nope")


def test_stored_recipe_reapplies_the_override() -> None:
    default = load_recipe(ROOT / "search/default.yaml")
    stored = {"text": default.text, "source": default.source, "base": str(ROOT / "search"),
              "overrides": {"task": "bbc-news"}}
    assert stored_recipe(stored).task == "bbc-news"
    assert stored_recipe({**stored, "overrides": {}}).task == "tweets-sentiment"
    assert stored_recipe({k: v for k, v in stored.items() if k != "overrides"}).task == "tweets-sentiment"


@pytest.mark.parametrize("argv, expect", [
    (["search", "--task", "nope"], "unknown task 'nope'"),
    (["search", "--resume", "runs/x", "--task", "bbc-news"], "--task cannot be given with --resume"),
    (["search", "--resume", "runs/x", "--split-field", "s"], "--split-field cannot be given with --resume"),
    (["search", "--model", ""], "--model is empty; allowed: an alias such as minilm, a local folder or a Hub id"),
    (["search", "--task", " "], "unknown task ' '; allowed: ag_news"),
    (["search", "--data", "", "--text-fields", "t", "--label-field", "l"], "--data is empty; allowed: "),
    (["search", "--resume", "runs/x", "--n-test", "20"], "--n-test cannot be given with --resume: the run keeps the "
                                                         "data sizes it started with"),
    (["search", "--n-validation", "0"], "--n-validation must be >= 1, got 0"),
    (["trial", "--config", '{"method": "ia3"}', "--n-train", "-3"], "--n-train must be >= 1, got -3"),
])
def test_task_flag_bad_input(argv: list[str], expect: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expect in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("where", ["seed", "data.seed"])
def test_a_seed_past_32_bits_is_refused_at_its_line(where: str, tmp_path: Path) -> None:
    """Such a seed used to reach the journal and stop the search with a traceback (SQLite's integers)."""
    from autopeft.study.recipe import parse_recipe

    lines = ["model: minilm", "task: tweets-sentiment", "space: minilm-layers"]
    lines.append("seed: 4294967296" if where == "seed" else "data: {seed: 4294967296}")
    with pytest.raises(RecipeError, match=r"bad value \(got 4294967296\); allowed: an integer from 0 to 4294967295"):
        parse_recipe("\n".join(lines) + "\n", "r.yaml", tmp_path)


def test_model_flag_searches_the_recipe_on_another_model(tmp_path: Path, tiny_bert_dir: Path,
                                                         tiny_distilbert_dir: Path, sentiment_csv: Path) -> None:
    """``search --model`` runs the recipe's space on another model; the journal keeps it, so finalize and export
    use it too. The recipe's own model is never loaded."""
    from autopeft.study.journal import Journal
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=2, budget=2)
    assert main(["search", str(recipe), "--model", str(tiny_distilbert_dir), "--out", str(tmp_path / "run")]) == 0
    with Journal.open(tmp_path / "run", lock=False) as journal:
        assert journal.recipe["model"] == str(tiny_distilbert_dir)
        trials = journal.trials()
    assert len(trials) == 2 and all(t.state == "complete" for t in trials)
    assert trials[0].result is not None and trials[0].result.trainable_params == 1842  # DistilBERT's LoRA r=8 q,v
    assert main(["export", str(tmp_path / "run"), "--pick", "trial:1", "--out", str(tmp_path / "adapter")]) == 0
    card = (tmp_path / "adapter" / "README.md").read_text()
    assert f"autopeft search {recipe} --out {tmp_path / 'run'} --budget 2 --controller random --seed 0 --model " \
           f"{tiny_distilbert_dir}\n" in card  # the command that makes the run again names the model it used
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "report")]) == 0
    assert f"--seed 0 --model {tiny_distilbert_dir} --out {tmp_path / 'run'}" in \
        (tmp_path / "report" / "report.md").read_text()


def test_search_flags_name_what_the_command_line_changed() -> None:
    from autopeft.study.commands import search_flags

    assert search_flags({"overrides": {}}) == [] and search_flags({}) == []
    assert search_flags({"overrides": {"task": "bbc-news"}}) == ["--task", "bbc-news"]  # older journals' form
    assert search_flags({"overrides": {"data": "d.csv", "text_fields": "a,b", "label_field": "y", "model": "m"}}) == \
        ["--model", "m", "--data", "d.csv", "--text-fields", "a,b", "--label-field", "y"]
    assert search_flags({"overrides": {"n_test": 20, "data": "d.csv", "n_validation": 10}}) == \
        ["--data", "d.csv", "--n-validation", "10", "--n-test", "20"]


def test_a_small_data_file_runs_with_its_own_split_sizes(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The default recipe holds 500 validation and 1,000 test examples: a 120-row ``--data`` file is refused in
    one line naming the flags, and runs with them; a search keeps them, and its export's command gives them."""
    import json

    data = ["--data", str(sentiment_csv), "--text-fields", "text", "--label-field", "label", "--model",
            str(tiny_bert_dir)]
    assert main(["trial", "--config", '{"method": "ia3"}', "--steps", "2", *data]) == 2
    assert "leave none for train; allowed: n_test + n_validation below 120 (the recipe's data, or --n-test and " \
           "--n-validation); e.g. --n-train 90 --n-validation 12 --n-test 18 fit these 120" in capsys.readouterr().err
    sizes = ["--n-train", "60", "--n-validation", "20", "--n-test", "16"]
    assert main(["trial", "--config", '{"method": "ia3"}', "--steps", "2", *data, *sizes]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "complete"
    assert sum(map(sum, record["confusion"]["validation"])) == 20  # scored on the 20 validation examples
    run = tmp_path / "run"
    assert main(["search", "--budget", "1", "--out", str(run), *data, *sizes]) == 0
    from autopeft.study.journal import Journal

    with Journal.open(run, lock=False) as journal:
        assert journal.recipe["data"]["n_validation"] == 20 and journal.recipe["data"]["n_test"] == 16
    assert main(["export", str(run), "--pick", "trial:1", "--out", str(tmp_path / "x")]) == 0
    assert " --n-train 60 --n-validation 20 --n-test 16\n" in (tmp_path / "x" / "README.md").read_text()


def test_paths_in_a_recipe_are_read_from_its_folder_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model folder beside the recipe is found from any working directory, as its space and data file are;
    a name with no folder beside the recipe stays as written (an alias, a Hub id, a folder in the working
    directory)."""
    folder = tmp_path / "exp"
    (folder / "t5").mkdir(parents=True)
    (tmp_path / "cwd-model").mkdir()
    (folder / "space.yaml").write_text("name: s\ndimensions:\n  - {name: method, type: categorical, choices: [ia3]}\n")
    monkeypatch.chdir(tmp_path)
    for model, expect in [("t5", str(folder / "t5")), ("minilm", "minilm"), ("google/flan-t5-small",
                          "google/flan-t5-small"), ("cwd-model", "cwd-model"), (str(tmp_path / "cwd-model"),
                                                                                str(tmp_path / "cwd-model"))]:
        path = folder / "recipe.yaml"
        path.write_text(f"model: {model}\ntask: {{file: data.csv, text_fields: [text], label_field: label}}\n"
                        "space: space.yaml\n")
        recipe = load_recipe(path)
        assert recipe.model == expect, model
        assert recipe.task["file"] == str(folder / "data.csv") and recipe.space == str(folder / "space.yaml")


def test_data_and_hub_dataset_keep_the_recipes_kind_of_task(tmp_path: Path) -> None:
    """``--data`` on a generation recipe (samsum's: ROUGE-L objective, long targets) used to read the file as
    classification, and the search stopped at "'rouge_l' is not reported by the classification task"; the
    file now keeps the recipe's kind. A classification recipe's file stays classification."""
    from autopeft.study.overrides import apply_overrides, recipe_kind

    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"source": "a b c", "target": "a"}\n')
    samsum = load_recipe(ROOT / "search" / "flan-t5-base-samsum.yaml")
    default = load_recipe(ROOT / "search" / "default.yaml")
    assert (recipe_kind(samsum), recipe_kind(default)) == ("generation", "classification")
    for recipe, kind in ((samsum, "generation"), (default, None)):
        for where in ({"data": str(rows)}, {"hub_dataset": "knkarthick/samsum"}):
            moved = apply_overrides(recipe, text_fields="source", label_field="target", **where)
            assert isinstance(moved.task, dict) and moved.task.get("kind") == kind, (recipe.name, where)
            assert recipe_kind(moved) == (kind or "classification")
