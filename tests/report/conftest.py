"""A real (tiny) run to report on: a search on tiny BERT, finalized, built once per session in seconds."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from tests.study.conftest import write_recipe


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, sentiment_csv: Path) -> Path:
    """14 trials (enough for the importance surrogate), the knee finalized over 2 seeds."""
    from autopeft.study.finalize import finalize
    from autopeft.study.recipe import load_recipe
    from autopeft.study.search import run_search

    folder = tmp_path_factory.mktemp("report-run")
    recipe = write_recipe(folder, tiny_bert_dir, sentiment_csv, steps=2, budget=14)
    out = folder / "run"
    run_search(load_recipe(recipe), out, stream=io.StringIO())
    finalize(out, "knee", seeds=2, stream=io.StringIO())
    return out


@pytest.fixture
def unfinalized_run(tiny_run: Path, tmp_path: Path) -> Path:
    """A copy of the tiny run with its finalize trials removed."""
    import sqlite3

    copy = tmp_path / "unfinalized"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("finalized", "*.lock"))
    with sqlite3.connect(copy / "study.db") as conn:
        conn.execute("DELETE FROM trials WHERE phase = 'finalize'")
    return copy
