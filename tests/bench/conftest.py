"""A synthetic PEFT-Bench table over spaces/peftbench-minilm.yaml, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopeft.bench.table import Table, load_table
from tests.bench import synthetic


@pytest.fixture(scope="session")
def synthetic_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.write(tmp_path_factory.mktemp("peftbench"))


@pytest.fixture(scope="session")
def table(synthetic_csv: Path) -> Table:
    return load_table(synthetic_csv)
