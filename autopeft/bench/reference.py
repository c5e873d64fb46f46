"""Where a table's hypervolume is measured from: the ``stated`` reference point or the ``sharp`` one.

- ``stated`` (the default, what ``autopeft search`` reports): each objective's worst value, accuracy 0, and
  the full model's parameter count on the parameter axis (log10). Every configuration of a PEFT table lies far
  inside it, so the whole space scores close to the exhaustive front: random search reaches 95 % of the
  exhaustive hypervolume on the MiniLM table within about 5 trials, and the ratio tells controllers apart only
  in its third decimal.
- ``sharp``: accuracy at the **majority-class accuracy of the validation split** (a configuration that does
  no better than always answering the most frequent class adds nothing) and the parameter axis at
  **1.1 x the largest trainable-parameter count in the table** (the largest adapter still adds a sliver: at
  exactly the largest count it would add none). Only the part of the front that beats the trivial classifier
  and the table's own range counts, so the ratio spreads out where controllers differ. Other objectives keep
  their stated worst value. The majority-class accuracy comes from the table's sidecar
  (``majority_accuracy``, written by ``benchmarks/peftbench/build.py``).

Both are in the minimisation space of :func:`autopeft.objectives.to_minimize` (parameters as log10). Pure numpy.

>>> from autopeft.objectives import get_objective
>>> objectives = [get_objective("accuracy"), get_objective("trainable_params")]
>>> sharp_point(objectives, majority=0.43, largest_params=1e5).round(4).tolist()
[-0.43, 5.0414]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from autopeft.errors import ConfigError
from autopeft.objectives import PARAMS, Objective, reference_point, to_minimize

if TYPE_CHECKING:
    from autopeft.bench.table import Table

__all__ = ["REFERENCES", "SHARP_PARAMS_FACTOR", "largest_adapter", "reference_for", "sharp_point"]

FloatArray = npt.NDArray[np.float64]
#: The reference points a replay can score against.
REFERENCES = ("stated", "sharp")
#: The sharp reference's parameter axis, as a multiple of the table's largest trainable-parameter count.
SHARP_PARAMS_FACTOR = 1.1


def sharp_point(objectives: Sequence[Objective], *, majority: float, largest_params: float) -> FloatArray:
    """The sharp reference (minimisation space) for a majority-class accuracy and a largest parameter count."""
    worst = []
    for o in objectives:
        if o.name == PARAMS:
            worst.append(SHARP_PARAMS_FACTOR * float(largest_params))
        elif o.name == "accuracy":
            worst.append(float(majority))
        elif o.worst is not None:
            worst.append(float(o.worst))
        else:
            raise ConfigError(f"objective {o.name!r} has no stated worst value for a sharp reference")
    point: FloatArray = to_minimize(np.array([worst]), objectives)[0]
    return point


def reference_for(table: Table, objectives: Sequence[Objective], kind: str = "stated") -> FloatArray:
    """``table``'s reference point of ``kind`` (:data:`REFERENCES`); an unknown kind, or a sharp one for a
    table whose sidecar states no majority-class accuracy, is a one-line ConfigError."""
    if kind == "stated":
        return reference_point(objectives, table.total_params)
    if kind != "sharp":
        raise ConfigError(f"unknown reference {kind!r}; allowed: {', '.join(REFERENCES)}")
    majority = table.meta.info.get("majority_accuracy")
    if not isinstance(majority, (int, float)) or not 0 < majority < 1:
        raise ConfigError(f"table {table.name!r} states no majority_accuracy (the majority-class accuracy of its "
                          f"validation split) in its sidecar, so it has no sharp reference; rewrite the sidecar "
                          f"with benchmarks/peftbench/build.py --write-only, or use the stated reference")
    return sharp_point(objectives, majority=float(majority), largest_params=largest_adapter(table))


def largest_adapter(table: Table) -> float:
    """The largest trainable-parameter count of any configuration at any fidelity (the sharp reference's scale)."""
    return max(float(table.trainable_params(c)) for f in table.fidelities for c in table.configs(f))
