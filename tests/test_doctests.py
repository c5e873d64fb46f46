"""The examples in the docstrings of the pure modules run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

PURE = ["autopeft.space.spec", "autopeft.space.parsing", "autopeft.space.selectors", "autopeft.space.yaml_fields",
        "autopeft.space.dimensions", "autopeft.space.references", "autopeft.objectives", "autopeft.pareto",
        "autopeft.trial", "autopeft.bench.paired", "autopeft.bench.oracle",
        "autopeft.controllers.design", "autopeft.cli.finalize", "autopeft.cli.predict", "autopeft.study.classes",
        "autopeft.study.finalize", "autopeft.tasks.splits"]


@pytest.mark.parametrize("name", PURE)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
