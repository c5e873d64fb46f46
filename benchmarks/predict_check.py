"""Check: does ``autopeft predict`` on an exported folder give the scores its weights were recorded with?

An export's ``autopeft.json`` holds its weights' own validation and test metrics, computed by the runner when
they were trained. This exports a point of a run (``autopeft export``), writes the run's validation and test
splits to CSV files as a user would have them (text and label by name), runs ``autopeft predict`` on each, and
compares every metric with the recorded one. A difference means the inputs ``predict`` makes are not the ones
the trials made (another prompt, another cut, another tokenizer), which no error would show.

    python reports/per_class.py                     # trains runs/per-class/default-budget50 (finalized weights)
    python benchmarks/predict_check.py --run runs/per-class/default-budget50

Writes benchmarks/results/predict_check.json and .md (``--out`` for another stem).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/results_io.py: the shared pieces
from results_io import ROOT, relative, write_results

#: the metrics compared (the runner's; ``*_ts`` after the temperature fitted on validation)
METRICS = ("accuracy", "macro_f1", "balanced_accuracy", "ece", "mce", "brier", "nll", "ece_ts", "nll_ts")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, default=ROOT / "runs" / "per-class" / "default-budget50",
                   help="a run folder (with finalized weights, or the point is re-trained as searched)")
    p.add_argument("--pick", default="knee", help="the point to export (as autopeft export --pick)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "predict_check",
                   help="output stem (.json and .md)")
    return p.parse_args(argv)


def split_file(examples: Any, names: tuple[str, ...], fields: tuple[str, ...], label: str, path: Path) -> Path:
    """A split's examples as a CSV a user would have: the text column(s) and the label by name."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*fields, label])
        for ex in examples:
            writer.writerow([*ex.texts, names[ex.label]])
    return path


def check(run: Path, pick: str, work: Path) -> dict[str, Any]:
    from autopeft.study.finalize import export_pick
    from autopeft.study.journal import Journal
    from autopeft.study.predict import predict
    from autopeft.study.provenance import run_recipe

    folder = export_pick(run, pick, work / "export", overwrite=True)
    manifest = json.loads((folder / "autopeft.json").read_text())
    with Journal.open(run, lock=False) as journal:
        data = run_recipe(journal).task_data()
    task = data.task
    recorded = {"validation": manifest.get("metrics") or {}, "test": manifest.get("test_metrics") or {}}
    splits = []
    for split, want in recorded.items():
        if not want:
            continue
        file = split_file(data.split(split), task.label_names, task.text_fields, task.label_field,
                          work / f"{split}.csv")
        start = time.perf_counter()
        got = predict(folder, file).metrics or {}
        seconds = time.perf_counter() - start
        diffs = {m: abs(got[m] - want[m]) for m in METRICS if m in got and m in want}
        splits.append({"split": split, "rows": len(data.split(split)), "seconds": seconds,
                       "predicted": {m: got[m] for m in diffs}, "recorded": {m: want[m] for m in diffs},
                       "max_abs_difference": max(diffs.values())})
    return {"weights": (manifest.get("source") or {}).get("weights"), "inputs": manifest.get("inputs"),
            "temperature": (manifest.get("metrics") or {}).get("temperature"), "splits": splits}


def markdown(data: dict[str, Any]) -> str:
    lines = [f"# `autopeft predict` against the recorded metrics: {data['run']}, `--pick {data['pick']}`", "",
             f"Command: `{data['command']}`", "", f"Weights: {data['weights']}.", "",
             "| split | rows | metric | recorded | predict | abs. difference |", "|---|---:|---|---:|---:|---:|"]
    for s in data["splits"]:
        for m, want in s["recorded"].items():
            got = s["predicted"][m]
            lines.append(f"| {s['split']} | {s['rows']:,} | {m} | {want:.6f} | {got:.6f} | {abs(got - want):.1e} |")
    lines += ["", *(f"- {s['split']}: {s['rows']:,} rows predicted in {s['seconds']:.1f} s, largest difference "
                    f"{s['max_abs_difference']:.1e}" for s in data["splits"]), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    args = parse_args(argv)
    from autopeft.errors import AutopeftError

    if not (args.run / "study.db").is_file():
        raise SystemExit(f"predict_check: {str(args.run)!r} is not a run folder (no study.db); allowed: a run "
                         "folder, such as the one `python reports/per_class.py` trains")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            data = check(args.run, args.pick, Path(tmp))
        except AutopeftError as exc:
            raise SystemExit(f"predict_check: {exc}") from None
    cmd = ["python", "benchmarks/predict_check.py", "--run", str(relative(args.run))]
    if args.pick != "knee":
        cmd += ["--pick", args.pick]
    if args.out != ROOT / "benchmarks" / "results" / "predict_check":
        cmd += ["--out", str(relative(args.out))]
    data.update(run=str(relative(args.run)), pick=args.pick, command=" ".join(cmd))
    write_results(args.out, data, markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
