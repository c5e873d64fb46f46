"""``autopeft report``: one self-contained HTML page + Markdown + CSV for one or more runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def configure(sub: Any) -> None:
    rp = sub.add_parser("report", help="one self-contained HTML page + Markdown + CSV for one or more runs")
    rp.add_argument("runs", nargs="+", metavar="RUN", help="run folders (one section per task or model)")
    rp.add_argument("--out", required=True, help="the report folder to write, e.g. reports/NAME")
    rp.add_argument("--random", action="append", default=[], metavar="RUN",
                    help="a baseline run of the same recipe and task, usually a random search, drawn dashed on the "
                         "hypervolume plot and labelled with its controller (repeatable)")
    rp.add_argument("--title", help="the page title (default: from the runs' recipes)")
    rp.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from autopeft.report import write_report

    print(write_report([Path(r) for r in args.runs], Path(args.out), random_runs=[Path(r) for r in args.random],
                       title=args.title))
    return 0
