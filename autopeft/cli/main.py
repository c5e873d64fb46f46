"""The ``autopeft`` command line: one module per command group, each adding its subcommands here.

    autopeft spaces list
    autopeft spaces check spaces/minilm-layers.yaml --model minilm
    autopeft build --model minilm --config '{"method": "lora", "lora.r": 8}' [--space FILE] [--out DIR]
    autopeft trial [--recipe search/default.yaml] --config '{"method": "ia3"}' [--steps N] [--test]
    autopeft search [RECIPE] [--budget N] [--controller bo|random|evolution] [--task NAME] [--resume RUN]
    autopeft status|pareto|finalize|export RUN ...
    autopeft predict EXPORT_FOLDER --data new.csv [--out predictions.csv]
    autopeft report RUN [RUN ...] --out reports/NAME [--random RUN]
    autopeft bench --table benchmarks/peftbench/NAME.csv --controller bo --budget 50 --seeds 20

Every error autopeft knows about prints one line (``autopeft: error: ...``) and exits with 2. The command
modules import what trains (torch, transformers, peft) only inside their handlers, so ``--help``,
``status`` and ``pareto`` start without it.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from autopeft.cli import bench, finalize, predict, report, results, search, spaces, trial
from autopeft.cli.common import Command, Parser
from autopeft.errors import AutopeftError
from autopeft.version import __version__


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, a batch scheduler's preemption) raised in the main thread: it unwinds like Ctrl-C,
    so the engines stop their workers and the journal keeps every finished trial."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


def _stop_on_sigterm() -> Any:
    """Turn SIGTERM into :class:`Terminated` for one command; the handler it replaced (``None`` off the main
    thread, where Python cannot install one)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


#: The command groups, in the order ``--help`` lists them.
GROUPS = (spaces, trial, search, results, finalize, predict, report, bench)


def make_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="autopeft", description="Search the Pareto front of PEFT configurations.")
    parser.add_argument("--version", action="version", version=f"autopeft {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in GROUPS:
        group.configure(sub)
    return parser


def _command_parser(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.ArgumentParser:
    """The innermost (sub)command parser that ``argv`` names: ``autopeft spaces check`` for ``spaces check ...``."""
    for token in sys.argv[1:] if argv is None else argv:
        commands = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})
        if token in commands:
            parser = commands[token]
    return parser


def _kept(exc: BaseException) -> str:
    """For a search that stopped with a journal written (``exc.run``): what it keeps and how it goes on."""
    run = getattr(exc, "run", None)
    if run is None:
        return ""
    return f" (the journal is intact: `autopeft search --resume {shlex.quote(str(run))}` goes on)"


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    # library deprecation notices (transformers, peft) are for developers, not for people running searches
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    parser = make_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would blame the top level; the command's own parser names its --help
        _command_parser(parser, argv).error(f"unrecognized arguments: {' '.join(extra)}")
    func: Command = args.func
    previous = _stop_on_sigterm()
    try:
        return func(args)
    except AutopeftError as exc:
        print(f"autopeft: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM as Terminated
        hint = _kept(exc)
        if isinstance(exc, Terminated):
            print(f"autopeft: stopped by SIGTERM{hint}", file=sys.stderr)
            return 143
        print(f"autopeft: interrupted{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `autopeft pareto RUN | head`: the reader left, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a fault of autopeft's own, mid-search: the traceback is for the report
        if getattr(exc, "run", None) is None:
            raise
        import traceback

        traceback.print_exc()
        print(f"autopeft: internal error: {type(exc).__name__}: {exc}; this is a bug, please report it with the "
              f"traceback above{_kept(exc)}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
