"""Compose the report of one or more runs: a summary across them, then one section per run."""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autopeft.objectives import PARAMS
from autopeft.report import plots
from autopeft.report.cells import lr_text, metric_label, minutes, num, params_text, plus_minus, shown_path
from autopeft.report.collect import RunData
from autopeft.report.document import Code, Document, Figure, Heading, Paragraph, Table
from autopeft.report.finalized import finalized_section, per_class_section
from autopeft.report.references import ReferencePoint, reference_points
from autopeft.study.classes import lost_classes
from autopeft.study.commands import search_flags
from autopeft.study.journal import Trial
from autopeft.study.status import warm_start_lines
from autopeft.tasks.splits import describe_splits
from autopeft.trial import describe

CALIBRATION = ("ece", "mce", "brier", "nll")
#: Columns of a trial row beyond the registered objectives: calibration after scaling and the temperature.
EXTRA_METRICS = ("mce", "temperature", "ece_ts", "mce_ts", "brier_ts", "nll_ts")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "run"


class ReportBuilder:
    """Turns :class:`RunData` into a :class:`Document` and CSV tables (name -> rows)."""

    def __init__(self, runs: Sequence[RunData], baselines: dict[str, list[RunData]], title: str,
                 out: Path) -> None:
        self.runs, self.baselines, self.out = list(runs), baselines, out
        self.doc = Document(title)
        self.csvs: dict[str, list[dict[str, Any]]] = {}
        self.slugs = self._slugs()

    def _slugs(self) -> list[str]:
        seen: dict[str, int] = {}
        out = []
        for run in self.runs:
            base = slug(run.folder.name)
            seen[base] = seen.get(base, 0) + 1
            out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
        return out

    def build(self) -> Document:
        self._summary()
        for run, name in zip(self.runs, self.slugs, strict=True):
            self._section(run, name)
        return self.doc

    # ---- the summary across runs ---------------------------------------------------------------------
    def _summary(self) -> None:
        d = self.doc
        mixed = len({run.score for run in self.runs}) > 1  # e.g. a classification and a generation task
        d.add(Paragraph(f"{len(self.runs)} run(s). Every number from the search is on the [validation]; only "
                        "the finalize tables are on the [test], which the search never saw. Trainable "
                        "parameters are counted from the model (a classifier's head included)."
                        + (" The runs score different metrics, so each figure below names its own." if mixed
                           else "")))
        rows, csv_rows = [], []
        for run, name in zip(self.runs, self.slugs, strict=True):
            knee, best = run.knee, run.best
            fin = {r["trial"]: r for r in run.finalized}
            knee_test = plus_minus(fin[knee.number], run.score) if knee is not None and knee.number in fin else ""
            unit = f" {run.score_label}" if mixed else ""
            rows.append((run.folder.name, run.task, run.model, f"{len(run.complete)}/{len(run.trials)}",
                         len(run.front.trials), num(run.front.hypervolume, 3),
                         f"{num(best.values.get(run.score))}{unit} ({params_text(best.values.get('trainable_params'))})"
                         if best else "",
                         f"{num(knee.values.get(run.score))}{unit} ({params_text(knee.values.get('trainable_params'))})"
                         if knee else "",
                         f"{knee_test}{unit}" if knee_test else "not finalized", minutes(run.wall_seconds)))
            csv_rows.append({"section": name, "run": str(run.folder), "task": run.task, "model": run.model,
                             "score": run.score,
                             "trials": len(run.trials), "complete": len(run.complete), "failed": len(run.failed),
                             "front_points": len(run.front.trials), "hypervolume": run.front.hypervolume,
                             f"best_validation_{run.score}": best.values.get(run.score) if best else None,
                             "best_trial": best.number if best else None,
                             "knee_trial": knee.number if knee else None,
                             "knee_trainable_params": knee.values.get("trainable_params") if knee else None,
                             f"knee_validation_{run.score}": knee.values.get(run.score) if knee else None,
                             f"knee_test_{run.score}_mean": fin[knee.number].get(f"test_{run.score}_mean")
                             if knee is not None and knee.number in fin else None,
                             **_versus_csv(run), "wall_seconds": round(run.wall_seconds, 1)})
        first = "score" if mixed else self.runs[0].score_label
        d.add(Heading("Summary across tasks", 2, "summary"),
              Table(("run", "task", "model", "trials complete/all", "front points", "hypervolume",
                     f"best val {first} (params)", f"knee val {first} (params)",
                     f"knee test {first} (mean ± std)", "wall time"),
                    tuple(rows), (False, False, False, True, True, True, True, True, True, True)))
        self.csvs["summary"] = csv_rows

    # ---- one run ----------------------------------------------------------------------------------------
    def _section(self, run: RunData, name: str) -> None:
        d = self.doc
        d.add(Heading(f"{run.task}: {run.model} ({run.folder.name})", 2, name))
        for note in run.notes:
            d.add(Paragraph(note, note=True))
        self._searched(run, name)
        self._front(run, name)
        self._references(run, name)
        self._hypervolume(run, name)
        self._calibration(run, name)
        self._placement(run, name)
        self._finalized(run, name)
        self._per_class(run, name)
        self._reproduce(run, name)

    def _searched(self, run: RunData, name: str) -> None:
        r, s = run.recipe, run.settings
        data = r.get("data") or {}
        fid, tr = r.get("fidelity") or {}, r.get("training") or {}
        search = r.get("search") or {}
        final = search.get("final_fidelity") or {}
        states = Counter(t.state for t in run.trials)
        rows = [
            ("model", run.model), ("task", run.task),
            ("data", describe_splits(data, s.get("data"))),
            ("space", shown_path(str(r.get("space")))),
            ("controller", f"{s.get('controller')} (seed {s.get('seed')})"),
            ("trials ran", _engine(s.get("engine"))),
            ("objectives", ", ".join(o.name for o in run.objectives)),
            ("budget", f"{s.get('budget')} trials, reference points included"),
            *(("ended early", note.removeprefix("the search ")) for note in [s.get("ended_early")] if note),
            *(("warm start", line.removeprefix("warm start: "))
              for line in warm_start_lines(s.get("warm_start_sources") or [], s.get("warm_start_trials"))),
            ("search fidelity", f"{fid.get('steps')} steps x batch {tr.get('batch_size')} (train fraction "
                                f"{fid.get('train_fraction', 1.0)}), max length {tr.get('max_length')} tokens"),
            *(("multi-fidelity", note) for note in run.fidelity_notes),
            ("finalize fidelity", f"{final.get('steps')} steps, {search.get('final_seeds')} seeds"),
            ("trials", ", ".join(f"{v} {k}" for k, v in sorted(states.items()))),
            ("wall time", f"{minutes(run.wall_seconds)} (trial compute {minutes(run.compute_seconds)})"
                          + (f", over {s['sessions']} sessions (the search and its resumes; the time it sat "
                             "stopped is left out)" if (s.get("sessions") or 0) > 1 else "")),
        ]
        self.doc.add(Heading("What was searched", 3), Table(("setting", "value"), tuple(rows)))
        if run.space_rows:
            self.doc.add(Table(("dimension", "type", "values", "active when"),
                               tuple(tuple(row.values()) for row in run.space_rows),
                               caption="the search space's dimensions"))
        if run.failed:
            self.doc.add(Paragraph(f"{len(run.failed)} trial(s) failed; their reasons:"),
                         Table(("trial", "configuration", "reason"),
                               tuple((t.number, describe(t.config, 90), (t.error or "")[:300]) for t in run.failed)))
        else:
            self.doc.add(Paragraph("No trial failed."))
        self.csvs[f"{name}-trials"] = [_trial_row(run, t) for t in run.trials]

    def _front(self, run: RunData, name: str) -> None:
        d = self.doc
        d.add(Heading(f"Pareto front: trainable parameters against {run.score_label}", 3),
              Figure(f"{name}-pareto", plots.pareto_plot(run),
                     "[validation] Every completed trial, coloured by PEFT method; the front is the staircase, "
                     "reference points have black-edged markers (large: the tuned one, the best learning rate of "
                     "its sweep; small: its other learning rates), the star is the knee"
                     + (", the dotted line chance (always predicting the majority class; the knee is chosen above "
                        "it)." if run.chance is not None else ".")))
        rows, knee, names = [], run.knee, run.classes
        metrics = run.metrics[:3]
        for t in run.front.trials:
            v, lost = t.values, lost_classes(t.result, "validation", names)  # classes none predicted as
            note = "knee" if knee is not None and t.number == knee.number else ""
            note += ("; " if note else "") + f"lost {', '.join(lost)} on validation" if lost else ""
            rows.append((t.number, t.origin, t.config.get("method"), params_text(v.get(PARAMS)),
                         *[num(v.get(m)) for m in metrics], note, describe(t.config, 90)))
        d.add(Table(("trial", "origin", "method", "trainable params", *[f"val {metric_label(m)}" for m in metrics], "",
                     "configuration"), tuple(rows), (True, False, False, True, *[True] * len(metrics), False, False),
                    caption="the front, by trainable parameters (validation split)"))
        self.csvs[f"{name}-front"] = [_trial_row(run, t) for t in run.front.trials]

    def _references(self, run: RunData, name: str) -> None:
        """Each reference point tuned over its learning-rate sweep, and the search against the TUNED one."""
        refs = reference_points(run)
        if not refs:
            return
        d, label = self.doc, run.score_label
        d.add(Heading("Reference points, tuned", 3),
              Paragraph(f"[validation] Each reference point is trained at a small sweep of learning rates; its "
                        f"tuned point is the sweep's best on validation {label}, and the search is compared with "
                        f"that tuned point, so a reference that merely got a poor learning rate does not flatter "
                        f"the search."))
        rows, csv_rows = [], []
        for ref in refs:
            sweep = ", ".join(_sweep_entry(run, p.trial, p.learning_rate) for p in ref.sweep)
            rival = ref.rival
            rows.append((ref.name, ref.tuned.number, lr_text(ref.tuned_lr), params_text(ref.tuned.values.get(PARAMS)),
                         num(ref.tuned.values.get(run.score)), sweep,
                         f"trial {rival.number}: {num(rival.values.get(run.score))} "
                         f"({params_text(rival.values.get(PARAMS))})" if rival else "none",
                         "yes" if ref.dominated else "no"))
            csv_rows += [{"reference": ref.name, "trial": p.trial.number, "learning_rate": p.learning_rate,
                          "state": p.state, "tuned": p.trial.number == ref.tuned.number,
                          PARAMS: p.trial.values.get(PARAMS), f"validation_{run.score}": p.trial.values.get(run.score)}
                         for p in ref.sweep]
        d.add(Table(("reference", "tuned trial", "tuned learning rate", "trainable params", f"val {label} (tuned)",
                     f"sweep: learning rate → val {label}", "search's best at ≤ its params", "dominated by the search"),
                    tuple(rows), (False, True, True, True, True, False, False, False),
                    caption="one row per reference point; the sweep lists every learning rate it was trained at"),
              *[Paragraph(_versus_sentence(run, ref)) for ref in refs])
        self.csvs[f"{name}-references"] = csv_rows

    def _hypervolume(self, run: RunData, name: str) -> None:
        base = self.baselines.get(str(run.folder), [])
        worst = ", ".join(f"{o.label} {o.worst:g}" for o in run.objectives if o.worst is not None)
        caption = (f"[validation] Hypervolume dominated by the front (reference: {worst} and the full model's "
                   "parameters, on log10 parameters) after each trial.")
        if base:
            caption += " Dashed: " + ", ".join(f"`{b.folder}`" for b in base) + " on the same axes."
        else:
            caption += " No random-search run was given (`autopeft report RUN --random RUN2`)."
        self.doc.add(Heading("Hypervolume against trials", 3),
                     Figure(f"{name}-hypervolume", plots.hypervolume_plot(run, base), caption))

    def _calibration(self, run: RunData, name: str) -> None:
        d = self.doc
        d.add(Heading("Calibration", 3))
        if not any("ece" in t.values for t in run.front.trials):
            d.add(Paragraph("The front's trials report no calibration metrics (a generation task has no class "
                            "probabilities to calibrate), so there is no calibration table.", note=True))
            return
        panels = [("knee", run.knee)] if run.knee is not None else []
        if run.best is not None and (run.knee is None or run.best.number != run.knee.number):
            panels.append((f"best {run.score_label}", run.best))
        png = plots.reliability_plot([(t, p) for t, p in panels if p is not None])
        if png is not None:
            d.add(Figure(f"{name}-reliability", png,
                         "[validation] Bars: accuracy per confidence bin (15 equal-width bins); hatched: the gap to "
                         "the bin's mean confidence; dashed: perfect calibration."))
        rows, csv_rows = [], []
        for t in run.front.trials:
            v = t.values
            rows.append((t.number, params_text(v.get("trainable_params")), num(v.get(run.score)),
                         *[f"{num(v.get(k))} → {num(v.get(k + '_ts'))}" for k in CALIBRATION],
                         num(v.get("temperature"), 3)))
            csv_rows.append({"trial": t.number, "trainable_params": v.get("trainable_params"),
                             run.score: v.get(run.score), "temperature": v.get("temperature"),
                             **{k: v.get(k) for k in CALIBRATION}, **{k + "_ts": v.get(k + "_ts")
                                                                       for k in CALIBRATION}})
        d.add(Table(("trial", "trainable params", f"val {run.score_label}", "ECE", "MCE", "Brier", "NLL",
                     "temperature"),
                    tuple(rows), (True, True, True, True, True, True, True, True),
                    caption="every front point: before → after temperature scaling. Validation split; the "
                            "temperature is fit on this same split, so the 'after' column is in-sample (the "
                            "finalize table below has the out-of-sample test-split figures)"))
        self.csvs[f"{name}-calibration"] = csv_rows

    def _placement(self, run: RunData, name: str) -> None:
        d = self.doc
        d.add(Heading("What the front adapts", 3))
        if run.placement is not None:
            stacks = " and ".join(run.placement.stacks)
            d.add(Figure(f"{name}-heatmap", plots.heatmap_plot(run.placement),
                         f"Share of the {run.placement.configs} front configurations that adapt each module "
                         f"(rows) of each {stacks} block (columns). Cells show the LoRA ranks used there (r8, or "
                         "r2-16 for a range), or the share for methods without a rank (IA3, LN tuning, BitFit)."))
        if run.importance is not None:
            imp = run.importance
            d.add(Figure(f"{name}-importance", plots.importance_plot(imp, run.score_label),
                         f"Which dimensions the surrogate (extremely randomised trees) needs to predict validation "
                         f"{run.score_label}: the rise in held-out error when a dimension (or one block's rank) is "
                         f"shuffled, as a share of the total; {imp.folds}-fold cross-validated R² = {imp.r2:.2f} over "
                         f"{imp.observations} trials."))
            self.csvs[f"{name}-importance"] = [{"dimension": n, "share": float(v)}
                                               for n, v in zip(imp.names, imp.values, strict=True)]

    def _finalized(self, run: RunData, name: str) -> None:
        if finalized_section(self.doc, run):
            self.csvs[f"{name}-finalize"] = run.finalized

    def _per_class(self, run: RunData, name: str) -> None:
        if per_class_section(self.doc, run):
            self.csvs[f"{name}-per-class"] = run.per_class

    def _reproduce(self, run: RunData, name: str) -> None:
        r, s = run.recipe, run.settings
        flags = "".join(f" {shlex.quote(flag)}" for flag in search_flags(r))
        cmd = [f"autopeft search {r.get('source')} --budget {s.get('budget')} --controller {s.get('controller')} "
               f"--seed {s.get('seed')}{flags} --out {run.folder}"]
        finalized = {f["trial"] for f in run.finalized}
        front = {t.number for t in run.front.trials}
        if len(front) > 1 and front <= finalized:  # the whole front: one command
            cmd.append(f"autopeft finalize {run.folder} --pick front")
            finalized -= front
        for origin in sorted(finalized):
            spec = "knee" if run.knee is not None and origin == run.knee.number else f"trial:{origin}"
            cmd.append(f"autopeft finalize {run.folder} --pick {spec}")
        cmd.append("# export any front point as a peft adapter (finalized weights are used when they exist)")
        for t in run.front.trials:
            cmd.append(f"autopeft export {run.folder} --pick trial:{t.number} --out adapters/{name}-trial-{t.number}")
        self.doc.add(Heading("How to reproduce", 3), Code("\n".join(cmd)))


