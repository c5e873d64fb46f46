"""The journal: one SQLite file per run (``runs/NAME/study.db``) holding the recipe and every trial.

WAL mode, one transaction per state change, a schema version. Trials move
``waiting -> running -> complete | failed | pruned``; a trial left ``running`` by a process that died
(kill -9 included) goes back to ``waiting`` when the run is resumed, so it is re-run and no completed
trial is lost or repeated. A run folder is held by one process at a time through an OS file lock
(``fcntl.flock``), which the kernel releases when the process dies.

>>> j = Journal.create("runs/demo", recipe={"name": "demo"})        # doctest: +SKIP
>>> t = j.add_trial({"method": "ia3"}, Fidelity(steps=10), seed=0, origin="random")  # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from autopeft.errors import AutopeftError
from autopeft.trial import Fidelity, TrialResult, config_key
from autopeft.version import __version__

SCHEMA_VERSION = 1
DB_NAME = "study.db"
LOCK_NAME = ".lock"
STATES = ("waiting", "running", "complete", "failed", "pruned")

_SCHEMA = """
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


@dataclass(frozen=True)
class Trial:
    """One row of the journal, as it stands (immutable: a state change gives a new record)."""

    number: int
    phase: str                  # "search" or "finalize"
    state: str
    config: dict[str, Any]
    fidelity: Fidelity
    seed: int
    origin: str                 # reference name, controller name, "finalize:<source trial>"
    created: float
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    result: TrialResult | None = None
    error: str | None = None

    @property
    def values(self) -> dict[str, float]:
        """Validation metrics plus parameter counts of a complete trial ({} otherwise)."""
        if self.state != "complete" or self.result is None:
            return {}
        out = dict(self.result.metrics)
        if self.result.trainable_params is not None:
            out["trainable_params"] = float(self.result.trainable_params)
        return out


