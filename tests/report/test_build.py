"""``autopeft report`` end to end on a real tiny run: files, sections, labels, escaping, bad input."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from autopeft.cli import main
from autopeft.errors import ReportError
from autopeft.report import write_report
from autopeft.report.document import Document, Figure, Paragraph, Table

HOSTILE = '<script>alert("x")</script> | *bold* [link](http://example.com)'


@pytest.fixture(scope="module")
def report(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "r"
    write_report([tiny_run], out)
    return out


def test_files_and_sections(report: Path) -> None:
    names = {p.name for p in report.iterdir()}
    assert {"index.html", "report.md", "figures", "summary.csv"} <= names
    assert {n.rsplit("-", 1)[-1] for n in names if n.endswith(".csv")} >= {
        "summary.csv", "trials.csv", "front.csv", "calibration.csv", "finalize.csv", "importance.csv", "class.csv"}
    figures = sorted(p.name.rsplit("-", 1)[-1] for p in (report / "figures").iterdir())
    assert figures == ["heatmap.png", "hypervolume.png", "importance.png", "pareto.png", "reliability.png"]
    page = (report / "index.html").read_text()
    for heading in ("Summary across tasks", "What was searched", "Pareto front", "Hypervolume against trials",
                    "Calibration", "What the front adapts", "Finalized points (test split)", "Per class (test split)",
                    "How to reproduce"):
        assert heading in page
    assert page.count("data:image/png;base64,") == 5
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "TEST accuracy" in page and "autopeft export" in page and "autopeft search" in page


def test_markdown_has_the_same_content(report: Path) -> None:
    md = (report / "report.md").read_text()
    assert md.startswith("# autopeft report")
    assert md.count("](figures/") == 5
    for f in md.split("](figures/")[1:]:
        assert (report / "figures" / f.split(")")[0]).is_file()
    assert "**test split**" in md and "| TEST accuracy |" in md


def test_csv_tables_match_the_journal(report: Path, tiny_run: Path) -> None:
    from autopeft.study.journal import Journal

    with open(next(report.glob("*-trials.csv"))) as fh:
        rows = list(csv.DictReader(fh))
    with Journal.open(tiny_run, lock=False) as journal:
        trials = journal.trials()
    assert [int(r["trial"]) for r in rows] == [t.number for t in trials]
    for r, t in zip(rows, trials, strict=True):
        if t.state == "complete":
            assert float(r["accuracy"]) == pytest.approx(t.values["accuracy"])
    with open(report / "summary.csv") as fh:
        summary = list(csv.DictReader(fh))
    assert len(summary) == 1 and int(summary[0]["trials"]) == len(trials)


def test_per_class_table_is_the_finalized_seeds_confusion(report: Path, tiny_run: Path) -> None:
    """Each class's row: its test examples, and the 'predicted' counts summed over seeds, from the journal."""
    from autopeft.study.classes import class_names
    from autopeft.study.journal import Journal

    with open(next(report.glob("*-per-class.csv"))) as fh:
        rows = list(csv.DictReader(fh))
    with Journal.open(tiny_run, lock=False) as journal:
        names = class_names(journal.recipe)
        seeds = [t.result for t in journal.trials(phase="finalize") if t.result is not None]
    assert len(seeds) == 2 and [r["class"] for r in rows] == list(names) == ["negative", "positive"]
    for i, r in enumerate(rows):
        for j, other in enumerate(names):
            assert int(r[f"predicted {other}"]) == sum(s.confusion["test"][i][j] for s in seeds)  # type: ignore[index]
        assert int(r["support"]) == sum(seeds[0].confusion["test"][i])  # type: ignore[index]
        assert sum(int(r[f"predicted {o}"]) for o in names) == 2 * int(r["support"])
    md = (report / "report.md").read_text()
    assert "| true class | test examples | TEST precision | TEST recall | TEST F1 | predicted negative |" in md


