"""Surrogate models: predict one objective, with uncertainty, from encoded configurations.

A controller never trains a PEFT model to ask "what if"; it asks a surrogate fit on the configurations
already tried. Each surrogate follows the scikit-learn contract (``__init__`` stores parameters only,
``fit(X, y)`` returns ``self``, learned state ends in ``_``, ``predict(X, return_std=True)`` gives the
predictive mean and standard deviation), so :func:`sklearn.base.clone` and ``get_params`` work and the
acquisition functions in :mod:`autopeft.controllers.acquisition` only ever see arrays.

Inputs are :meth:`autopeft.space.Space.encode_many` rows, already in ``[0, 1]``, so no scaling is done.
With fewer than two observations there is nothing to learn a shape from: both models then predict the
prior (the mean of what was seen, or 0, and a unit standard deviation) instead of failing, which lets a
controller call them from its very first model-based step.

>>> import numpy as np
>>> X = np.linspace(0, 1, 8).reshape(-1, 1)
>>> model = make_surrogate("gp", seed=0).fit(X, np.sin(3 * X[:, 0]))
>>> mean, std = model.predict(np.array([[0.5]]), return_std=True)
>>> bool(abs(mean[0] - np.sin(1.5)) < 0.01), bool(std[0] < 0.05)
(True, True)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Kernel, Matern, WhiteKernel
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # a scikit-learn dependency

from autopeft.errors import ConfigError

__all__ = ["GP_KERNELS", "GP_STDS", "SURROGATES", "ForestSurrogate", "GPSurrogate", "Surrogate", "make_surrogate",
           "surrogate_names"]

Array = np.ndarray

#: The GP's covariance (``kernel``): name -> the stationary part, given ARD start length scales and bounds.
#: ``matern52`` is the default; the others are measured by ``benchmarks/bo_ablation.py``.
GP_KERNELS: dict[str, Callable[[Array, tuple[float, float]], Kernel]] = {
    "matern52": lambda scale, bounds: Matern(length_scale=scale, length_scale_bounds=bounds, nu=2.5),
    "matern32": lambda scale, bounds: Matern(length_scale=scale, length_scale_bounds=bounds, nu=1.5),
    "rbf": lambda scale, bounds: RBF(length_scale=scale, length_scale_bounds=bounds),
}
#: What the GP's standard deviation describes (``std``): ``predictive``, a new observation (the fitted white
#: noise included: the default), or ``latent``, the noise-free function (the fitted white noise taken out).
GP_STDS = ("predictive", "latent")


class Surrogate(RegressorMixin, BaseEstimator):  # type: ignore[misc]  # sklearn ships no type stubs
    """Shared plumbing: input checks and the prior used before there are two observations."""

    def _check_X(self, X: Any) -> Array:
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2:
            raise ValueError(f"X must be a 2-D array (n_samples, n_features), got shape {arr.shape}")
        return arr

    def _fit_prior(self, X: Array, y: Array) -> bool:
        """Record the data; True when it is too little (n < 2 or no features) to fit a model on."""
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} values")
        if not np.isfinite(y).all():
            raise ValueError("y must be finite; leave failed trials out of the training data")
        self.n_features_in_ = X.shape[1]
        self.n_train_ = len(y)
        self.prior_mean_ = float(np.mean(y)) if len(y) else 0.0
        spread = float(np.std(y)) if len(y) > 1 else 0.0
        self.prior_std_ = spread if spread > 0 else 1.0
        return len(y) < 2 or X.shape[1] == 0

    def _prior(self, n: int) -> tuple[Array, Array]:
        return np.full(n, self.prior_mean_), np.full(n, self.prior_std_)

    @overload
    def predict(self, X: Any, return_std: Literal[False] = ...) -> Array: ...

    @overload
    def predict(self, X: Any, return_std: Literal[True]) -> tuple[Array, Array]: ...

    def predict(self, X: Any, return_std: bool = False) -> Array | tuple[Array, Array]:
        """Predictive mean, and with ``return_std`` the predictive standard deviation, for each row of ``X``."""
        if not hasattr(self, "n_train_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X, y) first")
        arr = self._check_X(X)
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, the model was fit on {self.n_features_in_}")
        with threadpool_limits(limits=1, user_api="blas"):
            mean, std = self._predict(arr)
        return (mean, std) if return_std else mean

    def _predict(self, X: Array) -> tuple[Array, Array]:
        raise NotImplementedError


class GPSurrogate(Surrogate):
    """A Gaussian process: constant x Matern-5/2 with one length scale per feature (ARD), plus white noise.

    Why this kernel: Matern-5/2 is the usual choice for hyper-parameter surfaces (smooth, but not as
    over-confident as an RBF); ARD length scales let the model learn that some features (a block's rank)
    matter and others do not; the white-noise term absorbs the seed-to-seed noise of fine-tuning so the
    mean does not chase it. The targets are normalised, so the noise bounds are relative to their spread.

    ``kernel`` swaps the Matern-5/2 for another entry of :data:`GP_KERNELS` and ``std="latent"`` predicts the
    standard deviation of the noise-free function instead of a new observation's; both exist for the ablation
    (``benchmarks/bo_ablation.py``).
    """

    def __init__(self, *, length_scale_bounds: tuple[float, float] = (0.05, 20.0),
                 noise_bounds: tuple[float, float] = (1e-6, 1.0), n_restarts_optimizer: int = 2,
                 random_state: int | None = None, kernel: str = "matern52", std: str = "predictive") -> None:
        self.length_scale_bounds = length_scale_bounds
        self.noise_bounds = noise_bounds
        self.n_restarts_optimizer = n_restarts_optimizer
        self.random_state = random_state
        self.kernel = kernel
        self.std = std

    def fit(self, X: Any, y: Any) -> GPSurrogate:
        """Fit the kernel's hyper-parameters by maximum marginal likelihood; returns ``self``."""
        if self.kernel not in GP_KERNELS:
            raise ValueError(f"unknown GP kernel {self.kernel!r}; allowed: {', '.join(GP_KERNELS)}")
        if self.std not in GP_STDS:
            raise ValueError(f"unknown GP std {self.std!r}; allowed: {', '.join(GP_STDS)}")
        arr, target = self._check_X(X), np.asarray(y, dtype=float).ravel()
        self.gp_: GaussianProcessRegressor | None = None
        if self._fit_prior(arr, target):
            return self
        low, high = self.length_scale_bounds
        start = float(np.clip(0.5, low, high))
        noise = float(np.clip(1e-3, *self.noise_bounds))
        kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * GP_KERNELS[self.kernel](np.full(arr.shape[1], start), (low, high))
                  + WhiteKernel(noise, self.noise_bounds))
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=self.n_restarts_optimizer,
                                      random_state=self.random_state)
        # One BLAS thread: for matrices this small, threads only contend (10-40x slower on a busy machine).
        # A bound reached (an irrelevant feature's length scale) is an answer, not a problem: no warning.
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(arr, target)
        self.gp_ = gp
        return self

    def _predict(self, X: Array) -> tuple[Array, Array]:
        if self.gp_ is None:
            return self._prior(len(X))
        mean, std = self.gp_.predict(X, return_std=True)
        std = np.maximum(np.asarray(std, dtype=float), 0.0)
        if self.std == "latent":  # the white term adds its level to every new point's variance (normalised y)
            white = float(self.gp_.kernel_.k2.noise_level) * float(np.square(self.gp_._y_train_std))
            std = np.sqrt(np.maximum(np.square(std) - white, 0.0))
        return np.asarray(mean, dtype=float), std


