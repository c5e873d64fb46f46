"""``autopeft.create_study`` and ``autopeft.load_study``: the study facade (:mod:`autopeft.study.facade`) with the
warm start's reader of runs and tables (:func:`autopeft.bench.warm_start.load_prior`) plugged in.

The facade sits on the study floor, below ``bench``, so it takes that reader as an argument, as
``autopeft search`` passes it; this module, on the top floor with the CLI, passes it for a Python caller. So a
study made in code can warm-start, and a warm-started run made by ``autopeft search --warm-start`` goes on
with :meth:`~autopeft.study.facade.Study.optimize`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autopeft.study.facade import Study
    from autopeft.study.recipe import Recipe

__all__ = ["create_study", "load_study"]


def create_study(recipe: str | Path | Recipe | Mapping[str, Any], out: str | Path | None = None, *,
                 budget: int | None = None, controller: str | None = None, seed: int | None = None,
                 task: str | None = None, warm_start: str | Path | Sequence[str | Path] = (),
                 model: str | None = None) -> Study:
    """A new study (:func:`autopeft.study.facade.create_study`); ``warm_start``: earlier runs or PEFT-Bench tables
    over the same space that ``bo`` starts from, as ``autopeft search --warm-start``; ``model``: another model
    for the recipe's space, as ``--model``."""
    from autopeft.bench.warm_start import load_prior
    from autopeft.study import facade

    return facade.create_study(recipe, out, budget=budget, controller=controller, seed=seed, task=task,
                               warm_start=warm_start, load_prior=load_prior, model=model)


def load_study(folder: str | Path, *, model: str | None = None, data: str | None = None) -> Study:
    """The study in run folder ``folder``, made by ``autopeft search`` (warm-started or not) or in code; ``model``
    and ``data``: where its local model folder and data file are now, if they moved (each checked to be the same
    one, as ``--model`` and ``--data`` with ``search --resume``, ``finalize`` and ``export``)."""
    from autopeft.bench.warm_start import load_prior
    from autopeft.study import facade

    return facade.load_study(folder, load_prior=load_prior, model=model, data=data)
