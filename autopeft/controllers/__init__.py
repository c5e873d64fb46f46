"""Controllers: search strategies that propose configurations from a study's history; they never train.

Registered by name (:func:`get_controller`, :mod:`autopeft.controllers.registry`): ``random`` (uniform
draws), ``bo`` (the default: multi-objective
Bayesian optimisation with a scikit-learn surrogate and expected hypervolume improvement) and ``evolution``
(NSGA-II style), and NNI's own tuners ``nni:TPE``, ``nni:Evolution``, ``nni:Anneal`` and ``nni:Random``
(:mod:`autopeft.controllers.nni_tuners`: single-objective, NNI imported only when one is built), and Optuna's
samplers ``optuna:tpe``, ``optuna:nsga2``, ``optuna:gp`` and ``optuna:botorch``
(:mod:`autopeft.controllers.optuna_samplers`: multi-objective, Optuna imported only when one is built). Importing
this package registers all of them.

>>> from autopeft.space import parse_space
>>> from autopeft.objectives import get_objective
>>> space = parse_space("name: s\\ndimensions:\\n  - {name: r, type: integer, low: 1, high: 8}\\n").resolve({})
>>> controller = get_controller("random", space, [get_objective("accuracy")], seed=0)
>>> [space.contains(c) for c in controller.propose([], n=2)]
[True, True]
"""

from __future__ import annotations

from autopeft.controllers.base import Controller, Observation, controller_names, get_controller, register_controller
from autopeft.controllers.bo import BayesianOptimization
from autopeft.controllers.evolution import Evolution
from autopeft.controllers.nni_tuners import NniAnneal, NniEvolution, NniRandom, NniTpe
from autopeft.controllers.optuna_samplers import OptunaBoTorch, OptunaGP, OptunaNSGA2, OptunaTPE
from autopeft.controllers.random_search import RandomSearch

__all__ = [
    "DEFAULT_CONTROLLER",
    "BayesianOptimization",
    "Controller",
    "Evolution",
    "NniAnneal",
    "NniEvolution",
    "NniRandom",
    "NniTpe",
    "Observation",
    "OptunaBoTorch",
    "OptunaGP",
    "OptunaNSGA2",
    "OptunaTPE",
    "RandomSearch",
    "controller_names",
    "get_controller",
    "register_controller",
]

#: The controller a recipe gets when it names none.
DEFAULT_CONTROLLER = "bo"
