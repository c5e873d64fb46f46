"""Per-class test results of the committed default runs' finalized points.

Their first finalize seeds were journaled before trials kept confusion matrices, so those journals could not
give a per-class table. This re-runs each finalized point's seeds in a scratch copy of its journal (the finalize
rows removed, nothing else changed), checks that every seed's test metrics are the committed ones, and writes the
per-class tables. The committed journals are only read.

    python reports/per_class.py            # about half an hour on a 2-core CPU; resumable (scratch: runs/per-class)

writes ``reports/minilm-default-budget50/per-class.{md,csv,json}``. Its committed output is the run against the
first finalize's journals: test accuracy and macro-F1 equal on all 9 seeds, probability metrics within 5.4e-08.
The committed journals and report were then rebuilt from the scratch journals (``reports/README.md`` says how), so
they now hold these retrained seeds, with their confusion matrices; run again, the script checks them against
themselves and says so.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

import autopeft.metrics as M
from autopeft.study.classes import class_names, per_class_table
from autopeft.study.finalize import finalize
from autopeft.study.journal import Journal
from autopeft.trial import TrialResult

HERE = Path(__file__).resolve().parent
REPORT = HERE / "minilm-default-budget50"
RUNS = ("default-budget50", "default-bbc-news-budget50")


def finalized_seeds(folder: Path) -> dict[int, dict[int, TrialResult]]:
    """Finalized trial -> seed -> its committed record."""
    out: dict[int, dict[int, TrialResult]] = {}
    with Journal.open(folder, lock=False) as opened, opened.snapshot() as journal:
        for t in journal.trials(phase="finalize", states=("complete",)):
            assert t.result is not None
            out.setdefault(int(t.origin.split(":")[1]), {})[t.seed] = t.result
    return out


def scratch_copy(journal: Path, folder: Path) -> None:
    """The journal without its finalize rows, once (a second call resumes what the first started)."""
    if (folder / "study.db").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(journal, folder / "study.db.part")
    with sqlite3.connect(folder / "study.db.part") as conn:
        conn.execute("DELETE FROM trials WHERE phase = 'finalize'")
    conn.close()
    (folder / "study.db.part").rename(folder / "study.db")


#: test metrics computed from the predicted classes alone: equal exactly when the predictions are the same
PREDICTION_METRICS = ("accuracy", "macro_f1")


def largest_difference(old: TrialResult, new: TrialResult, *, predictions: bool) -> float:
    """The largest absolute difference between two records' test metrics computed from the predicted classes
    (``predictions``) or from the probabilities (the rest); inf when the committed record has a metric the new one
    lacks. A metric autopeft added after the committed run (balanced accuracy) has nothing to compare with."""
    a, b = dict(old.test_metrics or {}), dict(new.test_metrics or {})
    if set(a) - set(b):
        return float("inf")
    keys = [k for k in a if (k in PREDICTION_METRICS) == predictions]
    return max((abs(a[k] - b[k]) for k in keys), default=0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, default=Path("runs/per-class"))
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    first: dict[tuple[str, int], dict[int, TrialResult]] = {}  # the committed records, by (run, trial)
    for run in RUNS:
        journal = REPORT / "journals" / f"{run}.db"
        committed = _committed(journal)
        first.update({(run, t): s for t, s in committed.items()})
        folder = args.scratch / run
        scratch_copy(journal, folder)
        for trial, seeds in sorted(committed.items()):
            start = time.time()
            finalize(folder, f"trial:{trial}", seeds=len(seeds), stream=io.StringIO())
            print(f"{run} trial {trial}: {len(seeds)} seeds in {time.time() - start:.0f} s", flush=True)
        again = finalized_seeds(folder)
        for trial, seeds in sorted(committed.items()):
            for seed, old in sorted(seeds.items()):
                new = again[trial][seed]
                checks.append({"run": run, "trial": trial, "seed": seed,
                               "test_accuracy_committed": (old.test_metrics or {}).get("accuracy"),
                               "test_accuracy_again": (new.test_metrics or {}).get("accuracy"),
                               "prediction_metrics_difference": largest_difference(old, new, predictions=True),
                               "probability_metrics_difference": largest_difference(old, new, predictions=False)})
        with Journal.open(folder, lock=False) as opened, opened.snapshot() as view:
            table = per_class_table(view, class_names(view.recipe))
        for trial, seeds in sorted(again.items()):
            recalls = [M.per_class(np.asarray(seeds[s].confusion["test"]))["recall"]  # type: ignore[index]
                       for s in sorted(seeds)]
            for i, r in enumerate(r for r in table if r["trial"] == trial):  # the rows are in class order
                rows.append({"run": run, **r, "recall_by_seed": " / ".join(f"{rec[i]:.3f}" for rec in recalls)})
    write(rows, checks, predated=not any(old.confusion for seeds in first.values() for old in seeds.values()))
    return 0


def _committed(journal: Path) -> dict[int, dict[int, TrialResult]]:
    """The committed journal's finalized seeds, read from a temporary copy (a read leaves SQLite files beside a
    journal, which must not appear among the committed ones)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(journal, Path(tmp) / "study.db")
        return finalized_seeds(Path(tmp))