def test_the_front_table_names_the_classes_a_point_lost_on_validation(report: Path, tiny_run: Path) -> None:
    from autopeft.objectives import objectives_of
    from autopeft.study.classes import class_names, lost_classes
    from autopeft.study.front import front
    from autopeft.study.journal import Journal

    with Journal.open(tiny_run, lock=False) as journal:
        names = class_names(journal.recipe)
        points = front(journal, objectives_of(journal.meta("settings")["objectives"])).trials
    md = (report / "report.md").read_text()
    table = md.split("*the front, by trainable parameters (validation split)*")[1].split("\n\n")[1]
    cells = {int(row.split(" | ")[0].strip("| ")): row.split(" | ")[-2] for row in table.splitlines()[2:]}
    assert set(cells) == {t.number for t in points}
    for t in points:
        lost = lost_classes(t.result, "validation", names)
        assert lost is not None  # every trial of this run keeps its confusion matrices
        assert (f"lost {', '.join(lost)} on validation" in cells[t.number]) == bool(lost), cells[t.number]
        assert ("lost" in cells[t.number]) == bool(lost)


def test_the_pareto_figure_draws_chance_when_the_class_counts_are_known(report: Path, tiny_run: Path,
                                                                       tmp_path: Path) -> None:
    from autopeft.report.collect import load_run

    run = load_run(tiny_run, details=False)
    first = next(t for t in run.complete if t.result is not None and t.result.confusion)
    counts = [sum(row) for row in first.result.confusion["validation"]]  # type: ignore[union-attr]
    assert run.chance == pytest.approx(max(counts) / sum(counts))        # accuracy of the majority class
    assert "the dotted line chance (always predicting the majority class" in (report / "report.md").read_text()
    old = tmp_path / "old"  # records without class counts: no chance level, no line, the caption as before
    shutil.copytree(tiny_run, old, ignore=shutil.ignore_patterns("finalized", "*.lock"))
    with sqlite3.connect(old / "study.db") as conn:
        conn.execute("UPDATE trials SET result = json_remove(result, '$.confusion')")
    assert load_run(old, details=False).chance is None


def test_the_finalize_table_says_what_chance_scores_on_the_test_split(report: Path, tiny_run: Path) -> None:
    from autopeft.report.collect import load_run

    run = load_run(tiny_run, details=False)
    support = [r["support"] for r in run.per_class if r["trial"] == run.per_class[0]["trial"]]
    text = (report / "report.md").read_text()
    assert (f"Always predicting the test split's majority class scores accuracy "
            f"{max(support) / sum(support):.4f}.") in text


def test_seeds_finalized_before_confusion_matrices_say_so(tiny_run: Path, tmp_path: Path) -> None:
    from autopeft.report.build import ReportBuilder
    from autopeft.report.collect import load_run

    old = tmp_path / "old"
    shutil.copytree(tiny_run, old, ignore=shutil.ignore_patterns("finalized", "*.lock"))
    with sqlite3.connect(old / "study.db") as conn:
        conn.execute("UPDATE trials SET result = json_remove(result, '$.confusion') WHERE phase = 'finalize'")
    run = load_run(old, details=False)  # the sections this test reads need no model shapes
    assert run.finalized and not run.per_class
    builder = ReportBuilder([run], {}, "old", tmp_path / "r")
    text = builder.build().markdown()
    assert "Per class (test split)" in text and "journaled before autopeft kept confusion matrices" in text
    assert "TEST accuracy" in text and not any(k.endswith("-per-class") for k in builder.csvs)


