"""``autopeft status`` and ``autopeft pareto``: read a run's journal and print it. No torch is imported."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any

from autopeft.errors import ConfigError
from autopeft.objectives import Objective, objectives_of
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


FRONT_COLUMNS = ("trial", "origin", "method", "trainable_params", "accuracy", "macro_f1", "ece", "ece_ts", "brier",
                 "nll", "knee", "config")


ALL_COLUMNS = ("trial", "state", "on_front", *FRONT_COLUMNS[1:-1], "train_seconds", "eval_seconds", "error",
               "config")


def pareto_rows(folder: Path, *, all_trials: bool = False) -> list[dict[str, Any]]:
    """The front's rows (validation split); with ``all_trials`` every search trial, marked on/off the front."""
    with Journal.open(folder, lock=False) as journal:
        f = front(journal, _objectives(journal))
        knee = f.trials[f.knee].number if f.knee is not None else None
        on_front = {t.number for t in f.trials}
        rows = []
        for t in journal.trials() if all_trials else f.trials:
            v, r = t.values, t.result
            row: dict[str, Any] = {
                "trial": t.number, "origin": t.origin, "method": t.config.get("method"),
                "trainable_params": r.trainable_params if r else None, "accuracy": v.get("accuracy"),
                "macro_f1": v.get("macro_f1"), "ece": v.get("ece"), "ece_ts": v.get("ece_ts"),
                "brier": v.get("brier"), "nll": v.get("nll"), "knee": t.number == knee,
                "config": json.dumps(t.config, sort_keys=True)}
            if all_trials:
                row.update(state=t.state, on_front=t.number in on_front, error=t.error,
                           train_seconds=r.train_seconds if r else None, eval_seconds=r.eval_seconds if r else None)
            rows.append(row)
        return rows


def pareto_text(folder: Path, fmt: str, *, all_trials: bool = False) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not allowed; allowed: {', '.join(FORMATS)}")
    rows = pareto_rows(folder, all_trials=all_trials)
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=ALL_COLUMNS if all_trials else FRONT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    head = f"{'trial':>5} {'params':>12} {'val acc':>8} {'F1':>6} {'ECE':>6} {'NLL':>6}  configuration"
    lines = [head, "-" * len(head)]
    for r in rows:
        if r["accuracy"] is None:
            lines.append(f"{r['trial']:>5} {'':>12} {r.get('state', ''):>8}  {r.get('error') or ''}")
            continue
        mark = " <- knee" if r["knee"] else (" (front)" if r.get("on_front") else "")
        lines.append(f"{r['trial']:>5} {r['trainable_params']:>12,} {r['accuracy']:>8.4f} {r['macro_f1']:>6.3f} "
                     f"{r['ece']:>6.3f} {r['nll']:>6.3f}  {r['origin']}: {describe(json.loads(r['config']))}{mark}")
    return "\n".join(lines) + "\n(validation split)"


