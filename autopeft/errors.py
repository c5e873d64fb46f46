"""Typed errors. Every error autopeft raises on purpose derives from :class:`AutopeftError`.

The CLI prints ``str(error)`` as one line and exits with code 2, so messages are one line
and name the bad value and what is allowed.
"""

from __future__ import annotations

import numbers
from typing import Any

_MISSING: Any = object()


class AutopeftError(Exception):
    """Base class: a user-facing, one-line error."""

    def __str__(self) -> str:
        return " ".join(super().__str__().split())


class SpaceError(AutopeftError):
    """A search-space file (or text) is malformed or does not fit the model.

    Carries where (``file``, ``line``), what (``field``, ``value``) and what is ``allowed``.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        value: Any = _MISSING,
        allowed: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.field = field
        self.value = None if value is _MISSING else value
        self.has_value = value is not _MISSING
        self.allowed = allowed
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = self.file or "<space>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [f"{where}:"]
        if self.field:
            parts.append(f"field '{self.field}':")
        parts.append(self.reason)
        if self.has_value:
            parts.append(f"(got {self.value!r})")
        text = " ".join(parts)
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        return text


class SelectorError(AutopeftError):
    """A layer selector such as ``encoder.blocks[1/2:]`` is malformed or names no layer."""


class ConfigError(AutopeftError):
    """A configuration is not a member of its space, or a method option is invalid."""


class MethodError(AutopeftError):
    """An unknown PEFT method, or a method that cannot apply to this model."""


class ModelGraphError(AutopeftError):
    """The model's structure is unsupported or lacks what a space names."""


class ModelLoadError(AutopeftError):
    """A model cannot be loaded (offline, missing folder, unknown name)."""


class ExportError(AutopeftError):
    """An adapter folder cannot be written or read back."""


class TaskError(AutopeftError):
    """An unknown task, a dataset that cannot be read, a missing column, labels outside the label set."""


class RecipeError(AutopeftError):
    """A recipe file is malformed, or its parts (model, task, space) do not fit together."""


class TrialError(AutopeftError):
    """A trial cannot start (bad fidelity, configuration outside the space); failures inside a trial are records."""


class ReportError(AutopeftError):
    """Runs that cannot be reported: no completed trial, or runs that optimised different objectives."""


class EngineError(AutopeftError):
    """An engine cannot run trials: a worker that cannot start, a device setting that cannot be met."""


#: The largest seed: numpy's and the journal's integers take 32 bits.
MAX_SEED = 2**32 - 1


def check_seed(name: str, value: Any) -> None:
    """A seed given by the caller (``--seed``, ``--seed-start``): ``None`` or an integer from 0 to
    :data:`MAX_SEED`, else a one-line :class:`ConfigError` naming it."""
    check_count(name, value, low=0, high=MAX_SEED)


def check_count(name: str, value: Any, low: int = 1, high: int | None = None) -> None:
    """A count given by the caller (``--budget``, ``--workers``, ``--seeds``; ``--seed`` with ``low=0``): ``None``
    (not given) or an integer >= ``low``, else a one-line :class:`ConfigError` naming it. From the CLI argparse
    has made it an int already; the Python API passes what the caller wrote, such as ``"3"``, ``2.5`` or ``True``.

    >>> check_count("--budget", 2.5)
    Traceback (most recent call last):
    ...
    autopeft.errors.ConfigError: --budget must be an integer >= 1, got 2.5
    """
    if value is None:
        return
    integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not integer or int(value) < low or (high is not None and int(value) > high):
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        raise ConfigError(f"{name} must be an integer {bound}, got {value!r}")
