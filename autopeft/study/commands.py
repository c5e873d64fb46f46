"""The command-line flags that made a run's recipe out of its recipe file, for the commands that model cards and
reports show to make the run again.

>>> search_flags({"overrides": {"model": "./my-deberta", "task": "bbc-news"}})
['--model', './my-deberta', '--task', 'bbc-news']
>>> search_flags({"overrides": {"data": "reviews.csv", "text_fields": "text", "label_field": "label"}})
['--data', 'reviews.csv', '--text-fields', 'text', '--label-field', 'label']
>>> search_flags({"overrides": {"task": "sst2", "official_splits": True}})
['--task', 'sst2', '--official-splits']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["search_flags"]

#: override key -> its ``autopeft search`` flag, in the order the flags are shown
FLAGS = (("model", "--model"), ("task", "--task"), ("data", "--data"), ("hub_dataset", "--hub-dataset"),
         ("hub_config", "--hub-config"), ("text_fields", "--text-fields"),
         ("label_field", "--label-field"), ("split_field", "--split-field"),
         ("official_splits", "--official-splits"), ("split_names", "--split-names"), ("n_train", "--n-train"),
         ("n_validation", "--n-validation"), ("n_test", "--n-test"))


def search_flags(recipe: Mapping[str, Any]) -> list[str]:
    """``--model``, ``--task``, ``--data`` (with its columns) and the data sizes as the journaled ``recipe``
    records them (its ``overrides``; journals from before kept only a ``--task`` there)."""
    overrides = recipe.get("overrides") or {}
    flags: list[str] = []
    for key, flag in FLAGS:
        if overrides.get(key) is True:  # a switch
            flags.append(flag)
        elif overrides.get(key):
            flags += [flag, str(overrides[key])]
    return flags
