"""``autopeft bench``: placeholder wiring, filled in by the bench work."""

from __future__ import annotations

import argparse

from autopeft.errors import ConfigError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", required=True, help="a PEFT-Bench CSV, e.g. benchmarks/peftbench/NAME.csv")


def run(args: argparse.Namespace) -> str:
    raise ConfigError("autopeft bench is not built yet")