def _sweep_entry(run: RunData, trial: Trial, lr: float | None) -> str:
    value = trial.values.get(run.score)
    return f"{lr_text(lr)} → {num(value) if value is not None else trial.state}"


def _versus_sentence(run: RunData, ref: ReferencePoint) -> str:
    """One sentence: the search's best point at no more parameters than the TUNED reference, against it."""
    label, tuned = run.score_label, ref.tuned
    mine = f"{num(tuned.values.get(run.score))} with {params_text(tuned.values.get(PARAMS))} parameters"
    head = f"Against the tuned {ref.name} (learning rate {lr_text(ref.tuned_lr)}, validation {label} {mine})"
    if ref.rival is None:
        return f"{head}, the search found no point training at most as many parameters.{_edge_sentence(ref)}"
    theirs = ref.rival.values
    gain = run.better(theirs.get(run.score)) - run.better(tuned.values.get(run.score))
    size = f"{abs(gain):.4f}" if abs(gain) >= 5e-5 else f"{abs(gain):.1e}"  # never "worse by 0.0000"
    verdict = "matches it" if gain == 0 else f"is {'better' if gain > 0 else 'worse'} by {size}"
    return (f"{head}, the search's best point at no more parameters (trial {ref.rival.number}, "
            f"{num(theirs.get(run.score))} with {params_text(theirs.get(PARAMS))} parameters) {verdict}"
            f"{'; the search dominates it' if ref.dominated else ''}.{_edge_sentence(ref)}")


