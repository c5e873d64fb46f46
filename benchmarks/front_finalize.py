"""Benchmark: which points of a run's front hold up at the final fidelity? Every front point is finalized
(``autopeft finalize --pick front``) in a scratch copy of a committed run's journal, so the committed journal is
not touched, and the table says, per point, its validation score in the search, on validation after the
finalize's training, and on the test split.

A search picks learning rates at its own steps; finalize trains for more. The committed default run's knee fell
from 0.720 to 0.681 on validation at 4x the steps. This measures whether that is the knee's alone, and which
point a user choosing by the finalized validation scores (never the test split) would take: the most accurate, and
the knee of the front the finalized validation means make.

    python benchmarks/front_finalize.py --run reports/default-budget50

Writes benchmarks/results/front_finalize.json and .md (``--out`` for another stem). The scratch copy lives in
``--scratch`` (default ``runs/front-finalize-NAME``), so a killed run goes on where it stopped when started again;
seeds the committed run already finalized are kept, not trained again.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/results_io.py: the shared pieces
from results_io import ROOT, relative, write_results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, default=ROOT / "reports" / "default-budget50",
                   help="a run folder, or a journal file (such as reports/*/journals/NAME.db)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per point (default: the recipe's final_seeds)")
    p.add_argument("--scratch", type=Path, default=None,
                   help="where the scratch copy of the journal is kept (default: runs/front-finalize-NAME)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "front_finalize",
                   help="output stem (.json and .md)")
    return p.parse_args(argv)


def _source(run: Path) -> Path:
    journal = run if run.is_file() else run / "study.db"
    if not journal.is_file():
        raise SystemExit(f"front_finalize: {str(run)!r} is neither a run folder nor a journal file; allowed: a "
                         f"folder with study.db, or a .db file")
    return journal


def rows_of(folder: Path) -> dict[str, Any]:
    """The finalized front: per point its search and finalized figures, and the picks by finalized validation.
    The knee is the search's rule: :func:`autopeft.pareto.knee_point` with the search's hypervolume reference,
    chosen from the points whose finalized validation score beats chance (all of them where none does, or the
    score has no chance level)."""
    from autopeft.objectives import objectives_of, score_objective
    from autopeft.study.classes import run_chance
    from autopeft.study.finalize import finalize_table
    from autopeft.study.front import front
    from autopeft.study.journal import Journal

    with Journal.open(folder, lock=False) as opened, opened.snapshot() as journal:
        objectives = objectives_of(journal.meta("settings")["objectives"])
        f = front(journal, objectives)
        finals = {r["trial"]: r for r in finalize_table(journal)}
        knee = f.trials[f.knee or 0].number if f.trials else None
        total = max((t.result.total_params or 0 for t in f.trials if t.result is not None), default=0)
        score = score_objective(objectives).name
        chance = run_chance(journal.trials(), score)
    rows = []
    for t in f.trials:
        r = finals.get(t.number, {})
        rows.append({"trial": t.number, "origin": t.origin, "config": r.get("config"),
                     "trainable_params": r.get("trainable_params"), "seeds": r.get("seeds"), "steps": r.get("steps"),
                     "search_knee": t.number == knee, "validation_search": t.values.get(score),
                     "validation_search_steps": t.fidelity.steps,
                     **{k: r.get(k) for k in ("validation_score_final_mean", "validation_score_final_std",
                                              f"test_{score}_mean", f"test_{score}_std", "test_ece_mean",
                                              "test_ece_std")}})
    done = [r for r in rows if r["validation_score_final_mean"] is not None and r["trainable_params"] is not None]
    return {"score": score, "rows": rows, "picks": picks_of(done, score, total, chance)}


def picks_of(done: list[dict[str, Any]], score: str, total: int, chance: float | None) -> dict[str, Any]:
    """The picks by finalized validation among ``done`` (rows with ``validation_score_final_mean`` and
    ``trainable_params``): the most accurate, the front, and its knee by the search's rule (``knee_point`` from the
    hypervolume reference at ``total`` parameters, among the front's points above ``chance`` where any is)."""
    from autopeft.objectives import objectives_of, reference_point, to_minimize
    from autopeft.pareto import knee_point, pareto_mask
    from autopeft.study.classes import at_chance

    picks: dict[str, Any] = {}
    if done:
        best = max(done, key=lambda r: (r["validation_score_final_mean"], -r["trainable_params"]))
        picks["best_by_finalized_validation"] = best["trial"]
        pair = objectives_of([score, "trainable_params"])
        values = [[r["validation_score_final_mean"], r["trainable_params"]] for r in done]
        mask = pareto_mask(to_minimize(values, pair))
        kept = [r for r, m in zip(done, mask, strict=True) if m]
        picks["finalized_front"] = [r["trial"] for r in kept]
        kept = [r for r in kept if not at_chance(r["validation_score_final_mean"], chance)] or kept
        points = to_minimize([[r["validation_score_final_mean"], r["trainable_params"]] for r in kept], pair)
        idx = knee_point(points, reference_point(pair, float(total)) if total else None)
        picks["knee_of_finalized_front"] = kept[int(idx)]["trial"]
    return picks


