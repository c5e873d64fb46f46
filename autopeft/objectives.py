"""The objectives a search can trade off: the one registry, with everything each objective needs in one place.

An :class:`Objective` carries its name, its direction, whether it is compared on a log scale, its *worst*
value (where hypervolume is measured from) and a label for tables and plots. Adding an objective is one
entry in :data:`OBJECTIVES`; status, pareto, finalize, report and the controllers read it from here.

:func:`to_minimize` turns values in the objectives' own units into minimisation points once (max columns
negated, ``log`` columns as log10); :mod:`autopeft.pareto` works on such points only.

>>> objectives = objectives_of(["accuracy", "trainable_params"])
>>> to_minimize([[0.90, 1e6], [0.80, 1e4]], objectives).tolist()
[[-0.9, 6.0], [-0.8, 4.0]]
>>> reference_point(objectives, 1e6).tolist(), score_objective(objectives).name
([-0.0, 6.0], 'accuracy')
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from autopeft.errors import ConfigError

__all__ = [
    "OBJECTIVES",
    "PARAMS",
    "Direction",
    "Objective",
    "get_objective",
    "objectives_of",
    "reference_from_values",
    "reference_point",
    "score_objective",
    "to_minimize",
]

Direction = Literal["min", "max"]
FloatArray = npt.NDArray[np.float64]
_DIRECTIONS: tuple[str, ...] = get_args(Direction)
#: The objective every search has: trainable parameters counted from the built model.
PARAMS = "trainable_params"


@dataclass(frozen=True)
class Objective:
    """A named objective and the direction in which it improves.

    ``log=True`` compares values on a log10 scale (for counts such as trainable parameters, where halving
    10k and halving 10M are equally good moves); such values must be > 0, checked by :func:`to_minimize`.
    ``worst`` is the value hypervolume is measured from (``None``: given per run, as the full model's
    parameter count is); ``label`` names it in tables and plots.
    """

    name: str
    direction: Direction
    log: bool = False
    worst: float | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"Objective.name must be a non-empty string, got {self.name!r}")
        if self.direction not in _DIRECTIONS:
            raise ValueError(f"Objective.direction of {self.name!r} must be 'min' or 'max', got {self.direction!r}")
        if not isinstance(self.log, bool):
            raise ValueError(f"Objective.log of {self.name!r} must be True or False, got {self.log!r}")
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " "))


#: The objectives a recipe may name.
OBJECTIVES: dict[str, Objective] = {
    objective.name: objective
    for objective in (
        Objective("accuracy", "max", worst=0.0, label="accuracy"),
        Objective("macro_f1", "max", worst=0.0, label="macro-F1"),
        Objective(PARAMS, "min", log=True, label="trainable parameters"),
        Objective("ece", "min", worst=1.0, label="ECE"),
        Objective("nll", "min", worst=10.0, label="NLL"),
        Objective("brier", "min", worst=2.0, label="Brier score"),
        Objective("rouge_l", "max", worst=0.0, label="ROUGE-L"),        # generation tasks
        Objective("exact_match", "max", worst=0.0, label="exact match"),
        Objective("balanced_accuracy", "max", worst=0.0, label="balanced accuracy"),  # mean recall per class
    )
}


def get_objective(name: str) -> Objective:
    """The registered objective called ``name``; an unknown name raises ValueError listing the allowed ones."""
    try:
        return OBJECTIVES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown objective {name!r}; allowed: {', '.join(sorted(OBJECTIVES))}") from None


def objectives_of(names: Sequence[str]) -> list[Objective]:
    """A search's objectives by name: registered, ``trainable_params`` among them, at least one other."""
    try:
        objectives = [get_objective(n) for n in names]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if PARAMS not in names or len(names) < 2:
        raise ConfigError(f"objectives {list(names)} must include {PARAMS} and at least one other; "
                          f"allowed: {', '.join(OBJECTIVES)}")
    return objectives


def score_objective(objectives: Sequence[Objective]) -> Objective:
    """The objective a run is scored by in one number (``best``, status, plots): the first one that is not
    the parameter count."""
    return next(o for o in objectives if o.name != PARAMS)


def to_minimize(values: npt.ArrayLike, objectives: Sequence[Objective | str]) -> FloatArray:
    """``values`` (n, m) in the objectives' own units -> a new (n, m) array where every column is minimised.

    Max columns are negated and ``log`` columns replaced by their log10 (a value <= 0 there raises).
    Objectives may be given as :class:`Objective` or by registered name.

    >>> to_minimize([[0.5, 100.0]], ["accuracy", "trainable_params"])
    array([[-0.5,  2. ]])
    """
    resolved = [o if isinstance(o, Objective) else get_objective(o) for o in objectives]
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"values must be 2-D (n points, m objectives), got shape {arr.shape}")
    if arr.shape[1] != len(resolved):
        raise ValueError(f"values have {arr.shape[1]} columns but {len(resolved)} objectives were given "
                         f"({', '.join(o.name for o in resolved)}); need one column per objective")
    if not np.all(np.isfinite(arr)):
        row = int(np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[0])
        raise ValueError(f"values must be finite, got {arr[row].tolist()} in row {row}")
    out = arr.copy()
    for j, objective in enumerate(resolved):
        column = out[:, j]
        if objective.log:
            bad = np.flatnonzero(column <= 0.0)
            if bad.size:
                raise ValueError(f"objective {objective.name!r} is compared on a log scale and needs values > 0, "
                                 f"got {float(column[bad[0]])!r} in row {int(bad[0])}")
            column = np.log10(column)
        out[:, j] = -column if objective.direction == "max" else column
    return out


def reference_from_values(values: object, objectives: Sequence[Objective], what: str) -> FloatArray:
    """A hypervolume reference given as ``{objective: value}`` in the objectives' own units, in minimisation
    space; anything else is a :class:`ConfigError` that starts with ``what`` and names what is allowed.

    >>> reference_from_values({"accuracy": 0.5, "trainable_params": 1000}, [get_objective("accuracy"),
    ...                       get_objective("trainable_params")], "reference").tolist()
    [-0.5, 3.0]
    """
    names = [o.name for o in objectives]
    if not isinstance(values, Mapping) or set(values) != set(names):
        raise ConfigError(f"{what} must map every objective ({', '.join(names)}) to a number in its own units, "
                          f"got {values!r}")
    raw = [values[name] for name in names]
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in raw):
        raise ConfigError(f"{what} values must be finite numbers, got {values!r}")
    try:
        point: FloatArray = to_minimize([raw], objectives)[0]
    except ValueError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    return point


def reference_point(objectives: Sequence[Objective], total_params: float) -> FloatArray:
    """The stated hypervolume reference, in minimisation space: each objective's worst value, and the full
    model's parameter count for ``trainable_params``.

    >>> reference_point([get_objective("accuracy"), get_objective("trainable_params")], 1e6).tolist()
    [-0.0, 6.0]
    """
    worst = [float(total_params) if o.worst is None else o.worst for o in objectives]
    point: FloatArray = to_minimize(np.array([worst]), objectives)[0]
    return point
