"""``autopeft search --warm-start RUN_OR_TABLE``: bo starts from an earlier run's observations, which do not count
against the budget, are journaled and shown, and are read again on --resume; bad uses are refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopeft.cli.main import main
from autopeft.study.journal import Journal
from tests.study.conftest import write_recipe


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, sentiment_csv: Path) -> tuple[Path, Path]:
    """A finished 4-trial random search (the warm start's source) and its recipe."""
    folder = tmp_path_factory.mktemp("warm")
    recipe = write_recipe(folder, tiny_bert_dir, sentiment_csv, steps=2, budget=4)
    run = folder / "earlier"
    assert main(["search", str(recipe), "--out", str(run)]) == 0
    return recipe, run


def test_a_warm_started_search_journals_what_it_took_and_resumes(earlier: tuple[Path, Path], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    recipe, source = earlier
    run = tmp_path / "warm"
    assert main(["search", str(recipe), "--out", str(run), "--controller", "bo", "--budget", "3",
                 "--warm-start", str(source)]) == 0
    out = capsys.readouterr()
    with Journal.open(run, lock=False) as j:
        took = j.meta("warm_start")[0]
    observed = took["observations"]
    assert observed >= 1 and observed + took["dropped"] == 4  # the references outside the space are dropped
    assert took["dropped_references"] == took["dropped"]  # and they were all reference points
    assert f"warm start: {observed} observations from run {source}" in out.err
    assert f"warm start: {observed} observations from run {source}" in out.out  # the status printed at the end
    assert "the prior guides the first 8 trial(s) (bo option prior_trials)" in out.out  # n_initial by default
    with Journal.open(run, lock=False) as j:
        assert len(j.trials()) == 3  # the earlier observations are not trials of this run
        assert j.meta("settings")["warm_start"] == [str(source)]
        assert j.meta("warm_start_trials") == 8
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
    text = "".join(f.read_text() for f in (tmp_path / "report").rglob("*.md"))
    assert f"{observed} observations from run {source}" in text and "the prior guides the first 8 trial(s)" in text
    capsys.readouterr()
    assert main(["search", "--resume", str(run), "--budget", "4"]) == 0
    assert "warm start:" in capsys.readouterr().err  # read again on resume
    with Journal.open(run, lock=False) as j:
        assert len(j.trials()) == 4


def test_the_python_api_warm_starts_and_goes_on_with_a_warm_started_run(earlier: tuple[Path, Path],
                                                                         tmp_path: Path) -> None:
    """``autopeft.create_study(..., warm_start=...)`` as ``--warm-start``; and ``optimize`` on a run that
    ``autopeft search --warm-start`` made, which used to stop at "pass load_prior"."""
    import io

    import autopeft

    recipe, source = earlier
    study = autopeft.create_study(recipe, out=tmp_path / "api", controller="bo", budget=2, warm_start=source)
    study.optimize(stream=io.StringIO())
    with Journal.open(study.folder, lock=False) as j:
        assert j.meta("settings")["warm_start"] == [str(source)] and len(j.trials()) == 2
    assert main(["search", str(recipe), "--out", str(tmp_path / "cli"), "--controller", "bo", "--budget", "2",
                 "--warm-start", str(source)]) == 0
    again = autopeft.load_study(tmp_path / "cli").optimize(budget=3, stream=io.StringIO())
    assert [t.state for t in again.trials] == ["complete"] * 3


@pytest.mark.parametrize(("extra", "message"), [
    (["--controller", "random"], "--warm-start needs the bo controller"),
    (["--controller", "bo", "--warm-start-missing"], "not a run folder"),
])
def test_bad_warm_starts_are_refused_in_one_line(earlier: tuple[Path, Path], tmp_path: Path, extra: list[str],
                                                 message: str, capsys: pytest.CaptureFixture[str]) -> None:
    recipe, source = earlier
    where = str(tmp_path / "nowhere") if "--warm-start-missing" in extra else str(source)
    args = [a for a in extra if a != "--warm-start-missing"]
    assert main(["search", str(recipe), "--out", str(tmp_path / "run"), *args, "--warm-start", where]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "study.db").exists()  # nothing written


def test_warm_start_with_resume_is_refused(earlier: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, source = earlier
    assert main(["search", "--resume", str(source), "--warm-start", str(source)]) == 2
    assert "--warm-start cannot be given with --resume" in capsys.readouterr().err


def test_warm_start_lines_name_each_source_and_the_trials_the_prior_guides() -> None:
    from autopeft.study.status import warm_start_lines

    source = {"source": "runs/a", "kind": "run", "observations": 5, "dropped": 1}
    lines = warm_start_lines([source], 3)
    assert lines == ["warm start: 5 observations from run runs/a (no note; 1 more left out, not in this space; not "
                     "counted in the budget)",
                     "warm start: the prior guides the first 3 trial(s) (bo option prior_trials); after them bo "
                     "fits this search's own observations alone"]
    assert warm_start_lines([source]) == lines[:1]  # a run journaled before the count was recorded
    assert warm_start_lines([], 8) == []  # no warm start, nothing to say
    references = {**source, "dropped": 12, "dropped_references": 12}
    assert "; 12 more left out, not in this space (all of them its reference points);" in \
        warm_start_lines([references])[0]
    assert "; 12 more left out, not in this space (3 of them its reference points);" in \
        warm_start_lines([{**references, "dropped_references": 3}])[0]
    assert "; none left out;" in warm_start_lines([{**source, "dropped": 0}])[0]


def test_a_run_of_reference_points_alone_is_refused_saying_so(earlier: tuple[Path, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A run whose budget ended within its reference points has no member of the space to transfer; the error
    says that its observations are those points, not only that none is a member (which read as a wrong space)."""
    recipe, _ = earlier
    refs = tmp_path / "refs"
    assert main(["search", str(recipe), "--out", str(refs), "--budget", "2"]) == 0
    with Journal.open(refs, lock=False) as j:
        assert [t.origin.partition(":")[0] for t in j.trials()] == ["reference", "reference"]
    capsys.readouterr()
    assert main(["search", str(recipe), "--out", str(tmp_path / "run"), "--controller", "bo",
                 "--warm-start", str(refs)]) == 2
    err = capsys.readouterr().err
    assert (f"--warm-start {refs}: none of its 2 observations is a member of this search's space 'tiny-layers' (all "
            "of them its reference points, fixed configurations outside the space") in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()
