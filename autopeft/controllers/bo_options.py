"""``bo``'s options (:class:`autopeft.controllers.bo.BayesianOptimization`): what each does, and their checks.

Options: ``surrogate`` (``"gp"`` or ``"forest"``), ``n_initial`` (8), ``n_candidates`` (512),
``mc_samples`` (64), ``reference`` (``None``, or ``{objective: value}`` in the objectives' own units),
``min_distance`` (0.05): candidates closer than this (largest per-feature difference of the encoded
vectors) to a tried or pending configuration are skipped — without it the search spends trials on the
same configuration with a learning rate 1 % apart, which a GP rates as (almost) equally promising.
``incumbent`` (``"observed"``): the front EHVI improves on — the observed values, or ``"predicted"``, the
surrogates' means at the observed configurations (robust to a lucky training seed). ``known_inputs``
(``False``): give the surrogates the known objectives (the log parameter count), scaled, as one more
feature. Neither changed the result on PEFT-Bench (``benchmarks/results/bo_ablation.md``), so both stay off.
``kernel`` (``"matern52"``; ``"matern32"``, ``"rbf"``) and ``std`` (``"predictive"``; ``"latent"``: EHVI on
the noise-free function's uncertainty) set the ``gp`` surrogate; they exist for the ablation
(``benchmarks/bo_ablation.py``) and are refused with the forest. ``prior`` (``None``): a warm start
(:class:`~autopeft.controllers.transfer.Prior`, from ``--warm-start``): each objective the sources observed is
modelled as the sources' surrogate, rescaled, plus a residual fit on this search's observations
(:class:`~autopeft.controllers.transfer.TransferSurrogate`), and there is no space-filling design: while
fewer than two trials have values, proposals are the candidates (uniform draws and the sources' own
configurations) with the best expected hypervolume improvement under the prior alone. ``prior_trials``
(``None``: ``n_initial``): the prior guides this many trials, then bo fits its own observations alone (why:
:mod:`autopeft.controllers.transfer`). ``prior_std`` (``"residual"``; ``"stacked"``): how the warm start's
surrogate states its uncertainty (:mod:`autopeft.controllers.transfer`; ``"stacked"`` exists for the
comparison in ``benchmarks/warm_std.py``). ``prior_transform`` (``"standard"``; ``"copula"``): how each
source's values are scaled before the prior is fit (:func:`~autopeft.controllers.transfer.fit_prior_model`).
``prior_cover`` (``True``): while the prior guides, propose only members of methods not tried yet, until
each has been tried once, trials in flight counting as tried (:mod:`autopeft.controllers.cover`; measured
in ``benchmarks/warm_std.py``). ``prior_levels`` (``True``): the warm start's residual has one level per
method, uncertain by the task's spread until the method is tried (:mod:`autopeft.controllers.transfer`;
measured in ``benchmarks/warm_std.py``). ``prior_level_shrink`` (``0.25``, a number > 0): the pseudo-observations
that pull each method's level towards the prior; smaller trusts a method's first members more (1 was the
default before; measured in ``benchmarks/warm_std.py``).
``random_fraction`` (``0.0``, in [0, 1)): the chance that a proposal past the design is a uniform draw (step 5 of
:mod:`autopeft.controllers.bo`; 0.1 helped on the development seeds of both PEFT-Bench tables and not on the report
seeds, so it is off: ``benchmarks/results/bo_interleave/``).

Every bad value is a one-line :class:`~autopeft.errors.ConfigError` naming the option, the value and what is
allowed.

>>> check_bo_options({"surrogate": "gp", "incumbent": "best"}, {})
Traceback (most recent call last):
...
autopeft.errors.ConfigError: controller 'bo': option 'incumbent' must be one of observed, predicted, got 'best'
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from autopeft.controllers.surrogate import GP_KERNELS, GP_STDS, surrogate_names
from autopeft.errors import ConfigError

__all__ = ["INCUMBENTS", "check_bo_options"]

#: What EHVI measures improvement over: the observed front, or the front of the surrogates' means at the
#: observed configurations (robust to a lucky seed; the idea of noisy EHVI, Daulton et al. 2021).
INCUMBENTS = ("observed", "predicted")


def check_bo_options(opts: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """The options that are names, switches or fractions (the integers, the warm start's and ``reference`` are
    checked where they are used); ``defaults`` tells which gp-only options were changed."""
    if opts["surrogate"] not in surrogate_names():
        raise ConfigError(f"controller 'bo': option 'surrogate' is unknown (got {opts['surrogate']!r}); "
                          f"allowed: {', '.join(surrogate_names())}")
    if opts["incumbent"] not in INCUMBENTS:
        raise ConfigError(f"controller 'bo': option 'incumbent' must be one of {', '.join(INCUMBENTS)}, "
                          f"got {opts['incumbent']!r}")
    for key, allowed in (("kernel", tuple(GP_KERNELS)), ("std", GP_STDS)):
        if opts[key] not in allowed:
            raise ConfigError(f"controller 'bo': option {key!r} must be one of {', '.join(allowed)}, "
                              f"got {opts[key]!r}")
        if opts[key] != defaults[key] and opts["surrogate"] != "gp":
            raise ConfigError(f"controller 'bo': option {key!r} applies to the gp surrogate only, "
                              f"got {key}={opts[key]!r} with surrogate {opts['surrogate']!r}")
    for key in ("known_inputs", "prior_cover", "prior_levels"):
        if not isinstance(opts[key], bool):
            raise ConfigError(f"controller 'bo': option {key!r} must be true or false, got {opts[key]!r}")
    for key in ("random_fraction", "min_distance"):
        value = opts[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) < 1:
            raise ConfigError(f"controller 'bo': option {key!r} must be a number in [0, 1), got {value!r}")
