"""A Hub task's own splits (``--official-splits``): the dataset's train / validation / test kept as its splits,
an unlabelled one (GLUE's test) drawn from train, and every refusal one line naming the way that works."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from autopeft.cli import main
from autopeft.errors import AutopeftError, RecipeError, TaskError
from autopeft.study.commands import search_flags
from autopeft.study.journal import Journal
from autopeft.study.overrides import apply_overrides
from autopeft.study.recipe import parse_recipe
from autopeft.tasks import get_task, load_task_data, task_from_file
from autopeft.tasks.sources import SOURCE_SPLIT, read_source
from autopeft.tasks.splits import describe_splits
from benchmarks.reliability import tiny
from tests.tasks.test_sources import GLUE_SPLITS, fake_hub_dataset, swap_hub


def split_of(examples: tuple[object, ...]) -> set[str]:
    """The split each example's text names (the fake rows say ``sentence train 3 c1``)."""
    return {ex.texts[0].split()[1] for ex in examples}  # type: ignore[attr-defined]


def test_a_hub_table_keeps_each_rows_split(monkeypatch: pytest.MonkeyPatch) -> None:
    swap_hub(monkeypatch, lambda path, config: fake_hub_dataset(("sentence",), ("negative", "positive"), GLUE_SPLITS))
    table = read_source(get_task("sst2").source)
    marks = table.column(SOURCE_SPLIT)
    assert marks == ("train",) * 60 + ("validation",) * 12 + ("test",) * 10
    assert [t.split()[1] for t in table.column("sentence")] == list(marks)


def test_glue_keeps_its_validation_split_and_draws_test_from_train(monkeypatch: pytest.MonkeyPatch) -> None:
    swap_hub(monkeypatch, lambda path, config: fake_hub_dataset(("sentence",), ("negative", "positive"), GLUE_SPLITS))
    task = get_task("sst2").with_source_splits()
    data = load_task_data(task, seed=0, n_test=8)
    assert split_of(data.validation) == {"validation"} and len(data.validation) == 12  # all of it: the cap is above
    assert split_of(data.test) == {"train"} and len(data.test) == 8  # GLUE's test rows have no labels
    assert split_of(data.train) == {"train"} and len(data.train) == 60 - 8
    assert not {ex.texts for ex in data.test} & {ex.texts for ex in data.train}
    assert data.given() == ["train", "validation"]
    assert data.given_note() == ("the dataset's own splits: 52 train, 12 validation, 8 test (test drawn from the "
                                 "rows marked train: no usable row is marked so)")
    pooled = load_task_data(get_task("sst2"), seed=0, n_test=8)  # without: every labelled row pooled, as before
    assert split_of(pooled.validation) == {"train", "validation"}
    capped = load_task_data(task, seed=0, n_validation=4, n_test=8, n_train=10)
    assert capped.validation == data.validation[:4] and capped.train == data.train[:10]
    assert capped.capped == {"validation": 12} and data.capped == {}  # n_train is the data scale: not noted
    assert capped.given_note().endswith("; validation cut to 4 of its 12 rows by n_validation (--n-validation 12 "
                                        "keeps them all)")


def test_a_labelled_test_split_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    swap_hub(monkeypatch, lambda path, config: fake_hub_dataset(
        ("text",), ("World", "Sports", "Business", "Sci/Tech"), {"train": 30, "test": 8}, with_idx=False))
    data = load_task_data(get_task("ag_news").with_source_splits(), seed=1, n_validation=12)
    assert split_of(data.test) == {"test"} and len(data.test) == 32
    assert split_of(data.validation) == {"train"} and len(data.validation) == 12
    made = data.summary()
    assert made["split_field"] == SOURCE_SPLIT and made["given"] == ["train", "test"]
    assert "; test as the dataset's own splits mark it;" in describe_splits({}, made)


