"""A file's own splits (``split_field``): kept as the column marks them, capped by the sizes, the rest drawn."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autopeft.errors import TaskError
from autopeft.tasks import load_task_data, task_from_file
from autopeft.tasks.examples import SPLIT_NAMES

LABELS = ("neg", "pos")


def write(path: Path, marks: list[str], *, column: str = "part") -> Path:
    """Row i: text 'row i', label by i % 2 (after the first 2 rows of each 4 get neg: both classes in every
    split of a mark pattern that repeats every 4 rows), and its mark."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", column])
        for i, mark in enumerate(marks):
            writer.writerow([f"row {i}", LABELS[(i // 4 + i) % 2], mark])
    return path


def texts(examples: tuple[object, ...]) -> set[str]:
    return {ex.texts[0] for ex in examples}  # type: ignore[attr-defined]


def marked(marks: list[str], name: str) -> set[str]:
    return {f"row {i}" for i, m in enumerate(marks) if SPLIT_NAMES.get(m.strip().casefold()) == name}


def test_each_marked_split_is_exactly_its_rows(tmp_path: Path) -> None:
    marks = (["train"] * 6 + ["Dev", " validation "] + ["TEST", "test"]) * 8  # 48 train, 16 validation, 16 test
    task = task_from_file(write(tmp_path / "d.csv", marks), text_fields="text", label_field="label",
                          split_field="part")
    for seed in (0, 1):
        data = load_task_data(task, seed=seed)
        for name in ("train", "validation", "test"):
            assert texts(data.split(name)) == marked(marks, name), (seed, name)
        assert data.given() == ["train", "validation", "test"]
        assert data.summary()["split_field"] == "part" and data.summary()["given"] == data.given()
        assert data.given_note() == "the splits of column 'part': 48 train, 16 validation, 16 test"
    assert [ex.texts for ex in load_task_data(task, seed=0).test] != [ex.texts for ex in
                                                                        load_task_data(task, seed=1).test]


def test_the_sizes_cap_a_marked_split_in_the_seeded_stratified_order(tmp_path: Path) -> None:
    marks = (["train"] * 6 + ["validation"] * 2 + ["test"] * 2) * 8
    task = task_from_file(write(tmp_path / "d.csv", marks), text_fields="text", label_field="label",
                          split_field="part")
    full = load_task_data(task, seed=3)
    capped = load_task_data(task, seed=3, n_train=10, n_validation=4, n_test=1000)
    assert capped.test == full.test  # a cap above the split's rows keeps it whole
    assert capped.validation == full.validation[:4] and capped.train == full.train[:10]
    assert {ex.label for ex in capped.validation} == {0, 1}  # the seeded order is stratified: both classes early


def test_a_split_no_row_is_marked_is_drawn_from_the_train_rows(tmp_path: Path) -> None:
    marks = (["train"] * 8 + ["test"] * 2) * 6  # 48 train, 12 test, no validation
    task = task_from_file(write(tmp_path / "d.csv", marks), text_fields="text", label_field="label",
                          split_field="part")
    data = load_task_data(task, seed=0, n_validation=8)
    assert texts(data.test) == marked(marks, "test")
    assert texts(data.validation) | texts(data.train) == marked(marks, "train")
    assert len(data.validation) == 8 and not texts(data.validation) & texts(data.train)
    assert data.given() == ["train", "test"]
    assert data.given_note().endswith("(validation drawn from the rows marked train: no usable row is marked so)")
    with pytest.raises(TaskError, match="marks no row validation, and the 48 train rows left cannot give 48"):
        load_task_data(task, seed=0, n_validation=48)


@pytest.mark.parametrize(("marks", "message"), [
    (["train", "validation", "holdout", "test"] * 6,
     "split column 'part' of data file .* has 'holdout'; allowed in every row: train, training, validation"),
    (["train", "validation", "", "test"] * 6, "has 6 empty cell"),
    (["validation", "test"] * 12, "marks no usable row train \\(12 validation, 12 test\\)"),
])
def test_a_column_that_cannot_say_each_rows_split_is_refused(tmp_path: Path, marks: list[str], message: str) -> None:
    path = write(tmp_path / "d.csv", marks)
    with pytest.raises(TaskError, match=message):
        load_task_data(task_from_file(path, text_fields="text", label_field="label", split_field="part"))


def test_the_split_column_must_exist_and_be_its_own(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", ["train", "validation", "test"] * 8)
    with pytest.raises(TaskError, match="column\\(s\\) 'split' not in data file"):
        task_from_file(path, text_fields="text", label_field="label", split_field="split")
    with pytest.raises(TaskError, match="split_field 'label' must be a column of its own"):
        task_from_file(path, text_fields="text", label_field="label", split_field="label")


def test_class_notes_name_the_splits_that_lack_a_class(tmp_path: Path) -> None:
    marks = ["train"] * 12 + ["validation"] * 4 + ["test"] * 4
    path = tmp_path / "d.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "part"])
        for i, mark in enumerate(marks):  # validation: neg only; test: pos only
            label = LABELS[i % 2] if mark == "train" else ("neg" if mark == "validation" else "pos")
            writer.writerow([f"row {i}", label, mark])
    data = load_task_data(task_from_file(path, text_fields="text", label_field="label", split_field="part"))
    notes = data.class_notes()
    assert notes == [
        "class 'pos' has no example in the validation split (4 examples): the search cannot tell how a model does "
        "on it, and its at-chance level is 1.0; the validation split needs examples of every class",
        "class 'neg' has no example in the test split (4 examples): finalize cannot tell how a model does on it; "
        "the test split needs examples of every class"]


def test_a_marked_split_of_unlabelled_rows_is_drawn_from_train(tmp_path: Path) -> None:
    """GLUE's test split has no labels: its rows are left out of the pool, so test is drawn from train."""
    path = tmp_path / "glue.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "part"])
        for i in range(60):
            part = ("train", "train", "train", "validation", "test")[i % 5]
            writer.writerow([f"row {i}", "" if part == "test" else LABELS[(i // 5) % 2], part])
    data = load_task_data(task_from_file(path, text_fields="text", label_field="label", split_field="part"),
                          n_test=6)
    assert data.given() == ["train", "validation"] and data.dropped.unlabelled == 12
    assert len(data.test) == 6 and {ex.split for ex in data.test} == {"train"}
    assert data.given_note() == ("the splits of column 'part': 30 train, 12 validation, 6 test (test drawn from the "
                                 "rows marked train: no usable row is marked so)")
