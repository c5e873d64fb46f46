"""A task over any Hub dataset (``task_from_hub``, a recipe's ``task: {hub: ...}``, ``--hub-dataset``), through an
in-memory ``DatasetDict`` in place of the Hub: class names from its ``ClassLabel``, every refusal one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import pytest

from autopeft.cli import main
from autopeft.errors import AutopeftError, RecipeError, TaskError
from autopeft.study.commands import search_flags
from autopeft.study.export import _task_info
from autopeft.study.overrides import apply_overrides
from autopeft.study.provenance import task_identity
from autopeft.study.recipe import parse_recipe
from autopeft.tasks import load_task_data, task_from_hub
from autopeft.tasks.sources import read_source
from benchmarks.reliability import tiny
from tests.tasks.test_sources import swap_hub

NLI = ("entailment", "neutral", "contradiction")


def mnli_like(per_class: int = 12) -> datasets.DatasetDict:
    """MNLI's shape: a ClassLabel label, pair columns, two validation splits and an unlabelled test split."""
    features = datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=list(NLI)), "idx": datasets.Value("int32")})

    def split(name: str, n: int, labelled: bool = True) -> datasets.Dataset:
        labels = [k for k in range(3) for _ in range(n)] if labelled else [-1] * n
        return datasets.Dataset.from_dict({"premise": [f"p {name} {i}" for i in range(len(labels))],
                                           "hypothesis": [f"h {name} {i}" for i in range(len(labels))],
                                           "label": labels, "idx": list(range(len(labels)))}, features=features)

    return datasets.DatasetDict({"train": split("train", per_class), "validation_matched": split("vm", 3),
                                 "validation_mismatched": split("vmm", 3), "test_matched": split("tm", 5, False)})