def test_a_split_name_it_cannot_place_is_one_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {name: datasets.Dataset.from_dict({"sentence": [f"s {name} {i}" for i in range(8)], "label": [0, 1] * 4})
            for name in ("train", "validation_matched", "validation_mismatched")}
    swap_hub(monkeypatch, lambda path, config: datasets.DatasetDict(rows))
    with pytest.raises(TaskError, match="has labelled rows in the split\\(s\\) 'validation_matched', "
                                        "'validation_mismatched', which official splits cannot place; allowed split "
                                        "names: train, training"):
        load_task_data(get_task("sst2").with_source_splits())


def test_a_split_of_unlabelled_rows_under_another_name_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """IMDB's ``unsupervised`` split: unlabelled, so left out of the pool with the other unlabelled rows."""
    rows = {name: datasets.Dataset.from_dict({"sentence": [f"s {name} {i}" for i in range(n)],
                                              "label": [-1] * n if name == "unsupervised" else [0, 1] * (n // 2)})
            for name, n in (("train", 40), ("test", 10), ("unsupervised", 30))}
    swap_hub(monkeypatch, lambda path, config: datasets.DatasetDict(rows))
    data = load_task_data(get_task("sst2").with_source_splits(), n_validation=6)
    assert data.dropped.unlabelled == 30 and data.pool_size == 50
    assert split_of(data.test) == {"test"} and len(data.test) == 10 and len(data.train) == 34


def test_only_a_hub_task_has_splits_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"task 'tweets-sentiment' reads package_csv:.*which has no splits of its own; "
                                        r"allowed: official splits with a Hub task"):
        get_task("tweets-sentiment").with_source_splits()
    file = tmp_path / "d.csv"
    file.write_text("text,label\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(8)))
    with pytest.raises(TaskError, match="--data FILE --split-field COLUMN"):
        task_from_file(file, text_fields="text", label_field="label").with_source_splits()


def test_the_recipe_and_the_command_line_say_it(tmp_path: Path) -> None:
    base = "model: bert\ntask: sst2\nspace: s.yaml\n"
    recipe = parse_recipe(base + "data: {official_splits: true, n_test: 8}\n", "r.yaml", tmp_path)
    assert recipe.data.official_splits and recipe.to_dict()["data"]["official_splits"] is True
    with pytest.raises(AutopeftError, match=r"official_splits.*must be true or false \(got 'maybe'\)"):
        parse_recipe(base + "data: {official_splits: maybe}\n", "r.yaml", tmp_path)
    plain = parse_recipe(base, "r.yaml", tmp_path)
    assert not plain.data.official_splits
    flagged = apply_overrides(plain, official_splits=True)
    assert flagged.data.official_splits and search_flags(flagged.to_dict()) == ["--official-splits"]
    with pytest.raises(RecipeError, match="a file has none; allowed: --data FILE --split-field COLUMN"):
        apply_overrides(plain, data="d.csv", text_fields="text", label_field="label", official_splits=True)


def test_a_dry_run_shows_the_official_splits_and_a_packaged_task_refuses_them(
        tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    tiny_recipe = tiny.tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=4, budget=2, file="recipe.yaml",
                                   lr_factors=[1])
    swap_hub(monkeypatch, lambda path, config: fake_hub_dataset(("sentence",), ("negative", "positive"), GLUE_SPLITS))
    code = main(["search", str(tiny_recipe), "--task", "sst2", "--official-splits", "--n-test", "8", "--dry-run",
                 "--budget", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert ("data: 52 train / 12 validation / 8 test examples (data seed 0; validation as the dataset's own splits "
            "mark it; drawn from 72 examples: 82 rows less 10 unlabelled)") in out
    assert "note: the dataset's own splits: 52 train, 12 validation, 8 test (test drawn from the rows" in out
    run = tmp_path / "run"  # the run journals them, its status says so, and its commands repeat the flag
    code = main(["search", str(tiny_recipe), "--task", "sst2", "--official-splits", "--n-test", "8", "--budget", "1",
                 "--out", str(run)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "data: 52 train / 12 validation / 8 test examples (data seed 0; validation as the dataset's own" in out
    with Journal.open(run, lock=False) as journal:
        recipe = journal.recipe
    assert recipe["data"]["official_splits"] is True and "--official-splits" in search_flags(recipe)
    code = main(["search", str(tiny_recipe), "--task", "tweets-sentiment", "--official-splits", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and "which has no splits of its own" in err and len(err.strip().splitlines()) == 1, err
    code = main(["search", "--resume", "runs/x", "--official-splits"])
    err = capsys.readouterr().err
    assert code == 2 and "--official-splits cannot be given with --resume" in err, err


def test_split_names_place_the_other_splits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """MNLI: validation_matched as validation, validation_mismatched as test (``--split-names``)."""
    rows = {name: datasets.Dataset.from_dict({"sentence": [f"s {name} {i}" for i in range(n)],
                                              "label": [0, 1] * (n // 2)})
            for name, n in (("train", 40), ("validation_matched", 8), ("validation_mismatched", 6))}
    swap_hub(monkeypatch, lambda path, config: datasets.DatasetDict(rows))
    names = {"Validation_Matched": "validation", "validation_mismatched": "test"}
    data = load_task_data(get_task("sst2").with_source_splits().with_split_names(names))
    assert split_of(data.validation) == {"validation_matched"} and len(data.validation) == 8
    assert split_of(data.test) == {"validation_mismatched"} and len(data.test) == 6 and len(data.train) == 40
    with pytest.raises(TaskError, match=r"--split-names validation_matched=validation\)$"):
        load_task_data(get_task("sst2").with_source_splits())
    with pytest.raises(TaskError, match="split names validation_matched=dev do not name a split; allowed: "
                                        "NAME=train, NAME=validation or NAME=test"):
        get_task("sst2").with_source_splits().with_split_names({"validation_matched": "dev"})
    with pytest.raises(TaskError, match="rename the splits a split column or a Hub dataset marks; allowed with "
                                        "--split-field COLUMN or --official-splits"):
        get_task("sst2").with_split_names({"validation_matched": "validation"})
    file = tmp_path / "d.csv"  # a file's split column may use its own names too
    marks = ("train", "train", "train", "holdout")
    file.write_text("text,label,part\n" + "".join(f"row {i},{'ab'[i % 2]},{marks[i % 4]}\n" for i in range(40)))
    task = task_from_file(file, text_fields="text", label_field="label", split_field="part",
                          split_names={"holdout": "test"})
    assert len(load_task_data(task, n_validation=4).test) == 10


def test_split_names_from_the_recipe_and_the_command_line(tmp_path: Path) -> None:
    base = "model: bert\ntask: sst2\nspace: s.yaml\n"
    recipe = parse_recipe(base + "data: {official_splits: true, split_names: {validation_matched: validation}}\n",
                          "r.yaml", tmp_path)
    assert recipe.data.split_names == {"validation_matched": "validation"}
    assert recipe.load_task().split_names == (("validation_matched", "validation"),)
    with pytest.raises(AutopeftError, match=r"split_names.*must map split names to train, validation or test"):
        parse_recipe(base + "data: {split_names: [a, b]}\n", "r.yaml", tmp_path)
    flagged = apply_overrides(parse_recipe(base, "r.yaml", tmp_path), official_splits=True,
                              split_names="validation_matched=validation, validation_mismatched=test")
    assert flagged.data.split_names == {"validation_matched": "validation", "validation_mismatched": "test"}
    assert search_flags(flagged.to_dict())[-2:] == ["--split-names",
                                                    "validation_matched=validation, validation_mismatched=test"]
    for text in ("validation_matched", "=test", "a=b,,c"):
        with pytest.raises(RecipeError, match="--split-names wants NAME=SPLIT pairs separated by commas"):
            apply_overrides(flagged, split_names=text)
