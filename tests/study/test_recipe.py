"""Recipes: the shipped ones parse; ``--task`` overrides the task and survives in the journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopeft.cli import main
from autopeft.errors import TaskError
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
])
def test_task_flag_bad_input(argv: list[str], expect: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expect in err and len(err.strip().splitlines()) == 1
