"""``autopeft report RUN [RUN ...] --out reports/NAME``: one self-contained HTML page, the same content as
Markdown, and CSV tables, for one or more runs (one section per task or model, a summary across them).

    collect.py     a run's journal -> RunData (front, hypervolume, finalize table, heatmap, importance)
    importance.py  grouped permutation importance of the surrogate on held-out folds
    plots.py       matplotlib figures -> PNG bytes
    document.py    blocks -> HTML (figures inlined, no script, no request) and Markdown; escaping lives here
    build.py       RunData -> a Document and CSV rows
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from autopeft.errors import ReportError
from autopeft.paths import unwritable

__all__ = ["write_report"]


def write_report(runs: Sequence[Path], out: Path, *, random_runs: Sequence[Path] = (),
                 title: str | None = None) -> str:
    """Write ``out/index.html``, ``out/report.md``, ``out/figures/*.png`` and ``out/*.csv``; returns a summary."""
    from autopeft.report.build import ReportBuilder
    from autopeft.report.cells import csv_text
    from autopeft.report.collect import RunData, check_comparable, load_run

    if not runs:
        raise ReportError("give at least one run folder; allowed: autopeft report RUN [RUN ...] --out DIR")
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out} is a file; allowed: a folder (created when missing)")
    reason = unwritable(out)
    if reason:
        raise ReportError(f"--out {out}: {reason}; allowed: a folder this user can write (created when missing)")
    firsts: dict[Path, Path] = {}
    for run in map(Path, [*runs, *random_runs]):
        if run.resolve() in firsts:
            raise ReportError(f"run {run} is given twice (as {firsts[run.resolve()]} and {run}); allowed: each run "
                              "once")
        firsts[run.resolve()] = run
    loaded = [load_run(Path(r)) for r in runs]
    baselines = [load_run(Path(r), details=False) for r in random_runs]
    by_run: dict[str, list[RunData]] = {}
    for b in baselines:
        match = [r for r in loaded if r.name == b.name and r.task == b.task]
        if not match:
            names = ", ".join(f"{r.name} on {r.task}" for r in loaded)
            raise ReportError(f"--random {b.folder} ran {b.name} on {b.task}, which matches no reported run; "
                              f"allowed: a run of the same recipe and task as one of: {names}")
        check_comparable(match[0], b)
        by_run.setdefault(str(match[0].folder), []).append(b)
    tasks = sorted({r.task for r in loaded})
    heading = title or f"autopeft report: {', '.join(tasks)}"
    builder = ReportBuilder(loaded, by_run, heading, out)
    doc = builder.build()
    out.mkdir(parents=True, exist_ok=True)
    written = doc.write(out)
    for name, rows in builder.csvs.items():
        if rows:
            path = out / f"{name}.csv"
            path.write_text(csv_text(rows), encoding="utf-8")
            written.append(path)
    replace_manifest(out, written)
    return (f"wrote {out / 'index.html'} (open it from disk), {out / 'report.md'}, "
            f"{len(doc.figures())} figures and {len(builder.csvs)} CSV tables for {len(loaded)} run(s)")


#: The list of files a report wrote, in its folder: a report written again into the folder removes the files
#: of the earlier one that it did not write (another run's CSVs, a figure no longer drawn), and nothing else.
MANIFEST = ".autopeft-report"


def replace_manifest(out: Path, written: Sequence[Path]) -> None:
    """Record ``written`` in ``out``'s manifest, first deleting the files the previous manifest lists that
    this report did not write again. Files autopeft did not list (a journal copied beside the report, the
    user's own notes) are never touched; a manifest entry that leads outside ``out`` is ignored."""
    names = sorted(p.relative_to(out).as_posix() for p in written)
    manifest = out / MANIFEST
    if manifest.is_file():
        root = out.resolve()
        for old in set(manifest.read_text(encoding="utf-8").split()) - set(names):
            path = (out / old).resolve()
            if path.parent in (root, root / "figures") and path.is_file():
                path.unlink()
    manifest.write_text("\n".join(names) + "\n", encoding="utf-8")
