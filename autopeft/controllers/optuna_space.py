"""The space as Optuna sees it: an autopeft :class:`~autopeft.space.Space` as a define-by-run Optuna search space.

Every ``optuna:`` controller sees the same space. It is NNI's nested space (:func:`autopeft.controllers.nni_space.
translate`: the same parameters, the same names, the same nesting of conditional dimensions under their
categorical parent), suggested define-by-run, so a configuration and its Optuna parameters convert with
:mod:`~autopeft.controllers.nni_space`'s own ``encode`` / ``from_params``:

- a categorical dimension is ``suggest_categorical`` of its values (unordered, even for numbers);
- a per-layer dimension is one ``suggest_categorical`` per block, named ``<dimension>[<block>]``
  (``lora.ranks[encoder.3]``);
- an integer range is ``suggest_int(low, high, step=step, log=log)`` (Optuna's grid, ``low + k * step``, is the
  space's, so unlike NNI no stepped range needs a categorical);
- a float range is ``suggest_float(low, high, log=log)``;
- a constant (and a range whose low equals its high) is not suggested: the space fills it in;
- a conditional dimension is suggested only when its parent took a value it is conditioned on, right after the
  parent (depth first, in the space's order): ``lora.modules`` exists only in trials whose ``method`` is ``lora``,
  so TPE with ``group=True`` sees it as conditional. The spaces NNI cannot nest (conditions on two independent
  parents, on a range, equal choices: Optuna too finds a choice by ``==``) are refused with the same
  :class:`ConfigError`, which names NNI's search space: this nesting is its.

:func:`optuna_params` gives a member's flat Optuna parameters and :func:`optuna_distributions` their
distributions (what :func:`optuna.trial.create_trial` takes); :func:`from_optuna_params` is the inverse, checked by
:meth:`Space.validate`, and :func:`suggest` draws a configuration from an Optuna trial. Importing this module does
not import Optuna (only building a distribution does).

>>> from autopeft.space import parse_space
>>> space = parse_space('''
... name: s
... dimensions:
...   - {name: method, type: categorical, choices: [lora, ia3]}
...   - {name: lora.r, type: integer, low: 1, high: 8, when: {method: lora}}
... ''').resolve({})
>>> tree = translate(space)
>>> optuna_params(tree, {"method": "lora", "lora.r": 4})
{'method': 'lora', 'lora.r': 4}
>>> from_optuna_params(space, tree, {"method": "ia3"})
{'method': 'ia3'}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from autopeft.controllers.nni_space import NniParam, encode, from_params, translate
from autopeft.errors import ConfigError
from autopeft.space import Space
from autopeft.space.dimensions import FloatSpec, IntegerSpec, same

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import BaseTrial

__all__ = ["from_optuna_params", "optuna_distributions", "optuna_params", "suggest", "translate"]


def optuna_params(tree: Sequence[NniParam], config: Mapping[str, Any]) -> dict[str, Any]:
    """A member's flat Optuna parameters (name -> value), only those active in it, in suggestion order."""
    return _flatten(encode(tree, config, indexed=False))


def _flatten(nested: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in nested.items():
        if isinstance(value, Mapping):  # a categorical parent: its value, then the parameters under it
            out[key] = value["_name"]
            out.update(_flatten({k: v for k, v in value.items() if k != "_name"}))
        else:
            out[key] = value
    return out


def from_optuna_params(space: Space, tree: Sequence[NniParam], params: Mapping[str, Any]) -> dict[str, Any]:
    """The member of ``space`` that flat Optuna ``params`` stand for; ConfigError if they do not fit."""
    extra = sorted(set(params) - _keys(tree))
    if extra:
        raise ConfigError(f"Optuna parameter {extra[0]!r} is not a parameter of this space")

    def pick(p: NniParam) -> Any:
        if p.key not in params:
            raise ConfigError(f"Optuna parameters have no {p.key!r}; add it")
        return params[p.key]

    nested = _nest(tree, pick)
    if sorted(_flatten(nested)) != sorted(params):
        unused = sorted(set(params) - set(_flatten(nested)))
        raise ConfigError(f"Optuna parameter {unused[0]!r} is not active in this configuration; remove it")
    return from_params(space, tree, nested)


def _keys(scope: Sequence[NniParam]) -> set[str]:
    out: set[str] = set()
    for p in scope:
        out.add(p.key)
        for branch in p.branches or []:
            out |= _keys(branch)
    return out


def _nest(scope: Sequence[NniParam], pick: Callable[[NniParam], Any]) -> dict[str, Any]:
    """NNI's nested parameters, each value from ``pick`` (depth first: a parent, then what is under its value)."""
    out: dict[str, Any] = {}
    for p in scope:
        value = pick(p)
        if p.branches is not None:
            i = next((i for i, c in enumerate(p.choices) if same(value, c)), None)
            if i is None:
                raise ConfigError(f"Optuna parameter {p.key!r}: {value!r} is not one of its choices; allowed: "
                                  f"{', '.join(repr(c) for c in p.choices)}")
            out[p.key] = {"_name": p.choices[i], **_nest(p.branches[i], pick)}
        else:
            out[p.key] = value
    return out


def distribution(p: NniParam) -> BaseDistribution:
    """The Optuna distribution of one parameter (see the module docstring)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    dim = p.dim
    if isinstance(dim, IntegerSpec):
        return IntDistribution(int(dim.low), int(dim.high), log=bool(dim.log), step=int(dim.step))
    if isinstance(dim, FloatSpec):
        return FloatDistribution(float(dim.low), float(dim.high), log=bool(dim.log))
    return CategoricalDistribution(p.choices)


def optuna_distributions(tree: Sequence[NniParam], params: Mapping[str, Any]) -> dict[str, BaseDistribution]:
    """The distributions of the flat ``params`` (from :func:`optuna_params`), by name."""
    out: dict[str, BaseDistribution] = {}

    def visit(scope: Sequence[NniParam]) -> None:
        for p in scope:
            if p.key in params and p.key not in out:
                out[p.key] = distribution(p)
            for branch in p.branches or []:
                visit(branch)

    visit(tree)
    return out


def suggest(trial: BaseTrial, space: Space, tree: Sequence[NniParam]) -> dict[str, Any]:
    """Draw a configuration from ``trial``, define-by-run; ConfigError if what was drawn is not a member."""

    def pick(p: NniParam) -> Any:
        dim = p.dim
        if isinstance(dim, IntegerSpec):
            return trial.suggest_int(p.key, int(dim.low), int(dim.high), step=int(dim.step), log=bool(dim.log))
        if isinstance(dim, FloatSpec):
            return trial.suggest_float(p.key, float(dim.low), float(dim.high), log=bool(dim.log))
        return trial.suggest_categorical(p.key, p.choices)

    return from_params(space, tree, _nest(tree, pick))
