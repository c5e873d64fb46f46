"""Benchmark: the early-stopping rule of ``search.prune`` (:mod:`autopeft.study.pruning`) replayed on the committed
journals of two real 50-trial searches (the default recipe on tweets-sentiment and on bbc-news, 60 steps,
validation at 25 / 50 / 100 % of the steps).

Each trial is taken in journal order. Its bars come from the trials before it that the rule would have let
complete; it is "pruned" at the first partial point below its bar. A pruned trial drops out of the later bars,
as it would in a live search. The reference points (the recipe's baselines) are never stopped, as in a live
search (:func:`autopeft.study.pruning.may_stop` decides both). Reported per journal:
- how many trials the rule stops, and where;
- training steps saved, as a share of all search steps;
- how many stopped trials were on the run's final front (false prunes);
- the hypervolume of the front without the stopped trials, as a ratio to the run's own.

What it cannot show: after a pruned trial a live controller learns nothing from it, so the later proposals would
differ. Also, these journals scored their partial points on the whole validation split; live searches now use a
100-example subset (``training.partial_examples``), whose extra noise the measured slack absorbs.

    python benchmarks/pruning_rule.py        # writes benchmarks/results/pruning_rule.json and .md
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
JOURNALS = ("reports/minilm-default-budget50/journals/default-budget50.db",
            "reports/minilm-default-budget50/journals/default-bbc-news-budget50.db")


def replay(db: Path, min_trials: int) -> dict[str, Any]:
    from autopeft.objectives import objectives_of
    from autopeft.study.front import front
    from autopeft.study.journal import Journal
    from autopeft.study.pruning import below, may_stop, stop_bars

    folder = Path(tempfile.mkdtemp())
    shutil.copy(db, folder / "study.db")
    with Journal.open(folder, lock=False) as journal:
        objectives = objectives_of(journal.meta("settings")["objectives"])
        trials = journal.trials()
        full = front(journal, objectives)
    shutil.rmtree(folder)
    kept: list[Any] = []
    stopped: list[dict[str, Any]] = []
    steps_all = steps_saved = 0.0
    on_front = {t.number for t in full.trials}
    for trial in trials:
        steps_all += trial.fidelity.steps
        result = trial.result
        if not may_stop(trial) or result is None or result.trainable_params is None or not result.eval_curve:
            kept.append(trial)
            continue
        bars = stop_bars(kept, float(result.trainable_params), trial.fidelity.steps, min_trials=min_trials)
        hit = next(((f, s) for f, s in result.eval_curve if f < 1.0 and below(bars, f, s)), None)
        if hit is None:
            kept.append(trial)
            continue
        steps_saved += (1.0 - hit[0]) * trial.fidelity.steps
        stopped.append({"trial": trial.number, "origin": trial.origin, "at": hit[0], "partial": hit[1],
                        "bar": round(bars[hit[0]], 4), "final": result.eval_curve[-1][1],
                        "on_final_front": trial.number in on_front})
    hv_kept = _hypervolume(kept, objectives, trials)
    return {"journal": str(db.relative_to(ROOT)), "trials": len(trials), "stopped": len(stopped),
            "false_prunes": sum(s["on_final_front"] for s in stopped),
            "steps_saved_share": round(steps_saved / steps_all, 4) if steps_all else 0.0,
            "hypervolume_ratio": round(hv_kept / full.hypervolume, 6) if full.hypervolume else None,
            "detail": stopped}


def _hypervolume(kept: list[Any], objectives: Any, trials: list[Any]) -> float:
    from autopeft.objectives import reference_point, to_minimize
    from autopeft.pareto import hypervolume
    from autopeft.study.front import observed

    rows, values = observed(kept, objectives)
    if not rows:
        return 0.0
    total = max(float(t.result.total_params or 1) for t in trials if t.result is not None)
    return float(hypervolume(to_minimize(values, objectives), reference_point(objectives, total)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-trials", type=int, default=None, help="complete trials before any stop (default: the "
                                                                   "rule's MIN_TRIALS)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pruning_rule"))
    args = p.parse_args(argv)
    from autopeft.study.pruning import MIN_TRIALS

    k = args.min_trials or MIN_TRIALS
    results = [replay(ROOT / j, k) for j in JOURNALS]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/pruning_rule.py" + (f" --min-trials {k}" if args.min_trials else "")
    out.with_suffix(".json").write_text(json.dumps({"command": command, "min_trials": k, "runs": results},
                                                   indent=1) + "\n", encoding="utf-8")
    lines = ["# Early stopping (`search.prune`) replayed on two real 50-trial searches", "",
             f"Command: `{command}`. Rule: `autopeft/study/pruning.py` (min {k} complete trials before any stop).", "",
             "| journal | trials | stopped | false prunes (on the final front) | training steps saved | "
             "front hypervolume kept |", "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| `{Path(r['journal']).name}` | {r['trials']} | {r['stopped']} | {r['false_prunes']} | "
                     f"{100 * r['steps_saved_share']:.1f} % | {r['hypervolume_ratio']} |")
    lines += ["", "Stopped trials: fraction of steps, partial score, bar, the final score it would have reached.", ""]
    for r in results:
        for s in r["detail"]:
            lines.append(f"- `{Path(r['journal']).name}` trial {s['trial']} ({s['origin']}): at {s['at']:.0%} "
                         f"{s['partial']:.3f} < bar {s['bar']:.3f}; final {s['final']:.3f}"
                         + (" (on the final front)" if s["on_final_front"] else ""))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