def test_a_hub_dataset_is_a_task_with_the_class_names_it_declares(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = swap_hub(monkeypatch, lambda path, config: mnli_like())
    task = task_from_hub("nyu-mll/glue", "mnli", text_fields=["premise", "hypothesis"], label_field="label")
    assert calls == [("nyu-mll/glue", "mnli")]
    assert task.name == "glue-mnli" and task.label_names == NLI and task.verbalizers == NLI
    assert task.description == "Hub dataset nyu-mll/glue/mnli" and task.source.kind == "hub"
    data = load_task_data(task, seed=0, n_test=6, n_validation=6)
    assert data.dropped.unlabelled == 5 and data.pool_size == 36 + 9 + 9  # every labelled split pooled
    for ex in data.train:
        assert ex.texts[0].split()[1:] == ex.texts[1].split()[1:]
    assert {ex.label for ex in data.test} == {0, 1, 2}
    assert read_source(task.source).classes_of("label") == NLI and read_source(task.source).classes_of("idx") is None


def test_given_names_and_string_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    swap_hub(monkeypatch, lambda path, config: mnli_like())
    named = task_from_hub("nyu-mll/glue", "mnli", text_fields=["premise", "hypothesis"], label_field="label",
                          label_names=["yes", "maybe", "no"], name="nli")
    assert named.name == "nli" and named.label_names == ("yes", "maybe", "no")
    words = datasets.DatasetDict({"train": datasets.Dataset.from_dict(
        {"text": [f"t {i}" for i in range(12)], "stars": ["good", "bad", "meh"] * 4})})
    swap_hub(monkeypatch, lambda path, config: words)
    assert task_from_hub("me/reviews", text_fields="text", label_field="stars").label_names == ("bad", "good", "meh")
    summaries = datasets.DatasetDict({"train": datasets.Dataset.from_dict(
        {"dialogue": [f"d {i}" for i in range(12)], "summary": [f"s {i}" for i in range(12)]})})
    swap_hub(monkeypatch, lambda path, config: summaries)
    generation = task_from_hub("me/dialogues", text_fields="dialogue", label_field="summary", kind="generation")
    assert generation.metric == "rouge_l" and load_task_data(generation, n_test=2, n_validation=2).pool_size == 12


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"text_fields": "sentence", "label_field": "label"},
     "column\\(s\\) 'sentence' not in the Hub dataset nyu-mll/glue/mnli; the dataset has columns: premise, "
     "hypothesis, label, idx$"),
    ({"text_fields": ["premise", "hypothesis"], "label_field": "label", "kind": "ranking"},
     "kind 'ranking' is not allowed; allowed: classification, generation"),
    ({"text_fields": ["premise", "hypothesis"], "label_field": "idx"},
     "reads as free text; allowed: a column of class labels .* task: \\{hub: nyu-mll/glue, config: mnli, kind: "
     "generation"),
])
def test_bad_columns_are_one_line_naming_what_is_there(kwargs: dict[str, Any], message: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    swap_hub(monkeypatch, lambda path, config: mnli_like(per_class=30))
    with pytest.raises(TaskError, match=message):
        task_from_hub("nyu-mll/glue", "mnli", **kwargs)


def test_an_unreachable_hub_says_how_to_bring_the_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(path: str, config: str | None) -> Any:
        raise ConnectionError(f"Couldn't reach {path!r} on the Hub (LocalEntryNotFoundError)")

    swap_hub(monkeypatch, unreachable)
    with pytest.raises(TaskError, match=r"task 'glue-mnli' needs the Hugging Face Hub, which is unreachable; download "
                                        r"it where the Hub is reachable .*--data glue-mnli\.csv"):
        task_from_hub("nyu-mll/glue", "mnli", text_fields=["premise", "hypothesis"], label_field="label")
    for path, config in ((" ", None), (None, None), ("nyu-mll/glue", 3)):
        with pytest.raises(TaskError, match=r"must be a (Hub dataset such as nyu-mll/glue|configuration name such as "
                                            r"mnli), got "):
            task_from_hub(path, config, text_fields="premise", label_field="label")  # type: ignore[arg-type]


def test_a_recipe_names_a_hub_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    swap_hub(monkeypatch, lambda path, config: mnli_like())
    text = ("model: bert\nspace: s.yaml\ntask: {hub: nyu-mll/glue, config: mnli, text_fields: [premise, hypothesis], "
            "label_field: label}\n")
    recipe = parse_recipe(text, "r.yaml", tmp_path)
    assert recipe.task_name == "glue-mnli" and recipe.load_task().label_names == NLI
    assert task_identity(recipe) == {"hub": "nyu-mll/glue", "config": "mnli"}
    info = _task_info(recipe.to_dict()["task"])
    assert info is not None and (info.name, info.dataset) == ("glue-mnli", "nyu-mll/glue")
    with pytest.raises(AutopeftError, match="split_field"):
        parse_recipe(text.replace("label_field: label", "label_field: label, split_field: part"), "r.yaml", tmp_path)
    with pytest.raises(AutopeftError, match="label_field"):
        parse_recipe(text.replace(", label_field: label", ""), "r.yaml", tmp_path)


def test_the_command_line_names_a_hub_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    swap_hub(monkeypatch, lambda path, config: mnli_like())
    plain = parse_recipe("model: bert\ntask: sst2\nspace: s.yaml\n", "r.yaml", tmp_path)
    recipe = apply_overrides(plain, hub_dataset="nyu-mll/glue", hub_config="mnli", text_fields="premise,hypothesis",
                             label_field="label", official_splits=True)
    assert recipe.task == {"hub": "nyu-mll/glue", "config": "mnli", "text_fields": ["premise", "hypothesis"],
                           "label_field": "label"}
    assert recipe.name == "r-glue-mnli" and recipe.data.official_splits
    assert search_flags(recipe.to_dict()) == ["--hub-dataset", "nyu-mll/glue", "--hub-config", "mnli",
                                              "--text-fields", "premise,hypothesis", "--label-field", "label",
                                              "--official-splits"]
    for kwargs, message in (
            ({"hub_dataset": "x/y"}, r"--hub-dataset needs --text-fields and --label-field \(the dataset's column "
                                     r"names: premise, hypothesis, label \(classes: entailment, neutral, "
                                     r"contradiction\), idx\)$"),
            ({"hub_config": "mnli"}, "--hub-config with --hub-dataset NAME"),
            ({"hub_dataset": "x/y", "data": "d.csv"}, "give one of --task, --data and --hub-dataset, not --data and "
                                                      "--hub-dataset"),
            ({"hub_dataset": "x/y", "text_fields": "t", "label_field": "l", "split_field": "s"},
             "a Hub dataset's own splits are kept with --official-splits"),
            ({"data": "d.csv", "text_fields": "t", "label_field": "l", "hub_config": "c"},
             "--hub-config goes with --hub-dataset NAME, not with --data FILE"),
            ({"hub_dataset": " "}, "--hub-dataset is empty")):
        with pytest.raises(RecipeError, match=message):
            apply_overrides(plain, **kwargs)


@pytest.fixture
def mnli_search(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``autopeft search`` of a tiny recipe on the MNLI-shaped dataset in place of the Hub."""
    swap_hub(monkeypatch, lambda path, config: mnli_like())
    recipe = tiny.tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=4, budget=2, file="recipe.yaml",
                              lr_factors=[1])
    return ["search", str(recipe), "--hub-dataset", "nyu-mll/glue", "--hub-config", "mnli", "--text-fields",
            "premise,hypothesis", "--label-field", "label"]


def test_a_search_on_a_hub_dataset_from_the_command_line(mnli_search: list[str], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    args = [*mnli_search, "--n-test", "6", "--n-validation", "6"]
    code = main([*args, "--budget", "1", "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "data: 42 train / 6 validation / 6 test examples (data seed 0; drawn from 54 examples: 59 rows less 5 " \
           "unlabelled)" in out
    code = main([*args, "--task", "sst2", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and "give one of --task, --data and --hub-dataset, not --task and --hub-dataset" in err


def test_a_dataset_folder_in_the_hubs_layout_loads_through_datasets_itself(tmp_path: Path) -> None:
    """No swapped loader: ``datasets.load_dataset`` reads a folder of ``data/<split>-*.parquet`` files as it
    reads a Hub repository, splits and ``ClassLabel`` included."""
    folder = mnli_like(per_class=4)
    for name, split in (("train", "train"), ("validation", "validation_matched"), ("test", "test_matched")):
        path = tmp_path / "nli" / "data" / f"{name}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        folder[split].to_parquet(str(path))
    task = task_from_hub(str(tmp_path / "nli"), text_fields=["premise", "hypothesis"], label_field="label")
    assert task.name == "nli" and task.label_names == NLI
    data = load_task_data(task.with_source_splits(), n_test=3)
    assert {ex.texts[0].split()[1] for ex in data.validation} == {"vm"} and len(data.validation) == 9
    assert data.dropped.unlabelled == 5 and len(data.test) == 3 and len(data.train) == 12 - 3
    info = _task_info({"hub": str(tmp_path / "nli"), "text_fields": ["premise"], "label_field": "label"})
    assert info is not None and info.dataset is None and info.description.startswith("the dataset folder ")
    with pytest.raises(TaskError, match=r"cannot load hub:\S+/missing from the Hub: \S+/missing: "
                                        r"FileNotFoundError: .*; allowed: a Hub dataset id \(nyu-mll/glue\) with "
                                        r"one of its configurations, or a local folder in a Hub repository's layout$"):
        task_from_hub(str(tmp_path / "missing"), text_fields="premise", label_field="label")


def test_mnli_official_splits_from_the_command_line(mnli_search: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    args = [*mnli_search, "--official-splits", "--dry-run"]
    code = main([*args, "--split-names", "validation_matched=validation,validation_mismatched=test"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "data: 36 train / 9 validation / 9 test examples (data seed 0; validation and test as the dataset's own " \
           "splits mark them; drawn from 54 examples: 59 rows less 5 unlabelled)" in out
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and "(--split-names validation_matched=validation)" in err and len(err.splitlines()) == 1, err
