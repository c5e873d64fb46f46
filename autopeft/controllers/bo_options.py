"""The checks of ``bo``'s options (:class:`autopeft.controllers.bo.BayesianOptimization`): every bad value is a
one-line :class:`~autopeft.errors.ConfigError` naming the option, the value and what is allowed.

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
    for key in ("known_inputs", "prior_cover"):
        if not isinstance(opts[key], bool):
            raise ConfigError(f"controller 'bo': option {key!r} must be true or false, got {opts[key]!r}")
    for key in ("random_fraction", "min_distance"):
        value = opts[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) < 1:
            raise ConfigError(f"controller 'bo': option {key!r} must be a number in [0, 1), got {value!r}")