def test_a_seed_that_lost_a_class_gets_a_note(tiny_run: Path, tmp_path: Path) -> None:
    from autopeft.report.build import ReportBuilder
    from autopeft.report.collect import load_run

    lost = tmp_path / "lost"
    shutil.copytree(tiny_run, lost, ignore=shutil.ignore_patterns("finalized", "*.lock"))
    with sqlite3.connect(lost / "study.db") as conn:  # seed 0 is right on every example, seed 1 says negative
        for seed, matrix in ((0, "[[12, 0], [0, 12]]"), (1, "[[12, 0], [12, 0]]")):
            conn.execute("UPDATE trials SET result = json_set(result, '$.confusion.test', json(?)) "
                         "WHERE phase = 'finalize' AND seed = ?", (matrix, seed))
        conn.execute("UPDATE trials SET result = json_set(result, '$.confusion.validation', json('[[3, 0], [9, 0]]'))"
                     " WHERE phase = 'search' AND state = 'complete'")  # and every search trial says negative
    run = load_run(lost, details=False)
    text = ReportBuilder([run], {}, "lost", tmp_path / "r").build().markdown()
    assert " lost positive on seed(s) 1: none of its test examples was predicted as positive." in text
    assert "lost negative" not in text
    front = text.split("*the front, by trainable parameters (validation split)*")[1].split("\n\n")[1]
    assert front.count("lost positive on validation") == len(run.front.trials) >= 1


def test_unfinalized_run_says_so(unfinalized_run: Path, tmp_path: Path) -> None:
    write_report([unfinalized_run], tmp_path / "r")
    page = (tmp_path / "r" / "index.html").read_text()
    assert "No point of this run was finalized" in page and "not finalized" in page
    assert "Per class (test split)" not in page
    assert f"autopeft finalize {unfinalized_run} --pick knee" in page


def test_failed_trials_listed_and_every_run_string_escaped(tiny_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("finalized", ".lock"))
    with sqlite3.connect(copy / "study.db") as conn:
        conn.execute("UPDATE trials SET state = 'failed', error = ? WHERE number = 3", (HOSTILE,))
    write_report([copy], tmp_path / "r", title=HOSTILE)
    page = (tmp_path / "r" / "index.html").read_text()
    assert "1 trial(s) failed" in page
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    md = (tmp_path / "r" / "report.md").read_text()
    assert "\\<script\\>" in md and "\\| \\*bold\\*" in md and "\\[link\\]" in md


def test_two_runs_side_by_side(tiny_run: Path, unfinalized_run: Path, tmp_path: Path) -> None:
    """Two runs of one task and model: the summary's first column tells their rows apart by run folder."""
    write_report([tiny_run, unfinalized_run], tmp_path / "r")
    page = (tmp_path / "r" / "index.html").read_text()
    assert page.count("<h3>What was searched</h3>") == 2
    summary = (tmp_path / "r" / "report.md").read_text().split("## Summary across tasks", 1)[1]
    rows = [line for line in summary.splitlines() if line.startswith("| ")][1:3]
    assert summary.splitlines()[2].startswith("| run | task | model |")
    assert [row.split(" | ")[0] for row in rows] == [f"| {tiny_run.name}", f"| {unfinalized_run.name}"]
    with open(tmp_path / "r" / "summary.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 2


def test_runs_scoring_different_metrics_share_a_report(tiny_run: Path, report: Path, tmp_path: Path) -> None:
    """A classification and a generation task (here: the same run scored by macro-F1) in one report: each summary
    cell names its metric; a baseline must still score what its run scores."""
    from autopeft.study.journal import Journal

    other = tmp_path / "f1"
    shutil.copytree(tiny_run, other, ignore=shutil.ignore_patterns("finalized", "*.lock"))
    with Journal.open(other) as journal:
        journal.set_meta("settings", {**journal.meta("settings"), "objectives": ["macro_f1", "trainable_params"]})
    write_report([tiny_run, other], tmp_path / "r")
    md = (tmp_path / "r" / "report.md").read_text()
    assert "| best val score (params) | knee val score (params) | knee test score (mean ± std) |" in md
    assert "The runs score different metrics" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and " min |" in line]
    assert len(rows) == 2 and " accuracy (" in rows[0] and " macro-F1 (" in rows[1]
    with open(tmp_path / "r" / "summary.csv") as fh:
        assert [r["score"] for r in csv.DictReader(fh)] == ["accuracy", "macro_f1"]
    assert "| best val accuracy (params) |" in (report / "report.md").read_text()  # one metric: the headers name it
    with pytest.raises(ReportError, match="allowed: a baseline over the same objectives as its run"):
        write_report([tiny_run], tmp_path / "r2", random_runs=[other])


