"""The journal: one SQLite file per run (``runs/NAME/study.db``) holding the recipe and every trial
(its schema and transactions: :mod:`autopeft.study.journal_sql`).

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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from autopeft.paths import unwritable
from autopeft.study.journal_sql import SCHEMA_VERSION, JournalError, check_schema, initialise, transaction
from autopeft.trial import Fidelity, TrialResult, config_key

__all__ = ["DB_NAME", "LOCK_NAME", "SCHEMA_VERSION", "STATES", "Journal", "JournalError", "Trial"]

DB_NAME = "study.db"
LOCK_NAME = ".lock"
STATES = ("waiting", "running", "complete", "failed", "pruned")


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
    def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
        """A connection; ``readonly`` never writes the file (a run folder that cannot be written still reads:
        without a ``-wal`` file to merge, the database is read as immutable)."""
        if not readonly:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        else:
            try:
                conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                       timeout=30)
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                if Path(f"{path}-wal").exists() or os.access(path.parent, os.W_OK):
                    raise
                conn = sqlite3.connect(f"{path.absolute().as_uri()}?immutable=1", uri=True, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    @staticmethod
    def _acquire(folder: Path) -> IO[str]:
        try:
            handle = open(folder / LOCK_NAME, "a+")  # noqa: SIM115 - held for the journal's life
        except OSError as exc:
            raise JournalError(f"cannot write the run folder {str(folder)!r} ({folder / LOCK_NAME}: "
                               f"{exc.strerror}); allowed: a run folder this user can write (status, pareto and "
                               "report only read it)") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise JournalError(f"run {str(folder)!r} is in progress in {holder}; wait for it to finish or stop it "
                               "first (status, pareto, export and report only read it and work meanwhile)") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()}")
            handle.flush()
        except OSError as exc:
            handle.close()
            raise JournalError(f"cannot write {folder / LOCK_NAME}: {exc.strerror}; free space in the run folder "
                               "and try again") from None
        return handle

    @staticmethod
    def check_new(folder: str | Path) -> None:
        """Refuse a folder that already holds a run, or a file: a new search checks this before it loads its
        model, and :meth:`create` again."""
        path = Path(folder)
        if (path / DB_NAME).exists():
            raise JournalError(f"{str(path)!r} already holds a run; resume it with --resume {path} "
                               "or choose another --out")
        if path.exists() and not path.is_dir():
            raise JournalError(f"{str(path)!r} is a file; allowed: a new or empty folder for the run")
        reason = unwritable(path)
        if reason:
            raise JournalError(f"cannot create the run folder {str(path)!r}: {reason}; allowed: a folder this user "
                               "can write")

    @classmethod
    def create(cls, folder: str | Path, recipe: Mapping[str, Any], *, lock: bool = True,
               meta: Mapping[str, Any] | None = None) -> Journal:
        """A new run in ``folder`` (refused if it already holds a journal); ``meta`` (e.g. the search's settings)
        is written in the same transaction as the recipe, so a process killed right after creating the run
        cannot leave a journal without them."""
        path = Path(folder)
        cls.check_new(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"cannot create the run folder {str(path)!r}: {exc.strerror}; allowed: a folder "
                               "this user can write") from None
        handle = cls._acquire(path) if lock else None
        db = path / DB_NAME
        try:
            conn = cls._connect(db)
            initialise(conn, {"recipe": dict(recipe), **dict(meta or {})})
        except sqlite3.Error as exc:  # nothing was journaled: leave no half-made run behind
            for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                leftover.unlink(missing_ok=True)
            if handle is not None:
                handle.close()
            raise JournalError(f"cannot create the journal {db}: {exc}; allowed: a folder this user can write, "
                               "with free space") from None
        return cls(path, conn, handle)

    @classmethod
    def open(cls, folder: str | Path, *, lock: bool = True) -> Journal:
        """An existing run; ``lock=False`` for read-only commands (status, pareto, report), which never write.

        A journal that is truncated or corrupted (SQLite's quick check fails) is refused with one line naming
        the file, before anything is read from it or written to it."""
        path = Path(folder)
        db = path / DB_NAME
        if not path.is_dir() or not db.is_file():
            raise JournalError(f"{str(path)!r} is not a run folder (no {DB_NAME}); allowed: a folder made by "
                               "`autopeft search --out`")
        if lock:
            for target in (path, db):
                if not os.access(target, os.W_OK):
                    raise JournalError(f"cannot write {target} (permission denied); resuming or finalizing a run "
                                       "needs write access to its folder and journal (status, pareto and report "
                                       "only read it)")
        handle = cls._acquire(path) if lock else None
        try:
            conn = cls._connect(db, readonly=True)  # checked read-only first: a damaged file is never written
            version = check_schema(conn, db)
            if lock:
                conn.close()
                conn = cls._connect(db)
        except (sqlite3.Error, JournalError) as exc:
            if handle is not None:
                handle.close()
            if isinstance(exc, JournalError):
                raise
            raise JournalError(f"{db} is not a readable journal ({exc}); it may be truncated or corrupted; "
                               "it was not changed") from None
        if version > SCHEMA_VERSION:
            conn.close()
            if handle is not None:
                handle.close()
            raise JournalError(f"{db} has journal schema {version}, newer than this autopeft reads "
                               f"({SCHEMA_VERSION}); upgrade autopeft")
        return cls(path, conn, handle)

    @staticmethod
    def holder(folder: str | Path) -> str | None:
        """Who holds the run folder's lock now (``"process 1234"``), or ``None`` when no live process does: a
        read-only command (``status``) tells a run in progress from one whose process died. The probe is a
        shared, non-blocking lock released at once: it never waits, and a ``--resume`` that starts in those
        microseconds is refused in its one line ("in progress") and can simply be run again."""
        try:
            handle = open(Path(folder) / LOCK_NAME)  # noqa: SIM115 - closed below
        except OSError:
            return None                             # never locked (or unreadable): nothing to report
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "another process"
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None

    @classmethod
    def in_memory(cls, recipe: Mapping[str, Any] | None = None) -> Journal:
        """A journal that lives in memory only (no folder, no lock): a benchmark replay runs the search loop
        on one, so it exercises the code a real search runs without touching the disk."""
        conn = cls._connect(Path(":memory:"))
        initialise(conn, {"recipe": dict(recipe or {})})
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

    # ---- errors -----------------------------------------------------------------------------------
    @contextmanager
    def _guard(self, what: str, *, writing: bool = False) -> Iterator[None]:
        """SQLite errors (a full disk, a file that became unreadable, a damaged page) and malformed rows as one
        JournalError naming the file; a write that fails is rolled back, so what was journaled before stays."""
        try:
            yield
        except sqlite3.Error as exc:
            db = self.folder / DB_NAME
            if writing:
                raise JournalError(f"{db}: could not {what} ({exc}); nothing journaled before was changed; free "
                                   "space or fix permissions, then run the command again") from None
            raise JournalError(f"{db}: could not {what} ({exc}); the journal may be truncated or corrupted") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise JournalError(f"{self.folder / DB_NAME}: could not {what}: a malformed row ({exc})") from None

    # ---- meta -------------------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        with self._guard(f"read {key!r}"):
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return default if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        with self._guard(f"write {key!r}", writing=True), transaction(self._conn):
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    @property
    def recipe(self) -> dict[str, Any]:
        return dict(self.meta("recipe", {}))

    # ---- trials -------------------------------------------------------------------------------------
    def add_trial(self, config: Mapping[str, Any], fidelity: Fidelity, *, seed: int, origin: str,
                  phase: str = "search") -> Trial:
        """Insert a waiting trial (one transaction)."""
        with self._guard("add a trial", writing=True), transaction(self._conn):
            cur = self._conn.execute(
                "INSERT INTO trials (phase, state, config, config_key, fidelity, seed, origin, created) "
                "VALUES (?, 'waiting', ?, ?, ?, ?, ?, ?)",
                (phase, json.dumps(dict(config)), config_key(config), json.dumps(fidelity.to_dict()), seed, origin,
                 time.time()))
            number = int(cur.lastrowid or 0)
        return self.trial(number)

    def add_finished(self, config: Mapping[str, Any], result: TrialResult, *, origin: str, started: float,
                     finished: float, phase: str = "search") -> Trial:
        """Insert a trial that ran elsewhere, already finished (one transaction): a table build importing rows
        it would otherwise train again. ``started`` / ``finished`` are the times it ran."""
        with self._guard("add a finished trial", writing=True), transaction(self._conn):
            cur = self._conn.execute(
                "INSERT INTO trials (phase, state, config, config_key, fidelity, seed, origin, created, started, "
                "finished, attempts, result, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                (phase, result.status, json.dumps(dict(config)), config_key(config),
                 json.dumps(result.fidelity.to_dict()), result.seed, origin, started, started, finished,
                 json.dumps(result.to_dict()), result.error))
            number = int(cur.lastrowid or 0)
        return self.trial(number)

    def start(self, number: int) -> Trial:
        with self._guard(f"mark trial {number} running", writing=True), transaction(self._conn):
            self._conn.execute("UPDATE trials SET state = 'running', started = ?, attempts = attempts + 1 "
                               "WHERE number = ?", (time.time(), number))
        return self.trial(number)

    def finish(self, number: int, result: TrialResult, *, state: str | None = None) -> Trial:
        """Record a trial's result: complete or failed from the result, or ``state`` (e.g. pruned)."""
        final = state or result.status
        if final not in STATES[2:]:
            raise ValueError(f"final state {final!r} is not one of {', '.join(STATES[2:])}")
        with self._guard(f"record trial {number}'s result", writing=True), transaction(self._conn):
            self._conn.execute("UPDATE trials SET state = ?, finished = ?, result = ?, error = ? WHERE number = ?",
                               (final, time.time(), json.dumps(result.to_dict()), result.error, number))
        return self.trial(number)

    def requeue_interrupted(self, phase: str) -> list[int]:
        """The phase's running trials, left by a dead process, go back to waiting; returns their numbers. Only
        that phase's: a finalize does not take over a search's interrupted trial, nor the other way round."""
        with self._guard("requeue interrupted trials", writing=True), transaction(self._conn):
            rows = self._conn.execute("SELECT number FROM trials WHERE state = 'running' AND phase = ?",
                                      (phase,)).fetchall()
            self._conn.execute("UPDATE trials SET state = 'waiting', started = NULL WHERE state = 'running' "
                               "AND phase = ?", (phase,))
        return [int(r["number"]) for r in rows]

    def trial(self, number: int) -> Trial:
        with self._guard(f"read trial {number}"):
            row = self._conn.execute("SELECT * FROM trials WHERE number = ?", (number,)).fetchone()
            if row is None:
                raise JournalError(f"no trial {number} in {self.folder}")
            return _trial(row)

    @contextmanager
    def snapshot(self) -> Iterator[Journal]:
        """Reads inside see one state of the journal, however many queries they make (one SQLite read
        transaction; in WAL mode the writer goes on meanwhile). ``status``, ``pareto`` and ``report`` read a run
        that is being searched through one, so their numbers agree with each other."""
        self._conn.execute("BEGIN")
        try:
            yield self
        finally:
            if self._conn.in_transaction:
                with suppress(sqlite3.Error):
                    self._conn.execute("COMMIT")

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
        with self._guard("read the trials"):
            rows = self._conn.execute(query + " ORDER BY number", args).fetchall()
            return [_trial(r) for r in rows]

    def counts(self, phase: str = "search") -> dict[str, int]:
        with self._guard("count the trials"):
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
