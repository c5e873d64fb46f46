"""What every command module shares: the one-line-error parser, JSON arguments, the default recipe."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from autopeft.errors import ConfigError
from autopeft.paths import default_recipe

Command = Callable[[argparse.Namespace], int]
PICK_HELP = "knee, best, max-params:N or trial:ID"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own usage errors: one line, exit 2
        self.exit(2, f"autopeft: error: {message} (see {self.prog} --help)\n")


def parse_json(text: str, what: str) -> Any:
    """A JSON argument, given inline or as a ``.json`` file; bad JSON is a ConfigError naming ``what``."""
    source = Path(text)
    if source.suffix == ".json" and not text.lstrip().startswith(("{", "[")):
        if not source.is_file():
            raise ConfigError(f"{what} {text!r}: no such file; allowed: inline JSON or a .json file")
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{what} {str(source)!r}: cannot read it ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} is not valid JSON ({exc.msg} at column {exc.colno}): {text[:60]!r}") from exc


def recipe_path(value: str | None) -> Path:
    """The recipe a command runs: the one given, else ``search/default.yaml``."""
    return Path(value) if value else default_recipe()


def add_rows_options(parser: Any) -> None:
    """``--data`` or ``--hub-dataset`` (with ``--hub-config``), their columns and ``--split-field``: the rows to
    search on instead of the recipe's task."""
    parser.add_argument("--data", help="a local CSV / TSV / JSONL / Parquet file instead of the recipe's task")
    parser.add_argument("--hub-dataset", metavar="NAME",
                        help="a Hugging Face Hub dataset (nyu-mll/glue, ...), or a local folder in a Hub "
                             "repository's layout, instead of the recipe's task; its splits are pooled, or kept "
                             "with --official-splits")
    parser.add_argument("--hub-config", metavar="CONFIG", help="with --hub-dataset: its configuration (mnli, ...)")
    parser.add_argument("--text-fields", help="with --data or --hub-dataset: the text column(s), comma-separated")
    parser.add_argument("--label-field", help="with --data or --hub-dataset: the label column")
    parser.add_argument("--split-field", help="with --data: a column naming each row's split (train, validation, "
                                              "test; also dev, val): the file's own splits are kept")


def add_size_options(parser: Any) -> None:
    """``--n-train``, ``--n-validation`` and ``--n-test``: the data sizes, over the recipe's (a ``--data`` file
    smaller than the default recipe's 500 validation and 1,000 test examples needs the last two)."""
    parser.add_argument("--n-train", type=int, help="training examples (data scale: 100, 1000, 10000; default: the "
                                                    "recipe's, else what the other splits leave)")
    parser.add_argument("--n-validation", type=int, help="validation examples (default: the recipe's)")
    parser.add_argument("--n-test", type=int, help="test examples (default: the recipe's)")
    parser.add_argument("--official-splits", action="store_true",
                        help="a Hub task (sst2, rte, ...) keeps its dataset's own train / validation / test splits, "
                             "capped by the sizes, instead of drawing them by seed; a split without labels (GLUE's "
                             "test) is drawn from train")
    parser.add_argument("--split-names", metavar="NAME=SPLIT,...",
                        help="with --official-splits or --split-field: more names for the splits, e.g. MNLI's "
                             "validation_matched=validation,validation_mismatched=test")
