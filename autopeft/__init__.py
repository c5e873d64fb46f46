"""autopeft: search the Pareto front of PEFT configurations (trainable parameters vs accuracy).

The Python API, in the style of Optuna's ``create_study`` / ``optimize``::

    import autopeft

    study = autopeft.create_study("search/default.yaml", out="runs/demo", budget=20)
    study.optimize(workers=2, callbacks=[lambda study, trial: print(trial.number, trial.state)])
    study.front_dataframe()
    study.finalize(pick="knee")
    study.export(pick="knee", out="adapters/knee")
    autopeft.predict("adapters/knee", "new.csv").rows     # each row's class and probabilities

See ``docs/architecture.md`` for the floor plan: ``space`` and ``model`` at the bottom, ``methods`` and
``controllers`` above them, the ``runner`` that trains, the ``study`` that runs a search through an engine,
``bench`` and ``report`` reading studies, the ``cli`` on top. Importing this package imports no torch: the
names below load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autopeft.version import __version__

if TYPE_CHECKING:
    from autopeft.api import create_study, load_study
    from autopeft.study.facade import Study, make_recipe
    from autopeft.study.journal import Trial
    from autopeft.study.predict import predict
    from autopeft.study.recipe import Recipe, load_recipe

__all__ = ["Recipe", "Study", "Trial", "__version__", "create_study", "load_recipe", "load_study", "make_recipe",
           "predict"]

_LAZY = {"Study": "autopeft.study.facade", "create_study": "autopeft.api",
         "load_study": "autopeft.api", "make_recipe": "autopeft.study.facade",
         "Trial": "autopeft.study.journal", "Recipe": "autopeft.study.recipe", "load_recipe": "autopeft.study.recipe",
         "predict": "autopeft.study.predict"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'autopeft' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