class ForestSurrogate(Surrogate):
    """Extremely randomised trees; the uncertainty is the spread of the trees' predictions.

    Why: trees need no kernel and cope with one-hot categoricals and conditional (zero-filled) features
    as they come, and fit in milliseconds whatever the number of observations. The spread across trees is
    a rough uncertainty, floored at ``min_std`` times the targets' spread so that it is never exactly zero
    (an exact zero would make every acquisition treat a guess as a certainty).
    """

    def __init__(self, *, n_estimators: int = 200, min_samples_leaf: int = 2, max_features: float = 1.0,
                 min_std: float = 1e-3, random_state: int | None = None) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.min_std = min_std
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> ForestSurrogate:
        """Grow the trees; returns ``self``."""
        arr, target = self._check_X(X), np.asarray(y, dtype=float).ravel()
        self.forest_: ExtraTreesRegressor | None = None
        if self._fit_prior(arr, target):
            return self
        forest = ExtraTreesRegressor(n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
                                     max_features=self.max_features, random_state=self.random_state)
        self.forest_ = forest.fit(arr, target)
        return self

    def _predict(self, X: Array) -> tuple[Array, Array]:
        if self.forest_ is None:
            return self._prior(len(X))
        # the trees split on float32 inputs: convert once, not once per tree (what check_input would do per call)
        rows = np.ascontiguousarray(X, dtype=np.float32)
        per_tree = np.stack([tree.predict(rows, check_input=False) for tree in self.forest_.estimators_])
        floor = self.min_std * self.prior_std_
        return per_tree.mean(axis=0), np.maximum(per_tree.std(axis=0), floor)


#: Surrogate name -> factory taking a seed and keyword parameters. Adding one is a class and a line here.
SURROGATES: dict[str, Callable[..., Surrogate]] = {
    "gp": lambda seed, **params: GPSurrogate(random_state=seed, **params),
    "forest": lambda seed, **params: ForestSurrogate(random_state=seed, **params),
}


def surrogate_names() -> list[str]:
    """Names :func:`make_surrogate` accepts."""
    return sorted(SURROGATES)


def make_surrogate(name: str, seed: int = 0, **params: Any) -> Surrogate:
    """An unfitted surrogate by name (``"gp"`` or ``"forest"``), seeded so that fits are reproducible.

    ``params`` are the model's own (``kernel="rbf"`` for the GP); the caller checks them.
    """
    if name not in SURROGATES:
        raise ConfigError(f"unknown surrogate {name!r}; allowed: {', '.join(surrogate_names())}")
    return SURROGATES[name](seed, **params)