def test_a_report_written_again_replaces_its_own_files_only(tiny_run: Path, unfinalized_run: Path,
                                                            tmp_path: Path) -> None:
    """Two runs, then one, into the same folder: the other run's CSVs and figures go, a file the user put there
    (or a journal copied beside the report) stays, and the manifest lists exactly what the last report wrote."""
    out = tmp_path / "r"
    write_report([tiny_run, unfinalized_run], out)
    assert list(out.glob("unfinalized-*.csv")) and list(out.glob("figures/unfinalized-*.png"))
    (out / "notes.csv").write_text("mine\n")
    (out / "journals").mkdir()
    (out / "journals" / "run.db").write_text("kept")
    write_report([tiny_run], out)
    assert not list(out.glob("unfinalized-*.csv")) and not list(out.glob("figures/unfinalized-*.png"))
    assert (out / "notes.csv").read_text() == "mine\n" and (out / "journals" / "run.db").is_file()
    listed = set((out / ".autopeft-report").read_text().split())
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert listed == on_disk - {".autopeft-report", "notes.csv", "journals/run.db"}
    assert {"index.html", "report.md", "summary.csv"} <= listed


def test_a_run_given_twice_is_refused(tiny_run: Path, unfinalized_run: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"is given twice .*; allowed: each run once"):
        write_report([tiny_run, tiny_run.parent / ".." / tiny_run.parent.name / tiny_run.name], tmp_path / "r")
    with pytest.raises(ReportError, match="is given twice"):
        write_report([unfinalized_run], tmp_path / "r", random_runs=[unfinalized_run])
    assert not (tmp_path / "r").exists()


def test_random_run_drawn_and_mismatch_refused(tiny_run: Path, unfinalized_run: Path, tmp_path: Path) -> None:
    out = write_report([tiny_run], tmp_path / "r", random_runs=[unfinalized_run])
    assert "wrote" in out
    assert str(unfinalized_run) in (tmp_path / "r" / "index.html").read_text()
    from autopeft.study.journal import Journal

    with Journal.open(unfinalized_run) as journal:
        journal.set_meta("recipe", {**journal.recipe, "name": "other"})
    with pytest.raises(ReportError, match="matches no reported run"):
        write_report([tiny_run], tmp_path / "r2", random_runs=[unfinalized_run])


@pytest.mark.parametrize("args, expect", [
    (["report", "{tmp}", "--out", "{tmp}/r"], "is not a run folder"),
    (["report", "--out", "{tmp}/r"], "the following arguments are required: RUN"),
])
def test_cli_bad_input_is_one_line(args: list[str], expect: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.format(tmp=tmp_path) for a in args]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and expect in err and len(err.strip().splitlines()) == 1


