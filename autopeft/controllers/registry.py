"""The controller registry: controllers by name (``bo``, ``random``, ``nni:TPE``, ``optuna:tpe``, ...).

A strategy registers its class with :func:`register_controller`; a study builds it with :func:`get_controller`,
and an unknown name is one :class:`ConfigError` listing the allowed ones (for ``nni:`` and ``optuna:`` names,
also why the tuners and samplers left out are left out).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from autopeft.errors import ConfigError
from autopeft.objectives import Objective
from autopeft.space import Space

if TYPE_CHECKING:
    from autopeft.controllers.base import Controller

__all__ = ["check_controller_name", "controller_defaults", "controller_names", "get_controller", "register_controller"]

#: A registered name: lower case, digits, underscores, with at most one ``namespace:Name`` part (``nni:TPE``,
#: ``optuna:tpe``).
_NAME = re.compile(r"[a-z][a-z0-9_]*(:[A-Za-z][A-Za-z0-9_]*)?")
#: Why NNI's other tuners have no ``nni:`` controller (said when an unknown ``nni:`` name is asked for).
_NNI_NOT_OFFERED = ("GP, Metis, Hyperband and BOHB are not offered: GP and Metis fail on SciPy 1.17 "
                    "('x0' must only have one dimension), Hyperband and BOHB are advisors that need NNI's "
                    "experiment dispatcher and crash in-process")
#: Why Optuna's other samplers have no ``optuna:`` controller (said when an unknown ``optuna:`` name is asked for).
_OPTUNA_NOT_OFFERED = ("CMA-ES is not offered: it is single-objective and has no categorical parameters; nor "
                       "NSGA-III: it is for four or more objectives; nor random, grid, QMC and brute-force "
                       "sampling: they learn nothing from history (use random)")


_REGISTRY: dict[str, type[Controller]] = {}
C = TypeVar("C", bound="type[Controller]")


def register_controller(cls: C) -> C:
    """Class decorator: make ``cls`` available by its ``name``; a bad or duplicate name is a ValueError."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"controller class {cls.__name__} needs a name like 'bo', 'random' or 'nni:TPE' (lower case, "
                         f"digits, underscores, then at most one ':Name' part), got {name!r}")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"controller {name!r} is already registered by {_REGISTRY[name].__name__}")
    _REGISTRY[name] = cls
    return cls


def controller_names() -> list[str]:
    """Registered controller names, sorted."""
    return sorted(_REGISTRY)


def get_controller(name: str, space: Space, objectives: Sequence[Objective], **kwargs: Any) -> Controller:
    """A controller by registered name; ``kwargs`` are ``seed``, ``known``, ``constraints`` and its options."""
    check_controller_name(name)
    return _REGISTRY[name](space, objectives, **kwargs)


def controller_defaults(name: str) -> dict[str, Any]:
    """The option defaults of the controller registered as ``name`` (unknown: as :func:`check_controller_name`)."""
    check_controller_name(name)
    return dict(_REGISTRY[name].defaults)


def check_controller_name(name: str) -> None:
    """A one-line :class:`ConfigError` listing the allowed names when ``name`` is not registered."""
    if name in _REGISTRY:
        return
    if isinstance(name, str) and name.startswith("nni:"):
        tuners = ", ".join(n for n in controller_names() if n.startswith("nni:"))
        raise ConfigError(f"unknown NNI tuner {name!r}; allowed: {tuners} ({_NNI_NOT_OFFERED})")
    if isinstance(name, str) and name.startswith("optuna:"):
        samplers = ", ".join(n for n in controller_names() if n.startswith("optuna:"))
        raise ConfigError(f"unknown Optuna sampler {name!r}; allowed: {samplers} ({_OPTUNA_NOT_OFFERED})")
    raise ConfigError(f"unknown controller {name!r}; allowed: {', '.join(controller_names())}")