def write(rows: list[dict[str, Any]], checks: list[dict[str, Any]], *, predated: bool = True) -> None:
    from autopeft.report.cells import csv_text

    (REPORT / "per-class.csv").write_text(csv_text(rows), encoding="utf-8")
    (REPORT / "per-class.json").write_text(json.dumps({"per_class": rows, "reproduced": checks}, indent=1) + "\n",
                                           encoding="utf-8")
    by_class = max(c["prediction_metrics_difference"] for c in checks)
    by_prob = max(c["probability_metrics_difference"] for c in checks)
    same = (f"On all {len(checks)} seeds the test accuracy and macro-F1 are the journal's exactly, as they are "
            "when the predicted classes are the same; the metrics of the probabilities (ECE, Brier, NLL, and the "
            f"same after temperature scaling) differ by at most {by_prob:.2g}.")
    differ = (f"The seeds' test accuracy or macro-F1 differ from the committed ones by up to {by_class:.3g} "
              "(`per-class.json` lists each seed), so these tables are of retrained models close to, not equal to, "
              "the committed ones.")
    lines = ["# Per class, test split: the finalized points of the default runs", "",
             ("Made by `python reports/per_class.py` on the journals of the first finalize, whose seeds predate "
              "confusion matrices, so each finalized point's seeds were trained again in a scratch copy of its "
              "journal. (The committed journals and report were then rebuilt from those scratch copies: "
              "`reports/README.md`.) "
              if predated else
              "Made by `python reports/per_class.py`. Each finalized point's seeds were trained again in a scratch "
              "copy of its journal, to check that they reproduce the committed ones. ")
             + (same if by_class == 0 else differ), ""]
    for (run, trial) in dict.fromkeys((r["run"], r["trial"]) for r in rows):
        mine = [r for r in rows if r["run"] == run and r["trial"] == trial]
        names = [r["class"] for r in mine]
        lines += [f"## {run}, trial {trial} ({mine[0]['seeds']} seeds)", "",
                  "Mean ± std over the seeds; the 'predicted' columns are the confusion matrix summed over them "
                  "(row: the true class).", "",
                  "| true class | test examples | precision | recall | recall, seed by seed | F1 | "
                  + " | ".join(f"predicted {n}" for n in names) + " |", "|---|" + "---:|" * (5 + len(names))]
        for r in mine:
            cells = [f"{r[f'{k}_mean']:.4f} ± {r[f'{k}_std']:.4f}" if r[f"{k}_mean"] is not None else "-"
                     for k in ("precision", "recall", "f1")]
            cells.insert(2, r["recall_by_seed"])
            lines.append(f"| {r['class']} | {r['support']} | {' | '.join(cells)} | "
                         + " | ".join(str(r[f"predicted {n}"]) for n in names) + " |")
        lines.append("")
        lines += [f"Seed(s) {', '.join(map(str, r['lost_on_seeds']))} lost {r['class']}: none of its test examples "
                  f"was predicted as {r['class']}.\n" for r in mine if r["lost_on_seeds"]]
    (REPORT / "per-class.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
