"""The journal's SQLite file: its schema, its integrity and version check, and one-transaction writes."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from autopeft.errors import AutopeftError
from autopeft.version import __version__

__all__ = ["SCHEMA_VERSION", "JournalError", "check_schema", "initialise", "transaction"]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY,
    phase TEXT NOT NULL,
    state TEXT NOT NULL,
    config TEXT NOT NULL,
    config_key TEXT NOT NULL,
    fidelity TEXT NOT NULL,
    seed INTEGER NOT NULL,
    origin TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS trials_state ON trials (phase, state);
"""


class JournalError(AutopeftError):
    """A run folder that is not a run, a journal from a newer schema, a run held by another process."""


def check_schema(conn: sqlite3.Connection, db: Path) -> int:
    """The journal's schema version, after SQLite's quick check and the meta table's presence."""
    check = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
    if check != ["ok"]:
        first = next((ln for c in check for ln in c.splitlines() if not ln.startswith("***")), check[0])
        raise JournalError(f"{db} is damaged (SQLite integrity check: {first[:120]}); it was not changed; "
                           "restore it from a copy")
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        raise JournalError(f"{db} is empty or not an autopeft journal (no meta table)")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise JournalError(f"{db} has no schema version; it is not an autopeft journal")
    try:
        return int(json.loads(row["value"]))
    except (ValueError, TypeError):
        raise JournalError(f"{db} has a malformed schema version {row['value']!r}") from None


def initialise(conn: sqlite3.Connection, meta: Mapping[str, Any]) -> None:
    """The tables and the meta rows in one transaction: a reader that opens the file meanwhile sees either no
    tables or a whole journal, never a meta table without its schema version."""
    rows = {"schema_version": SCHEMA_VERSION, "autopeft_version": __version__, "created": time.time(), **meta}
    with transaction(conn):
        for statement in filter(str.strip, SCHEMA.split(";")):
            conn.execute(statement)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in rows.items()])


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One transaction; on any error (a failed COMMIT included: a full disk) it is rolled back, never half kept."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
