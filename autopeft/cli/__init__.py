"""The ``autopeft`` command line (:func:`main`); each command group is one module of this package."""

from autopeft.cli.main import main, make_parser

__all__ = ["main", "make_parser"]
