"""Compare a multi-fidelity (ASHA) search with a single-fidelity one from their journals: the front at the top
fidelity, its hypervolume on one reference, the best and knee points, trials per fidelity, the training cost in
top-fidelity trials (steps / top steps) and the measured trial time.

    python benchmarks/asha_vs_single.py \\
        --single reports/minilm-default-budget50/journals/default-bbc-news-budget50.db \\
        --asha reports/bbc-news-asha-budget50/study.db --out reports/bbc-news-asha-budget50/comparison

Both hypervolumes use the same reference: accuracy 0 and the larger of the two runs' full-model parameter
counts (log10), as ``autopeft status`` does for one run. Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any


def summary(db: Path) -> dict[str, Any]:
    from autopeft.objectives import PARAMS, objectives_of
    from autopeft.study.front import front
    from autopeft.study.journal import Journal
    from autopeft.study.rungs import top_steps

    folder = Path(tempfile.mkdtemp())
    shutil.copy(db, folder / "study.db")
    try:
        with Journal.open(folder, lock=False) as journal:
            objectives = objectives_of(journal.meta("settings")["objectives"])
            trials = journal.trials()
            f = front(journal, objectives)
            top = top_steps(journal.recipe) or journal.recipe["fidelity"]["steps"]
            started = journal.meta("started")
    finally:
        shutil.rmtree(folder)
    names = [o.name for o in objectives]
    acc = names.index("accuracy")
    steps = sorted({t.fidelity.steps for t in trials})
    finished = [t.finished for t in trials if t.finished]
    best = max(range(len(f.trials)), key=lambda i: f.values[i, acc]) if f.trials else None
    return {
        "journal": str(db), "trials": len(trials), "top_steps": top,
        "per_fidelity": {str(s): sum(1 for t in trials if t.fidelity.steps == s) for s in steps},
        "states": {s: sum(1 for t in trials if t.state == s) for s in sorted({t.state for t in trials})},
        "training_cost_top_trials": round(sum(t.fidelity.steps / top for t in trials), 2),
        "trial_seconds": round(sum(t.finished - t.started for t in trials if t.finished and t.started), 1),
        "span_seconds": round(max(finished) - float(started), 1) if finished and started else None,
        "front": [{"trial": t.number, "accuracy": float(f.values[i, acc]),
                   PARAMS: int(f.values[i, names.index(PARAMS)]), "steps": t.fidelity.steps}
                  for i, t in enumerate(f.trials)],
        "best_accuracy": float(f.values[best, acc]) if best is not None else None,
        "total_params": max(float(t.result.total_params or 0) for t in trials if t.result is not None),
        "objectives": names,
    }


def hypervolume(run: dict[str, Any], total: float) -> float:
    from autopeft.objectives import objectives_of, reference_point, to_minimize
    from autopeft.pareto import hypervolume as hv

    objectives = objectives_of(run["objectives"])
    points = [[p[o.name] for o in objectives] for p in run["front"]]
    return float(hv(to_minimize(points, objectives), reference_point(objectives, total))) if points else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--single", required=True, help="journal (study.db) of the single-fidelity search")
    p.add_argument("--asha", required=True, help="journal (study.db) of the multi-fidelity search")
    p.add_argument("--out", required=True, help="output stem: OUT.json and OUT.md")
    args = p.parse_args(argv)
    single, asha = summary(Path(args.single)), summary(Path(args.asha))
    total = max(single["total_params"], asha["total_params"])
    for run in (single, asha):
        run["hypervolume"] = round(hypervolume(run, total), 6)
    command = "python " + " ".join(["benchmarks/asha_vs_single.py", *sys.argv[1:]])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"command": command, "single": single, "asha": asha}, indent=1)
                                        + "\n", encoding="utf-8")
    rows = [("trials", "trials"), ("trials per fidelity (steps: n)", "per_fidelity"), ("states", "states"),
            ("training cost, in top-fidelity trials", "training_cost_top_trials"),
            ("trial time, sum (s)", "trial_seconds"), ("first start to last finish (s)", "span_seconds"),
            ("front points (top fidelity)", None), ("best validation accuracy on the front", "best_accuracy"),
            ("front hypervolume (accuracy 0, full model, log10)", "hypervolume")]
    lines = ["# Multi-fidelity (ASHA) against single-fidelity search, from their journals", "",
             f"Command: `{command}`", "", "| | single fidelity | ASHA |", "|---|---|---|"]
    for label, key in rows:
        a, b = (len(r["front"]) if key is None else r[key] for r in (single, asha))
        lines.append(f"| {label} | {_cell(a)} | {_cell(b)} |")
    lines += ["", f"Hypervolume ratio ASHA / single: **{asha['hypervolume'] / single['hypervolume']:.4f}** for "
              f"**{asha['training_cost_top_trials'] / single['training_cost_top_trials']:.2f}x** the training cost."]
    text = "\n".join(lines) + "\n"
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4f}" if value < 10 else f"{value:,.1f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
