"""The command line: `spaces list`, `spaces check`, `build`; every known error is one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autopeft.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args", [["spaces", "list"], ["spaces"]], ids=["list", "bare"])
def test_spaces_list_shows_the_shipped_spaces(args: list[str], capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run(args, capsys)
    assert code == 0
    for name in ("flan-t5-layers.yaml", "flan-t5-methods.yaml", "minilm-layers.yaml"):
        assert name in out
    assert "INVALID" not in out


def test_spaces_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["spaces", "check", str(ROOT / "spaces/minilm-layers.yaml"), "--model", "minilm"], capsys)
    assert code == 0, err
    assert "OK for model minilm" in out and "encoder: 6 blocks" in out


@pytest.mark.parametrize("name", ["minilm-layers", "minilm-layers.yaml"])
def test_a_space_is_named_as_spaces_list_shows_it(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  tiny_bert_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """From any folder, as a recipe's ``space:`` may name it; ``build --space`` takes a name too."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["spaces", "check", name, "--model", "minilm"], capsys)
    assert code == 0 and "OK for model minilm" in out, err
    code, out, err = run(["build", "--model", str(tiny_bert_dir), "--config", '{"method": "ia3"}', "--space", name],
                         capsys)
    assert code == 0 and '"method": "ia3"' in out, err


BAD_SPACES = {
    "unknown-method": "  - {name: method, type: categorical, choices: [lora, nope]}\n",
    "unknown-option": "  - {name: method, type: constant, value: lora}\n"
                      "  - {name: lora.x, type: integer, low: 1, high: 2}\n",
    "missing-module": "  - {name: method, type: constant, value: lora}\n"
                      "  - {name: lora.modules, type: categorical, choices: [cross_attention]}\n",
    "missing-layer": "  - {name: method, type: constant, value: lora}\n"
                     "  - {name: lora.ranks, type: per_layer, layers: 'encoder.blocks[:9]', choices: [0, 4]}\n",
    "rank-zero": "  - {name: method, type: constant, value: lora}\n"
                 "  - {name: lora.r, type: integer, low: 0, high: 4}\n",
    "condition-on-missing": "  - {name: method, type: constant, value: lora}\n"
                            "  - {name: lora.r, type: integer, low: 1, high: 4, when: {methd: lora}}\n",
    "duplicate-names": "  - {name: method, type: constant, value: lora}\n"
                       "  - {name: lora.r, type: integer, low: 1, high: 4}\n"
                       "  - {name: lora.r, type: integer, low: 1, high: 8}\n",
    "empty": "",
}
EXPECT = {
    "unknown-method": "'nope'", "unknown-option": "unknown option 'x'", "missing-module": "names no module",
    "missing-layer": "out of range", "rank-zero": "integer >= 1", "condition-on-missing": "'methd'",
    "duplicate-names": "duplicate dimension name", "empty": "no dimensions",
}


@pytest.mark.parametrize("case", list(BAD_SPACES))
def test_bad_space_is_one_line_exit_2(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"{case}.yaml"
    body = BAD_SPACES[case]
    path.write_text("name: bad\ndimensions:" + (" []\n" if not body else "\n" + body))
    code, out, err = run(["spaces", "check", str(path), "--model", "minilm"], capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"autopeft: error: {path}:") and EXPECT[case] in lines[0]
    assert "allowed" in lines[0] or case == "empty"


def test_missing_space_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["spaces", "check", str(tmp_path / "nope.yaml"), "--model", "minilm"], capsys)
    assert code == 2 and "no such space file" in err and len(err.strip().splitlines()) == 1


def test_unknown_model_offline(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["spaces", "check", str(ROOT / "spaces/minilm-layers.yaml"), "--model", "someone/model"],
                       capsys)
    assert code == 2 and "Hub is unreachable" in err and "local folder" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_model_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["spaces", "check", str(ROOT / "spaces/minilm-layers.yaml"), "--model",
                        str(tmp_path / "absent")], capsys)
    assert code == 2 and "does not exist" in err


