"""``autopeft predict``: run an exported folder's model on a file of new rows (:mod:`autopeft.study.predict`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from autopeft.objectives import OBJECTIVES


def configure(sub: Any) -> None:
    pr = sub.add_parser("predict", help="run an exported folder on a CSV / JSONL / Parquet file: each row's class "
                                        "and probabilities (scored when the file has labels)")
    pr.add_argument("folder", help="a folder `autopeft export` wrote")
    pr.add_argument("--data", required=True, help="the rows to predict: a CSV, TSV, JSONL or Parquet file")
    pr.add_argument("--text-fields", help="the file's text column(s), comma-separated, for the model's own text "
                                          "fields in order (default: the export's names)")
    pr.add_argument("--label-field", help="a column of true labels to score against (default: the export's label "
                                          "column, where the file has it)")
    pr.add_argument("--out", help="write the predictions here (.csv or .jsonl; default: CSV on stdout)")
    pr.add_argument("--base-model", help="an adapter's base model where it is now (default: as the export names it)")
    pr.add_argument("--batch-size", type=int, default=32, help="rows per forward pass (default 32)")
    pr.add_argument("--uncalibrated", action="store_true",
                    help="the raw softmax, not the probabilities after the temperature fitted on validation")
    pr.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    from autopeft.errors import ConfigError
    from autopeft.study.predict import check_out, predict, write_predictions, write_rows

    if args.out:
        check_out(args.out)
    fields = [f.strip() for f in args.text_fields.split(",") if f.strip()] if args.text_fields is not None else None
    if fields is not None and not fields:
        raise ConfigError(f"--text-fields {args.text_fields!r} names no column; allowed: the file's text column(s), "
                          "comma-separated")
    result = predict(args.folder, args.data, text_fields=fields, label_field=args.label_field,
                     base_model=args.base_model, batch_size=args.batch_size, calibrated=not args.uncalibrated)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.out:
        path = write_predictions(result, args.out)
        print(f"wrote {len(result.rows)} predictions to {path}", file=sys.stderr)
    else:
        write_rows(result, sys.stdout)
    if result.metrics is not None:
        print(scores_line(result.metrics, result.labelled, result.temperature), file=sys.stderr)
    return 0


def scores_line(metrics: dict[str, float], labelled: int, temperature: float | None) -> str:
    """The scores on the labelled rows, in one line.

    >>> scores_line({"accuracy": 0.75, "macro_f1": 0.7, "ece": 0.1, "ece_ts": 0.05}, 8, 1.5)
    'scored 8 labelled rows: accuracy 0.7500, macro-F1 0.7000, ECE 0.1000, ECE 0.0500 after temperature 1.50'
    """
    shown = [f"{OBJECTIVES[name].label if name in OBJECTIVES else name} {metrics[name]:.4f}"
             for name in ("accuracy", "macro_f1", "ece", "exact_match", "rouge_l") if name in metrics]
    if temperature is not None and "ece_ts" in metrics:
        shown.append(f"ECE {metrics['ece_ts']:.4f} after temperature {temperature:.2f}")
    return f"scored {labelled} labelled rows: " + ", ".join(shown)
