"""Every malformed input of ``benchmarks/reliability/malformed.py`` (recipes, spaces, ``--config``, ``--pick``,
data files, model checkpoints, command-line arguments), run in-process through ``autopeft.cli.main.main``: one
line naming the file, field or value, exit 2, no traceback, nothing written (the one valid case must run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autopeft.cli.main import main
from benchmarks.reliability.malformed import Case, build_base, cases, judge, prepare, state

CASES = cases()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny model, data, recipe and a finished 3-trial run (shared by every case)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return build_base(tmp_path_factory.mktemp("malformed").resolve(), env)


def test_the_table_is_large_and_covers_every_kind() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)
    assert {c.kind for c in CASES} == {"recipe", "space", "config", "pick", "data", "model", "cli"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input(case: Case, base: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    folder, argv = prepare(case, base)
    monkeypatch.chdir(folder)
    before = state(folder)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    outcome = judge(case, code, err, before, state(folder), base)
    assert outcome["ok"], {k: outcome[k] for k in ("exit", "last_line", "traceback", "written", "names_it")}