def test_argparse_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["spaces", "check"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--model" in err


@pytest.mark.parametrize(("argv", "expect"), [
    (["search", "--recipe", "x.yaml"], "unrecognized arguments: --recipe (see autopeft search --help)"),
    (["status", "run", "extra"], "unrecognized arguments: extra (see autopeft status --help)"),
    (["spaces", "check", "x.yaml", "--model", "m", "--bogus"],
     "unrecognized arguments: --bogus (see autopeft spaces check --help)"),
])
def test_an_unknown_argument_points_at_its_commands_help(argv: list[str], expect: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"autopeft: error: {expect}\n"


def test_build_and_export(tiny_bert_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from peft import PeftModel

    from autopeft.model.loading import load_model

    config = json.dumps({"method": "lora", "lora.r": 2, "lora.modules": "qv"})
    out_dir = tmp_path / "adapter"
    code, out, err = run(["build", "--model", str(tiny_bert_dir), "--config", config, "--num-labels", "3",
                          "--out", str(out_dir)], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["trainable_params"] == 2 * (16 + 16) * 2 * 3 + 16 * 3 + 3
    assert result["exported_to"] == str(out_dir)
    PeftModel.from_pretrained(load_model(str(tiny_bert_dir), num_labels=3), str(out_dir))


def test_build_config_outside_the_space(tiny_bert_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = json.dumps({"method": "lora", "lora.modules": "ffn"})
    code, _, err = run(["build", "--model", str(tiny_bert_dir), "--config", config, "--space",
                        str(ROOT / "spaces/minilm-layers.yaml")], capsys)
    assert code == 2 and "'ffn'" in err and "allowed" in err


@pytest.mark.parametrize(("config", "expect"), [
    ("{not json", "not valid JSON"),
    ('{"method": "loraa"}', "unknown method 'loraa'"),
    ('{"method": "lora", "lora.rank": 4}', "unknown option 'rank'"),
    ('{"method": "lora", "ia3.modules": "qv"}', "to method 'ia3', but the method is 'lora'; allowed: lora.ranks"),
    ('{"method": "lora", "lora.r": 0}', "integer >= 1"),
    ('[1, 2]', "must be a mapping, got list; allowed: a mapping such as"),
])
def test_build_bad_configs(config: str, expect: str, tiny_bert_dir: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["build", "--model", str(tiny_bert_dir), "--config", config], capsys)
    assert code == 2 and out == ""
    assert expect in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("labels", ["0", "1", "-3"])
def test_build_refuses_a_head_of_fewer_than_two_classes(labels: str, tiny_bert_dir: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """0 was taken as "not given" (a 2-class head); 1 is a regression head, not a classifier."""
    code, out, err = run(["build", "--model", str(tiny_bert_dir), "--config", '{"method": "ia3"}', "--num-labels",
                          labels], capsys)
    assert code == 2 and out == "" and f"--num-labels must be an integer >= 2, got {labels}" in err


def test_console_entry_point_runs_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndimensions:\n  - {name: method, type: categorical, choices: [lora, lora]}\n")
    proc = subprocess.run([sys.executable, "-m", "autopeft.cli", "spaces", "check", str(bad), "--model", "minilm"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "duplicate choice" in proc.stderr


@pytest.mark.parametrize("journal", [True, False])
@pytest.mark.parametrize(("error", "line", "code"), [
    ("KeyboardInterrupt", "autopeft: interrupted", 130),
    ("Terminated", "autopeft: stopped by SIGTERM", 143),
])
def test_a_stopped_search_names_the_run_to_resume(error: str, line: str, code: int, journal: bool, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C or SIGTERM during a search: one line naming the folder to resume (the default one is timestamped,
    so the user may not know it); a search stopped before its folder held a journal names none."""
    import autopeft.study.search as study_search
    from autopeft.cli.main import Terminated
    from autopeft.study.journal import DB_NAME

    out = tmp_path / "my run"

    def stopped(*args: object, **kwargs: object) -> None:
        if journal:
            out.mkdir()
            (out / DB_NAME).write_bytes(b"")
        raise {"KeyboardInterrupt": KeyboardInterrupt, "Terminated": Terminated}[error]()

    monkeypatch.setattr(study_search, "run_search", stopped)
    assert main(["search", "--out", str(out)]) == code
    err = capsys.readouterr().err
    hint = f" (the journal is intact: `autopeft search --resume '{out}'` goes on)" if journal else ""
    assert err == f"{line}{hint}\n"


@pytest.mark.parametrize("journal", [True, False])
def test_an_internal_error_mid_search_keeps_the_traceback_and_names_the_run(journal: bool, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A fault of autopeft's own once the journal exists (a controller crash): the traceback, for the bug report,
    then one line saying it is a bug and what resumes the kept trials. Before a journal exists it propagates."""
    import autopeft.study.search as study_search
    from autopeft.study.journal import DB_NAME

    out = tmp_path / "my run"

    def crashed(*args: object, **kwargs: object) -> None:
        if journal:
            out.mkdir()
            (out / DB_NAME).write_bytes(b"")
        raise ValueError("needs values > 0")

    monkeypatch.setattr(study_search, "run_search", crashed)
    if not journal:
        with pytest.raises(ValueError, match="needs values > 0"):
            main(["search", "--out", str(out)])
        return
    assert main(["search", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and 'raise ValueError("needs values > 0")' in err
    assert err.endswith("autopeft: internal error: ValueError: needs values > 0; this is a bug, please report it "
                        f"with the traceback above (the journal is intact: `autopeft search --resume '{out}'` "
                        "goes on)\n")
