"""Tasks: what to fine-tune on and how to score it, with fixed seeded train/validation/test splits.

Named tasks live in a registry (``task_names()``): two that work offline from corpora carried by pip packages
(``tweets-sentiment``, ``bbc-news``) and Hub tasks (``sst2``, ``rte``, ``boolq``, ``cb``, ``ag_news``, ``cola``)
that need the Hugging Face Hub. Any local CSV / TSV / JSONL / Parquet file becomes a task with
:func:`task_from_file`, and any Hub dataset one with :func:`task_from_hub`.

>>> from autopeft.tasks import load_task_data                                  # doctest: +SKIP
>>> data = load_task_data("tweets-sentiment", seed=0, n_train=1000)            # doctest: +SKIP
>>> ex = data.train[0]                                                         # doctest: +SKIP
>>> data.task.prompt(ex), ex.label, ex.target                                  # doctest: +SKIP
('Tweet: ...\\nWhat is the sentiment of this tweet? Options: negative, neutral, positive', 2, 'positive')
"""

from __future__ import annotations

from autopeft.tasks.adhoc import task_from_file, task_from_hub
from autopeft.tasks.base import Example, Task
from autopeft.tasks.registry import get_task, load_task_data, offline_task_names, register_task, task_names
from autopeft.tasks.sources import Source, read_source, register_source_kind
from autopeft.tasks.splits import TaskData, split_examples
from autopeft.tasks.table import Table

__all__ = ["Example", "Source", "Table", "Task", "TaskData", "get_task", "load_task_data", "offline_task_names",
           "read_source", "register_source_kind", "register_task", "split_examples", "task_from_file",
           "task_from_hub", "task_names"]
