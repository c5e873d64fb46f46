"""A source's raw rows as one immutable table, the form every source kind reads into."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from autopeft.errors import TaskError

__all__ = ["Table"]


@dataclass(frozen=True)
class Table:
    """Raw rows, column-major and immutable (safe to cache): ``data[i]`` holds column ``columns[i]``;
    ``class_names``: (column, its class names) for each column a Hub dataset declares a ``ClassLabel``."""

    columns: tuple[str, ...]
    data: tuple[tuple[Any, ...], ...]
    origin: str
    class_names: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        if len(self.columns) != len(self.data):
            raise TaskError(f"{self.origin}: {len(self.columns)} column names for {len(self.data)} columns")
        if len({len(col) for col in self.data}) > 1:
            raise TaskError(f"{self.origin}: columns have different lengths")

    def __len__(self) -> int:
        return len(self.data[0]) if self.data else 0

    def column(self, name: str) -> tuple[Any, ...]:
        if name not in self.columns:
            raise TaskError(f"column {name!r} not in {self.origin}; it has columns: {', '.join(self.columns)}")
        return self.data[self.columns.index(name)]

    def renamed(self, mapping: Iterable[tuple[str, str]]) -> Table:
        """Columns renamed ``old -> new`` where ``old`` exists and ``new`` does not (a no-op otherwise)."""
        names = list(self.columns)
        for old, new in mapping:
            if old in names and new not in names:
                names[names.index(old)] = new
        rename = dict(zip(self.columns, names, strict=True))
        return Table(tuple(names), self.data, self.origin,
                     tuple((rename[column], classes) for column, classes in self.class_names))

    def classes_of(self, column: str) -> tuple[str, ...] | None:
        """The class names a ``ClassLabel`` column declares (``None`` for any other column)."""
        return dict(self.class_names).get(column)
