"""Reliability of a run folder: damaged journals, a folder that cannot be written, a full disk, and readers
(status, pareto, report) while a search writes the run. Each failure is one line naming the file, exit 2, and
nothing already journaled is lost or overwritten."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from autopeft.cli.main import main
from autopeft.objectives import objectives_of, to_minimize
from autopeft.pareto import pareto_mask
from autopeft.study.journal import DB_NAME, Journal, JournalError
from autopeft.trial import Fidelity, TrialResult

SETTINGS = {"budget": 4, "controller": "random", "seed": 0, "objectives": ["accuracy", "trainable_params"]}
POINTS = [(0.5, 10), (0.7, 200), (0.6, 500)]  # the third is dominated


def _result(acc: float, params: int) -> TrialResult:
    return TrialResult(config={"method": "ia3", "p": params}, fidelity=Fidelity(steps=3), seed=0, status="complete",
                       metrics={"accuracy": acc}, trainable_params=params, total_params=1000)


def make_run(folder: Path) -> Path:
    """A run with settings and three complete trials (no training)."""
    with Journal.create(folder, {"name": "r"}) as j:
        j.set_meta("settings", SETTINGS)
        for acc, params in POINTS:
            t = j.add_trial({"method": "ia3", "p": params}, Fidelity(steps=3), seed=0, origin="random")
            j.start(t.number)
            j.finish(t.number, _result(acc, params))
    conn = sqlite3.connect(folder / DB_NAME)  # fold the WAL into the file, as a finished run leaves it
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return folder


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(folder: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT number, state, result FROM trials ORDER BY number").fetchall()
    finally:
        conn.close()


def _truncate(db: Path) -> None:
    with db.open("r+b") as f:
        f.truncate(db.stat().st_size // 2)


def _header(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[:100] = b"x" * 100
    db.write_bytes(bytes(data))


def _last_page(db: Path) -> None:  # the trials' rows: the file opens, the rows are garbage
    data = bytearray(db.read_bytes())
    data[-4096 + 8:] = b"\x07" * (4096 - 8)
    db.write_bytes(bytes(data))


def _empty(db: Path) -> None:
    db.write_bytes(b"")


DAMAGE: dict[str, Callable[[Path], None]] = {"truncated": _truncate, "header": _header, "rows": _last_page,
                                             "empty": _empty}
COMMANDS = {"status": ["status"], "pareto": ["pareto"], "resume": ["search", "--resume"], "finalize": ["finalize"]}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_journal_is_one_line_naming_it_and_is_not_changed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, command: str) -> None:
    run = make_run(tmp_path / "run")
    db = run / DB_NAME
    DAMAGE[damage](db)
    before = digest(db)
    assert main([*COMMANDS[command], str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("autopeft: error: ") and "\n" not in err and "Traceback" not in err
    assert str(db) in err
    assert digest(db) == before


def test_journal_damage_is_named_by_kind(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    _last_page(run / DB_NAME)
    with pytest.raises(JournalError, match=r"is damaged \(SQLite integrity check"):
        Journal.open(run, lock=False)
    _empty(run / DB_NAME)
    with pytest.raises(JournalError, match="empty or not an autopeft journal"):
        Journal.open(run)


def test_a_read_only_open_never_writes(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    (run / DB_NAME).write_bytes(b"")
    with pytest.raises(JournalError):
        Journal.open(run, lock=False)
    assert (run / DB_NAME).stat().st_size == 0


# ---- a run folder this user cannot write ------------------------------------------------------------------
@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="autopeft-ro-"))
    path.chmod(0o755)
    yield path
    for p in (path, *path.rglob("*")):
        p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(path)


def _as_other_user() -> list[str]:
    """As root (who may write anything), run as ``nobody`` through setpriv; otherwise as this user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop the right to write")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def cli(args: list[str], *, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(prefix or []), sys.executable, "-m", "autopeft.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_a_run_folder_without_write_permission(shared_dir: Path) -> None:
    run = make_run(shared_dir / "run")
    before, content = digest(run / DB_NAME), rows(run)
    for p in run.iterdir():
        p.chmod(0o444)
    run.chmod(0o555)
    files = sorted(p.name for p in run.iterdir())
    drop = _as_other_user()
    probe = cli(["--version"], prefix=drop)
    if probe.returncode != 0:
        pytest.skip(f"cannot run as another user here: {probe.stderr.strip()[-200:]}")
    status = cli(["status", str(run)], prefix=drop)
    assert status.returncode == 0 and "complete 3" in status.stdout, status.stderr
    pareto = cli(["pareto", str(run), "--format", "json"], prefix=drop)
    assert pareto.returncode == 0 and len(json.loads(pareto.stdout)) == 2, pareto.stderr
    for args in (["search", "--resume", str(run)], ["finalize", str(run)]):
        out = cli(args, prefix=drop)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        line = out.stderr.strip()
        assert "\n" not in line and line.startswith("autopeft: error: cannot write") and str(run) in line
    assert digest(run / DB_NAME) == before and rows(run) == content
    assert sorted(p.name for p in run.iterdir()) == files