class Journal:
    """Read and write one run's journal; see the module docstring."""

    def __init__(self, folder: Path, conn: sqlite3.Connection, lock: IO[str] | None) -> None:
        self.folder = folder
        self._conn = conn
        self._lock = lock

    # ---- opening --------------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.row_factory = sqlite3.Row
        return conn

    @staticmethod
    def _acquire(folder: Path) -> IO[str]:
        handle = open(folder / LOCK_NAME, "a+")  # noqa: SIM115 - held for the journal's life
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise JournalError(f"run {str(folder)!r} is in progress in {holder}; wait for it to finish or stop it "
                               "before resuming") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        return handle

    @classmethod
    def create(cls, folder: str | Path, recipe: Mapping[str, Any], *, lock: bool = True) -> Journal:
        """A new run in ``folder`` (refused if it already holds a journal)."""
        path = Path(folder)
        if (path / DB_NAME).exists():
            raise JournalError(f"{str(path)!r} already holds a run; resume it with --resume {path} "
                               "or choose another --out")
        if path.exists() and not path.is_dir():
            raise JournalError(f"{str(path)!r} is a file; allowed: a new or empty folder for the run")
        path.mkdir(parents=True, exist_ok=True)
        handle = cls._acquire(path) if lock else None
        conn = cls._connect(path / DB_NAME)
        conn.executescript(_SCHEMA)
        with _transaction(conn):
            for key, value in (("schema_version", SCHEMA_VERSION), ("autopeft_version", __version__),
                               ("created", time.time()), ("recipe", dict(recipe))):
                conn.execute("INSERT INTO meta VALUES (?, ?)", (key, json.dumps(value)))
        return cls(path, conn, handle)

    @classmethod
    def open(cls, folder: str | Path, *, lock: bool = True) -> Journal:
        """An existing run; ``lock=False`` for read-only commands (status, pareto, report)."""
        path = Path(folder)
        db = path / DB_NAME
        if not path.is_dir() or not db.is_file():
            raise JournalError(f"{str(path)!r} is not a run folder (no {DB_NAME}); allowed: a folder made by "
                               "`autopeft search --out`")
        handle = cls._acquire(path) if lock else None
        try:
            conn = cls._connect(db)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{db} is not a readable journal: {exc}") from None
        if row is None:
            raise JournalError(f"{db} has no schema version; it is not an autopeft journal")
        version = int(json.loads(row["value"]))
        if version > SCHEMA_VERSION:
            raise JournalError(f"{db} has journal schema {version}, newer than this autopeft reads "
                               f"({SCHEMA_VERSION}); upgrade autopeft")
        return cls(path, conn, handle)

    @classmethod
    def in_memory(cls, recipe: Mapping[str, Any] | None = None) -> Journal:
        """A journal that lives in memory only (no folder, no lock): a benchmark replay runs the search loop
        on one, so it exercises the code a real search runs without touching the disk."""
        conn = cls._connect(Path(":memory:"))
        conn.executescript(_SCHEMA)
        with _transaction(conn):
            for key, value in (("schema_version", SCHEMA_VERSION), ("autopeft_version", __version__),
                               ("created", time.time()), ("recipe", dict(recipe or {}))):
                conn.execute("INSERT INTO meta VALUES (?, ?)", (key, json.dumps(value)))
        return cls(Path(":memory:"), conn, None)

    def close(self) -> None:
        self._conn.close()
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- meta -------------------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        with _transaction(self._conn):
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    @property
    def recipe(self) -> dict[str, Any]:
        return dict(self.meta("recipe", {}))

    # ---- trials -------------------------------------------------------------------------------------
    def add_trial(self, config: Mapping[str, Any], fidelity: Fidelity, *, seed: int, origin: str,
                  phase: str = "search") -> Trial:
        """Insert a waiting trial (one transaction)."""
        with _transaction(self._conn):
            cur = self._conn.execute(
                "INSERT INTO trials (phase, state, config, config_key, fidelity, seed, origin, created) "
                "VALUES (?, 'waiting', ?, ?, ?, ?, ?, ?)",
                (phase, json.dumps(dict(config)), config_key(config), json.dumps(fidelity.to_dict()), seed, origin,
                 time.time()))
            number = int(cur.lastrowid or 0)
        return self.trial(number)

    def start(self, number: int) -> Trial:
        with _transaction(self._conn):
            self._conn.execute("UPDATE trials SET state = 'running', started = ?, attempts = attempts + 1 "
                               "WHERE number = ?", (time.time(), number))
        return self.trial(number)

    def finish(self, number: int, result: TrialResult, *, state: str | None = None) -> Trial:
        """Record a trial's result: complete or failed from the result, or ``state`` (e.g. pruned)."""
        final = state or result.status
        if final not in STATES[2:]:
            raise ValueError(f"final state {final!r} is not one of {', '.join(STATES[2:])}")
        with _transaction(self._conn):
            self._conn.execute("UPDATE trials SET state = ?, finished = ?, result = ?, error = ? WHERE number = ?",
                               (final, time.time(), json.dumps(result.to_dict()), result.error, number))
        return self.trial(number)

    def requeue_interrupted(self) -> list[int]:
        """Running trials of a dead process go back to waiting; returns their numbers."""
        with _transaction(self._conn):
            rows = self._conn.execute("SELECT number FROM trials WHERE state = 'running'").fetchall()
            self._conn.execute("UPDATE trials SET state = 'waiting', started = NULL WHERE state = 'running'")
        return [int(r["number"]) for r in rows]

    def trial(self, number: int) -> Trial:
        row = self._conn.execute("SELECT * FROM trials WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise JournalError(f"no trial {number} in {self.folder}")
        return _trial(row)

    def trials(self, *, phase: str | None = "search", states: tuple[str, ...] | None = None) -> list[Trial]:
        query, args = "SELECT * FROM trials", []
        clauses = []
        if phase is not None:
            clauses.append("phase = ?")
            args.append(phase)
        if states:
            clauses.append(f"state IN ({', '.join('?' * len(states))})")
            args.extend(states)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        rows = self._conn.execute(query + " ORDER BY number", args).fetchall()
        return [_trial(r) for r in rows]

    def counts(self, phase: str = "search") -> dict[str, int]:
        rows = self._conn.execute("SELECT state, COUNT(*) AS n FROM trials WHERE phase = ? GROUP BY state",
                                  (phase,)).fetchall()
        out = dict.fromkeys(STATES, 0)
        out.update({r["state"]: int(r["n"]) for r in rows})
        return out


def _trial(row: sqlite3.Row) -> Trial:
    result = TrialResult.from_dict(json.loads(row["result"])) if row["result"] else None
    return Trial(number=int(row["number"]), phase=row["phase"], state=row["state"], config=json.loads(row["config"]),
                 fidelity=Fidelity(**json.loads(row["fidelity"])), seed=int(row["seed"]), origin=row["origin"],
                 created=float(row["created"]), started=row["started"], finished=row["finished"],
                 attempts=int(row["attempts"]), result=result, error=row["error"])


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
