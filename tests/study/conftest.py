"""A tiny search recipe: tiny BERT, a local sentiment CSV, a small space with references."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from benchmarks.reliability import tiny


def write_recipe(folder: Path, model: Path, data: Path, *, steps: int = 4, budget: int = 6) -> Path:
    """``recipe.yaml`` and its space in ``folder``: random controller, two references at one learning rate."""
    return tiny.tiny_recipe(folder, model, data, steps=steps, budget=budget, file="recipe.yaml", lr_factors=[1])


@pytest.fixture
def tiny_recipe(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> Path:
    return write_recipe(tmp_path, tiny_bert_dir, sentiment_csv)


def terminal_sigint() -> None:
    """In the child: Ctrl-C's default action, as in a terminal. A suite started in the background by a shell
    (``pytest &``, ``nohup``) runs with SIGINT ignored, and children inherit that, so without this a SIGINT
    would never reach the search and the test would wait for nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
