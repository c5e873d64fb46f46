"""Every test starts and ends with an empty table cache, so a swapped loader is really called."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autopeft.tasks.sources import clear_cache


@pytest.fixture(autouse=True)
def _fresh_source_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()