# ---- a full disk (a file size limit: writes past it fail with EFBIG) ---------------------------------------
FILL = textwrap.dedent("""\
    import resource, sys
    from autopeft.study.journal import Journal, JournalError
    from autopeft.trial import Fidelity
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
    try:
        if sys.argv[3] == "create":
            Journal.create(sys.argv[1], {"name": "r", "pad": "x" * 100_000}).close()
        else:
            with Journal.open(sys.argv[1]) as j:
                for i in range(10_000):
                    j.add_trial({"method": "ia3", "pad": "x" * 5000, "i": i}, Fidelity(steps=3), seed=0,
                                origin="random")
    except JournalError as exc:
        print(exc)
        raise SystemExit(2)
    """)


def _fill(run: Path, limit: int, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", FILL, str(run), str(limit), mode], capture_output=True,
                          text=True, timeout=120)


def test_a_full_disk_stops_with_one_line_and_keeps_the_journal(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    content = rows(run)
    out = _fill(run, (run / DB_NAME).stat().st_size + 64 * 1024, "add")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    line = out.stdout.strip()
    assert str(run / DB_NAME) in line and "could not add a trial" in line and "\n" not in line
    with Journal.open(run) as j:  # reopens (quick check passes), every earlier trial as it was
        added = j.counts()["waiting"]
    assert rows(run)[:3] == content and added > 0
    assert main(["status", str(run)]) == 0


def test_a_run_that_cannot_be_created_leaves_no_journal(tmp_path: Path) -> None:
    out = _fill(tmp_path / "run", 8 * 1024, "create")
    assert out.returncode == 2 and "cannot create the journal" in out.stdout, out.stderr
    assert not (tmp_path / "run" / DB_NAME).exists()  # so `search --out` the same folder can start again


def test_a_run_folder_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(JournalError, match="cannot create the run folder"):
        Journal.create(tmp_path / "file" / "run", {})


# ---- readers while a search writes the run ----------------------------------------------------------------
def _check_front(listing: list[dict[str, object]]) -> None:
    """``pareto --all`` rows: the rows marked on the front are exactly the front of the complete rows."""
    objectives = objectives_of(SETTINGS["objectives"])
    complete = [r for r in listing if r["state"] == "complete"]
    marked = sorted(int(str(r["trial"])) for r in listing if r["on_front"])
    if not complete:
        assert marked == []
        return
    values = np.array([[float(str(r[o.name])) for o in objectives] for r in complete])
    mask = pareto_mask(to_minimize(values, objectives))
    on, seen = [], set()
    for i in np.flatnonzero(mask):
        key = tuple(np.round(values[i], 12))
        if key not in seen:
            seen.add(key)
            on.append(int(str(complete[i]["trial"])))
    assert marked == sorted(on)


def test_readers_during_a_search_see_consistent_growing_snapshots(
        tiny_recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "autopeft.cli", "search", str(tiny_recipe), "--out", str(run),
                             "--budget", "8"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        while not (run / DB_NAME).exists() and proc.poll() is None:
            time.sleep(0.05)
        while proc.poll() is None:  # a run being created has no settings yet; once it has, every read works
            try:
                with Journal.open(run, lock=False) as j:
                    if j.meta("settings") is not None:
                        break
            except JournalError:  # the file exists, its tables do not yet
                pass
            time.sleep(0.05)
        # a second writer is refused with one line while the search holds the run
        assert main(["search", "--resume", str(run)]) == 2
        err = capsys.readouterr().err.strip()
        assert "is in progress in process" in err and "\n" not in err
        reads, last_complete, reported = 0, -1, False
        while proc.poll() is None or reads == 0:
            assert main(["status", str(run)]) == 0
            text = capsys.readouterr().out
            complete = int(text.split("complete ")[1].split(",")[0])
            assert complete >= last_complete
            last_complete = complete
            assert main(["pareto", str(run), "--all", "--format", "json"]) == 0
            _check_front(json.loads(capsys.readouterr().out))
            if complete and reads and not reported:
                assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
                capsys.readouterr()
                reported = True
            reads += 1
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate()
    assert proc.returncode == 0, stderr[-2000:]
    assert main(["status", str(run)]) == 0 and "complete 8" in capsys.readouterr().out
    assert reads >= 2


def test_create_writes_extra_meta_with_the_recipe(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "run", {"name": "r"}, meta={"settings": SETTINGS}) as j:
        assert j.meta("settings") == SETTINGS and j.recipe == {"name": "r"}
