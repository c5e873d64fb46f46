"""The report's sections on the test split: the finalize table of each run and, for a classification task, each
finalized point's precision, recall and F1 per class with its confusion matrix. Each adds its blocks to the
document and says whether it has a CSV table to write."""

from __future__ import annotations

from typing import Any

from autopeft.report.cells import metric_label, num, params_text, plus_minus
from autopeft.report.collect import RunData
from autopeft.report.document import Document, Heading, Paragraph, Table
from autopeft.study.classes import chance_of_counts
from autopeft.study.finalize import TEST_METRICS, held_up_note

__all__ = ["finalized_section", "per_class_section"]


def finalized_section(doc: Document, run: RunData) -> bool:
    """The finalize table (mean ± std over seeds), or a note giving the command when nothing was finalized."""
    doc.add(Heading("Finalized points (test split)", 3))
    if not run.finalized:
        doc.add(Paragraph(f"No point of this run was finalized, so there are no test-split figures. Re-train the "
                          f"knee at the final fidelity over seeds with `autopeft finalize {run.folder} --pick knee` "
                          "(`--pick front`: every front point), "
                          "then build the report again.", note=True))
        return False
    shown = [run.score, *(k for k in TEST_METRICS if k != run.score and k not in ("mce", "brier"))]
    shown = [k for k in shown if any(f"test_{k}_mean" in r for r in run.finalized)]
    rows = []
    for r in run.finalized:
        mark = " (knee)" if run.knee is not None and r["trial"] == run.knee.number else ""
        mark = mark or (" (best)" if run.best is not None and r["trial"] == run.best.number else "")
        val = f"{num(r.get('validation_score_search'))} @{r.get('validation_steps_search')}"
        final = plus_minus(r, "validation_score_final", prefix="")
        rows.append((f"{r['trial']}{mark}", r["origin"], params_text(r.get("trainable_params")), r["seeds"],
                     r["steps"], val, final, *[plus_minus(r, k) for k in shown], r["config"]))
    scaled = " the temperature for 'ECE after scaling' is fit on the validation split." if "ece_ts" in shown else ""
    first = [r["support"] for r in run.per_class if r["trial"] == run.per_class[0]["trial"]] if run.per_class else []
    chance = chance_of_counts(first, run.score)
    floor = "" if chance is None else (f" Always predicting the test split's majority class scores {run.score_label} "
                                       f"{chance:.4f}.")
    doc.add(Paragraph("[test] Each point re-trained at the final fidelity with several seeds and scored once on "
                      f"the test split;{scaled} The first [validation] column is the search's own figure, at the "
                      "training steps the trial ran in the search; the second is the same split after the "
                      "finalize's training (mean ± std over its seeds), which shows, without the test split, "
                      f"whether the longer training held up.{floor}"),
            Table(("trial", "origin", "trainable params", "seeds", "steps", f"val {run.score_label} (search) @steps",
                   f"val {run.score_label} (finalized)",
                   *[f"TEST {'ECE after scaling' if k == 'ece_ts' else metric_label(k)}" for k in shown],
                   "configuration"), tuple(rows),
                  (True, False, True, True, True, True, True, *[True] * len(shown), False)))
    held = held_up_note(run.finalized, run.score, run.score_label)
    if held:
        doc.add(Paragraph(held, note=True))
    return True


def _pm(row: dict[str, Any], key: str) -> str:
    mean = row[f"{key}_mean"]
    return "no test example" if mean is None else f"{mean:.4f} ± {row[f'{key}_std']:.4f}"


def per_class_section(doc: Document, run: RunData) -> bool:
    """Each finalized point's test precision, recall and F1 per class, and its confusion matrix."""
    if not any("test_accuracy_mean" in r for r in run.finalized):
        return False  # nothing finalized, or a generation task: no classes
    doc.add(Heading("Per class (test split)", 3))
    if not run.per_class:
        doc.add(Paragraph("The finalized seeds of this run were journaled before autopeft kept confusion matrices, "
                          "so there is no per-class table.", note=True))
        return False
    for trial in dict.fromkeys(r["trial"] for r in run.per_class):
        rows = [r for r in run.per_class if r["trial"] == trial]
        classes = [r["class"] for r in rows]
        mark = " (knee)" if run.knee is not None and trial == run.knee.number else ""
        doc.add(Table(("true class", "test examples", "TEST precision", "TEST recall", "TEST F1",
                       *[f"predicted {c}" for c in classes]),
                      tuple((r["class"], r["support"], _pm(r, "precision"), _pm(r, "recall"), _pm(r, "f1"),
                             *[r[f"predicted {c}"] for c in classes]) for r in rows),
                      (False, *[True] * (4 + len(classes))),
                      caption=f"Trial {trial}{mark}: precision, recall and F1 of each class, mean ± std over "
                              f"{rows[0]['seeds']} seed(s); the 'predicted' columns are the confusion matrix, "
                              "summed over the seeds (row: the true class)."))
        doc.add(*[Paragraph(f"Trial {trial} lost {r['class']} on seed(s) {', '.join(map(str, r['lost_on_seeds']))}: "
                            f"none of its test examples was predicted as {r['class']}.", note=True)
                  for r in rows if r["lost_on_seeds"]])
    return True
