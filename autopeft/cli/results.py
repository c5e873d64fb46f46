"""``autopeft status`` and ``autopeft pareto``: read a run's journal and print it. No torch is imported."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any

from autopeft.errors import ConfigError
from autopeft.objectives import OBJECTIVES, PARAMS, Objective, objectives_of, score_objective
from autopeft.study.front import front
from autopeft.study.journal import Journal
from autopeft.trial import describe

FORMATS = ("table", "csv", "json")


def configure(sub: Any) -> None:
    st = sub.add_parser("status", help="trials by state, best so far, front size, hypervolume, ETA")
    st.add_argument("run")
    st.set_defaults(func=cmd_status)

    pa = sub.add_parser("pareto", help="the Pareto front of a run (validation split)")
    pa.add_argument("run")
    pa.add_argument("--format", default="table", help="table (default), csv or json")
    pa.add_argument("--all", action="store_true", help="every trial, not only the front (marked on/off it)")
    pa.set_defaults(func=cmd_pareto)


def cmd_status(args: argparse.Namespace) -> int:
    from autopeft.study.status import status_text

    print(status_text(Path(args.run)))
    return 0


def cmd_pareto(args: argparse.Namespace) -> int:
    print(pareto_text(Path(args.run), args.format, all_trials=args.all))
    return 0


def _objectives(journal: Journal) -> list[Objective]:
    return objectives_of(journal.meta("settings")["objectives"])


#: Metrics shown after the run's own objectives, when the trials have them.
CALIBRATION = ("ece_ts", "mce")


def metric_columns(objectives: list[Objective], trials: list[Any]) -> list[str]:
    """The run's objectives (not the parameter count) first, then every other registered objective and the
    calibration metrics that any trial has: from the objectives registry, so a new objective shows up here."""
    names = [o.name for o in objectives if o.name != PARAMS]
    seen = {k for t in trials for k in t.values}
    return names + [n for n in (*OBJECTIVES, *CALIBRATION) if n in seen and n not in names and n != PARAMS]


def pareto_rows(folder: Path, *, all_trials: bool = False) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and the front's rows (validation split); with ``all_trials`` every search trial, marked
    on/off the front. ``lost_classes`` names the classes a trial lost on validation (none of their examples
    predicted as them): empty when it lost none, ``None`` where the record has no confusion matrix.
    ``at_chance``: the score is no better than always predicting the validation split's majority class (``None``
    where the run has no chance level: no class counts, or a score without one)."""
    from autopeft.study.classes import at_chance, class_names, lost_classes, run_chance

    with Journal.open(folder, lock=False) as opened, opened.snapshot() as journal:
        objectives = _objectives(journal)
        f = front(journal, objectives)
        knee = f.trials[f.knee].number if f.knee is not None else None
        on_front = {t.number for t in f.trials}
        trials = journal.trials() if all_trials else f.trials
        names = class_names(journal.recipe) if any(t.result and t.result.confusion for t in trials) else ()
        score = score_objective(objectives).name
        chance = run_chance(journal.trials(), score)
    metrics = metric_columns(objectives, trials)
    head = ["trial", *(["state", "on_front"] if all_trials else []), "origin", "steps", "method", PARAMS, *metrics,
            "knee"]
    columns = head + (["train_seconds", "eval_seconds", "error"] if all_trials else []) + [
        "lost_classes", "at_chance", "config"]
    rows = []
    for t in trials:
        v, r = t.values, t.result
        row: dict[str, Any] = {"trial": t.number, "origin": t.origin, "steps": t.fidelity.steps,
                               "method": t.config.get("method"),
                               PARAMS: r.trainable_params if r else None, **{m: v.get(m) for m in metrics},
                               "knee": t.number == knee, "config": json.dumps(t.config, sort_keys=True)}
        lost = lost_classes(r, "validation", names)
        row["lost_classes"] = None if lost is None else "; ".join(lost)  # "": none lost; None: not recorded
        row["at_chance"] = at_chance(v.get(score), chance)
        if all_trials:
            row.update(state=t.state, on_front=t.number in on_front, error=t.error,
                       train_seconds=r.train_seconds if r else None, eval_seconds=r.eval_seconds if r else None)
        rows.append({c: row.get(c) for c in columns})
    return columns, rows


def pareto_text(folder: Path, fmt: str, *, all_trials: bool = False) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not allowed; allowed: {', '.join(FORMATS)}")
    columns, rows = pareto_rows(folder, all_trials=all_trials)
    if fmt == "json":  # the configuration as an object, not as the text the CSV holds
        return json.dumps([{**r, "config": json.loads(r["config"])} for r in rows], indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    shown = [c for c in columns[columns.index(PARAMS) + 1: columns.index("knee")]][:4]
    labels = [OBJECTIVES[c].label if c in OBJECTIVES else c for c in shown]
    widths = [max(10, len(x)) for x in labels]  # a label is never cut ("exact match")
    steps = sorted({r["steps"] for r in rows if r.get(shown[0]) is not None})
    mixed = len(steps) > 1          # a multi-fidelity run's --all: each row says its training steps
    head = (f"{'trial':>5} " + (f"{'steps':>6} " if mixed else "") + f"{'params':>12} "
            + " ".join(f"{x:>{w}}" for x, w in zip(labels, widths, strict=True)) + "  configuration")
    lines = [head, "-" * len(head)]
    for r in rows:
        at = f"{r['steps']:>6} " if mixed else ""
        if r.get(shown[0]) is None:
            lines.append(f"{r['trial']:>5} {at}{'':>12} {r.get('state') or '':>10}  {r.get('error') or ''}")
            continue
        mark = " <- knee" if r["knee"] else (" (front)" if r.get("on_front") else "")
        mark += f" [lost on validation: {r['lost_classes']}]" if r.get("lost_classes") else ""
        mark += " [at chance]" if r.get("at_chance") else ""
        cells = " ".join(f"{r[c]:>{w}.4f}" if r.get(c) is not None else f"{'-':>{w}}"
                         for c, w in zip(shown, widths, strict=True))
        lines.append(f"{r['trial']:>5} {at}{r[PARAMS]:>12,} {cells}  {r['origin']}: "
                     f"{describe(json.loads(r['config']))}{mark}")
    at = f", {steps[0]} training steps" if len(steps) == 1 else (
        ", training steps per trial in the steps column" if mixed else "")
    if not rows:
        lines.append(f"(no {'trial' if all_trials else 'point on the front'} yet; `autopeft status {folder}` says "
                     "where the run stands)")
    return "\n".join(lines) + f"\n(validation split{at})"