def test_an_out_under_a_file_is_one_line_before_any_run_is_read(tiny_run: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("mine")
    assert main(["report", str(tiny_run), "--out", str(tmp_path / "afile" / "r")]) == 2
    err = capsys.readouterr().err
    assert "'" + str(tmp_path / "afile") + "' is a file, so no folder can be made under it" in err
    assert len(err.strip().splitlines()) == 1 and (tmp_path / "afile").read_text() == "mine"


def test_document_escapes_everything_but_its_own_markup() -> None:
    doc = Document(HOSTILE)
    doc.add(Paragraph(f"[test] `{HOSTILE}` {HOSTILE}"), Table(("a|b",), ((HOSTILE,),)),
            Figure("f", b"\x89PNG", HOSTILE))
    page = doc.html()
    assert "<script>" not in page and page.count("&lt;script&gt;") == 6  # title, h1, paragraph x2, cell, caption
    assert '<span class="label test">test split</span>' in page
    md = doc.markdown()
    assert "| a\\|b |" in md and md.count("\\<script\\>") == 4  # the code span keeps its text verbatim


def test_a_multi_fidelity_run_says_its_rungs_and_compares_its_top_rung(tmp_path: Path, tiny_bert_dir: Path,
                                                                      sentiment_csv: Path) -> None:
    import io

    from autopeft.report.collect import load_run
    from autopeft.study.recipe import load_recipe
    from autopeft.study.search import run_search
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=6, budget=9)
    recipe.write_text(recipe.read_text().replace(
        "final_seeds: 2}", "final_seeds: 2,\n          scheduler: {type: asha, min_steps: 2, eta: 3}, prune: true}"))
    run_search(load_recipe(recipe), tmp_path / "run", stream=io.StringIO())
    run = load_run(tmp_path / "run")
    low = [t for t in run.complete if t.fidelity.steps == 2]
    assert low and run.top_steps == 6
    assert {t.fidelity.steps for t in run.comparable} == {6}
    assert sorted(t.number for t in [*run.comparable, *low]) == sorted(t.number for t in run.complete)
    write_report([tmp_path / "run"], tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| multi-fidelity | ASHA (eta 3, rungs from 2 to 6 steps; trials ran at 2, 6): the front, its plot " in text
    assert "| multi-fidelity | trials per rung: 2 steps: " in text and "| multi-fidelity | pruning on: " in text
    # the tiny recipe leaves n_train to the rest: the report gives the size the search made
    assert "| data | 88 train / 16 validation / 16 test examples (data seed 0; drawn from 120 examples) |" in text
    with (tmp_path / "report" / "run-trials.csv").open() as f:
        steps = {int(r["trial"]): int(r["steps"]) for r in csv.DictReader(f)}
    assert {steps[t.number] for t in low} == {2}


def test_the_data_row_gives_the_splits_as_made_and_what_was_left_out() -> None:
    from autopeft.tasks.splits import describe_splits as _data

    recipe = {"n_train": None, "n_validation": 16, "n_test": 16, "seed": 0}
    # a run journaled before the splits were kept: the recipe's request
    assert _data(recipe, None) == "all remaining train / 16 validation / 16 test examples (data seed 0)"
    made = {"seed": 0, "pool": 96, "dropped": {"without_text": 20, "unlabelled": 3, "duplicates": 1},
            "splits": {"train": {"size": 64}, "validation": {"size": 16}, "test": {"size": 16}}}
    assert _data(recipe, made) == ("64 train / 16 validation / 16 test examples (data seed 0; drawn from 96 "
                                   "examples: 120 rows less 20 with an empty text, 3 unlabelled, 1 duplicate)")
    given = {**made, "split_field": "part", "given": ["train", "test"]}
    assert _data(recipe, given).startswith("64 train / 16 validation / 16 test examples (data seed 0; test as column "
                                           "'part' of the file marks it; drawn from 96 examples")
    both = {**given, "given": ["train", "validation", "test"]}
    assert "(data seed 0; validation and test as column 'part' of the file marks them;" in _data(recipe, both)


def test_a_run_with_its_whole_front_finalized_reproduces_it_with_pick_front(tiny_run: Path, tmp_path: Path) -> None:
    from autopeft.report.collect import load_run
    from autopeft.study.finalize import finalize

    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns(".lock"))
    finalize(copy, "front", seeds=1, stream=io.StringIO())
    run = load_run(copy, details=False)
    assert len(run.front.trials) > 1 and {t.number for t in run.front.trials} <= {r["trial"] for r in run.finalized}
    write_report([copy], tmp_path / "r")
    text = (tmp_path / "r" / "report.md").read_text()
    code = text.split("### How to reproduce")[1]
    assert f"autopeft finalize {copy} --pick front" in code and "--pick knee" not in code
    assert "After the finalize's training, trial " in text  # several finalized points: the held-up note