def markdown(data: dict[str, Any]) -> str:
    score = data["score"]

    def pm(row: dict[str, Any], key: str) -> str:
        mean, std = row.get(f"{key}_mean"), row.get(f"{key}_std")
        return "-" if mean is None else f"{mean:.3f} ± {std:.3f}"

    lines = [f"# Every front point finalized: `{data['run']}` (generated by benchmarks/front_finalize.py)", "",
             f"`{data['command']}`. Scratch journal: `{data['scratch']}`; {data['trained']} finalize seed(s) trained "
             f"in this run ({data['seconds']:.0f} s), the others kept from the committed journal.", "",
             f"| trial | method and configuration | trainable params | val {score} (search) @steps | val {score} "
             f"(finalized) | test {score} | test ECE | seeds x steps |",
             "|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in data["rows"]:
        mark = " (search knee)" if r["search_knee"] else ""
        lines.append(f"| {r['trial']}{mark} | {r['config'] or r['origin']} | {r['trainable_params'] or 0:,} | "
                     f"{r['validation_search']:.3f} @{r['validation_search_steps']} | "
                     f"{pm(r, 'validation_score_final')} | {pm(r, f'test_{score}')} | {pm(r, 'test_ece')} | "
                     f"{r['seeds']} x {r['steps']} |")
    p = data["picks"]
    if p:
        lines += ["", f"- Front of the finalized validation means (with trainable parameters): trials "
                  f"{', '.join(map(str, p['finalized_front']))}.",
                  f"- Its knee: trial {p['knee_of_finalized_front']}; the most accurate on finalized validation: "
                  f"trial {p['best_by_finalized_validation']}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import io
    import warnings

    warnings.filterwarnings("ignore")
    args = parse_args(argv)
    from autopeft.study.finalize import finalize
    from autopeft.study.journal import Journal

    source = _source(args.run)
    name = source.stem if args.run.is_file() else args.run.name
    scratch = args.scratch or ROOT / "runs" / f"front-finalize-{name}"
    if not (scratch / "study.db").is_file():
        scratch.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, scratch / "study.db")
    with Journal.open(scratch, lock=False) as journal:
        before = len(journal.trials(phase="finalize"))
    from autopeft.errors import AutopeftError

    class Tee(io.StringIO):  # each seed's line as it ends, and kept for the results
        def write(self, text: str) -> int:
            sys.stderr.write(text)
            sys.stderr.flush()
            return super().write(text)

    start, log = time.perf_counter(), Tee()
    try:
        finalize(scratch, "front", seeds=args.seeds, stream=log)
    except AutopeftError as exc:  # a data file or model the run names is not here, a bad --seeds: one line
        raise SystemExit(f"front_finalize: {exc}") from None
    seconds = time.perf_counter() - start
    with Journal.open(scratch, lock=False) as journal:
        trained = len(journal.trials(phase="finalize")) - before
    data = rows_of(scratch)
    cmd = ["python", "benchmarks/front_finalize.py", "--run", str(relative(args.run))]
    if args.seeds is not None:
        cmd += ["--seeds", str(args.seeds)]
    if args.out != ROOT / "benchmarks" / "results" / "front_finalize":
        cmd += ["--out", str(relative(args.out))]
    data.update(run=str(relative(args.run)), scratch=str(relative(scratch)), command=" ".join(cmd),
                trained=trained, seconds=seconds, log=log.getvalue().splitlines())
    write_results(args.out, data, markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