def _edge_sentence(ref: ReferencePoint) -> str:
    """A tuned rate at an end of its sweep is the best rate *tried*: the reader is told so, and how to widen it."""
    if ref.edge is None:
        return ""
    return (f" Its tuned learning rate is the {ref.edge} of its sweep, so a wider sweep might tune it further "
            "(`search.reference_lr_factors`).")


def _versus_csv(run: RunData) -> dict[str, Any]:
    """Summary columns: how many TUNED references the search dominates or beats at no more parameters."""
    refs = reference_points(run)
    beaten = sum(1 for r in refs if r.rival is not None
                 and run.better(r.rival.values.get(run.score)) > run.better(r.tuned.values.get(run.score)))
    return {"tuned_references": len(refs), "tuned_references_dominated": sum(r.dominated for r in refs),
            "tuned_references_beaten_at_no_more_params": beaten,
            "tuned_references_at_a_sweep_edge": sum(r.edge is not None for r in refs)}


def _engine(engine: Any) -> str:
    if not engine:
        return "one at a time in the search's process"
    workers = int(engine.get("workers", 1))
    return (f"{workers} at a time, engine {engine.get('name')}" if workers > 1
            else f"one at a time, engine {engine.get('name')}")


def _trial_row(run: RunData, t: Trial) -> dict[str, Any]:
    v, res = t.values, t.result
    on_front = {f.number for f in run.front.trials}
    return {"trial": t.number, "state": t.state, "origin": t.origin, "steps": t.fidelity.steps,
            "method": t.config.get("method"),
            "on_front": t.number in on_front, "trainable_params": v.get("trainable_params"),
            **{k: v.get(k) for k in (*run.metrics, *(m for m in EXTRA_METRICS if m not in run.metrics))},
            "train_seconds": res.train_seconds if res else None, "eval_seconds": res.eval_seconds if res else None,
            "error": t.error, "config": json.dumps(t.config, sort_keys=True)}
