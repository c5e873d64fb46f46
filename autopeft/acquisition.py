"""Acquisition functions: how much a candidate is worth trying, from a surrogate's predictions.

Plain functions of arrays, no model inside (as in scikit-optimize's ``acquisition.py`` and BoTorch's
``acquisition/``): a controller asks its surrogates for predictive means and standard deviations and
hands the numbers here. Everything is in *minimisation* space (:func:`autopeft.pareto.to_minimize` already
applied), so "better" always means "smaller".

- :func:`ehvi_monte_carlo` — expected hypervolume improvement over the current front, by Monte Carlo, for
  candidates whose objectives are partly predicted (normal, independent) and partly known exactly (such as
  ``trainable_params``, counted before training).
- :func:`expected_improvement` — the closed form for one objective.
- :func:`chebyshev_scalarize` — ParEGO's augmented Chebyshev scalarisation, which turns m objectives into
  one so that :func:`expected_improvement` applies.

>>> import numpy as np
>>> front = np.array([[0.0, 1.0], [1.0, 0.0]])              # two points already found
>>> mean, std = np.array([[0.5]]), np.array([[0.0]])        # objective 0 predicted, certain
>>> known = np.array([[0.5]])                               # objective 1 known exactly
>>> ehvi_monte_carlo(mean, std, known, front, reference=[2.0, 2.0], samples=8, rng=0).round(3).tolist()
[0.25]
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from autopeft.pareto import hypervolume_improvement

__all__ = ["chebyshev_scalarize", "ehvi_monte_carlo", "expected_improvement", "normal_cdf", "normal_pdf"]

FloatArray = npt.NDArray[np.float64]

#: Rows handed to :func:`hypervolume_improvement` at once; bounds memory for large candidate sets.
_CHUNK_ROWS = 1 << 18
_erf = np.frompyfunc(math.erf, 1, 1)


def normal_cdf(z: npt.ArrayLike) -> FloatArray:
    """Standard normal CDF (through :func:`math.erf`, so no SciPy is needed)."""
    arr = np.asarray(z, dtype=np.float64)
    erf = np.asarray(_erf(arr / math.sqrt(2.0)), dtype=np.float64)
    return np.asarray(0.5 * (1.0 + erf), dtype=np.float64)


def normal_pdf(z: npt.ArrayLike) -> FloatArray:
    """Standard normal density."""
    arr = np.asarray(z, dtype=np.float64)
    return np.asarray(np.exp(-0.5 * arr * arr) / math.sqrt(2.0 * math.pi), dtype=np.float64)


def _matrix(values: npt.ArrayLike, name: str, rows: int | None = None) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1 and rows is not None and arr.shape[0] == rows:
        arr = arr.reshape(rows, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (candidates, objectives), got shape {arr.shape}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name} must have one row per candidate ({rows}), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def ehvi_monte_carlo(
    mean: npt.ArrayLike,
    std: npt.ArrayLike,
    known: npt.ArrayLike | None,
    front: npt.ArrayLike,
    reference: npt.ArrayLike,
    *,
    samples: int = 64,
    rng: np.random.Generator | int | None = None,
) -> FloatArray:
    """Expected hypervolume improvement of each of ``c`` candidates, estimated with ``samples`` draws.

    Argument layout (all minimisation values): ``mean`` and ``std`` are ``(c, u)``, the predictive normal of
    the ``u`` *uncertain* objectives; ``known`` is ``(c, k)``, the objectives known exactly (``None`` or
    ``k = 0`` when there are none). A candidate's point is ``[uncertain..., known...]`` — the caller orders the
    columns of ``front`` ``(p, u + k)`` and ``reference`` ``(u + k,)`` the same way.

    Why Monte Carlo: with one known and one uncertain objective, or with several uncertain ones, the closed
    forms differ per case; sampling handles every case with one code path, and for two objectives each batch
    of draws costs one vectorised :func:`hypervolume_improvement` call. All candidates share the same
    standard-normal draws (common random numbers, in antithetic pairs), so the noise in the estimate hardly
    changes which candidate ranks first, and the result is a deterministic function of ``rng``'s seed. A
    candidate with ``std = 0`` gets its exact hypervolume improvement.
    """
    mu = _matrix(mean, "mean")
    c, u = mu.shape
    sigma = _matrix(std, "std", rows=c)
    if sigma.shape != mu.shape:
        raise ValueError(f"std must have mean's shape {mu.shape}, got {sigma.shape}")
    if (sigma < 0).any():
        raise ValueError("std must be >= 0")
    exact = np.zeros((c, 0)) if known is None else _matrix(known, "known", rows=c)
    m = u + exact.shape[1]
    base = np.asarray(front, dtype=np.float64).reshape(-1, m) if np.size(front) == 0 else _matrix(front, "front")
    if base.shape[1] != m:
        raise ValueError(f"front must have {m} columns (uncertain then known objectives), got shape {base.shape}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    if c == 0:
        return np.zeros(0)
    if u == 0 or not sigma.any():  # nothing uncertain: the improvement is exact
        return hypervolume_improvement(base, np.hstack((mu, exact)), reference)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    half = gen.standard_normal(((samples + 1) // 2, u))
    z = np.concatenate((half, -half))[:samples]  # antithetic pairs: the estimate of a linear part is exact
    out = np.empty(c)
    step = max(1, _CHUNK_ROWS // samples)
    for start in range(0, c, step):
        stop = min(start + step, c)
        draws = mu[start:stop, None, :] + sigma[start:stop, None, :] * z[None, :, :]  # (chunk, S, u)
        fixed = np.broadcast_to(exact[start:stop, None, :], (stop - start, samples, exact.shape[1]))
        points = np.concatenate((draws, fixed), axis=2).reshape(-1, m)
        gains = hypervolume_improvement(base, points, reference).reshape(stop - start, samples)
        out[start:stop] = gains.mean(axis=1)
    return out


def expected_improvement(mean: npt.ArrayLike, std: npt.ArrayLike, best: float, *, xi: float = 0.0) -> FloatArray:
    """Expected improvement below ``best`` (minimisation) of a normal ``N(mean, std^2)``, per candidate.

    ``E[max(best - xi - Y, 0)] = d * Phi(d / std) + std * phi(d / std)`` with ``d = best - xi - mean``; where
    ``std = 0`` it is ``max(d, 0)``. ``xi > 0`` asks for improvements of at least that size (more exploration).

    >>> expected_improvement([0.0, 1.0], [0.0, 1.0], best=0.5).round(4).tolist()
    [0.5, 0.1978]
    """
    mu = np.asarray(mean, dtype=np.float64)
    sigma = np.asarray(std, dtype=np.float64)
    if mu.shape != sigma.shape:
        raise ValueError(f"mean and std must have the same shape, got {mu.shape} and {sigma.shape}")
    if (sigma < 0).any() or not np.isfinite(sigma).all() or not np.isfinite(mu).all():
        raise ValueError("mean must be finite and std finite and >= 0")
    d = float(best) - float(xi) - mu
    safe = np.where(sigma > 0, sigma, 1.0)
    z = d / safe
    ei = d * normal_cdf(z) + sigma * normal_pdf(z)
    return np.asarray(np.where(sigma > 0, np.maximum(ei, 0.0), np.maximum(d, 0.0)), dtype=np.float64)


def chebyshev_scalarize(points: npt.ArrayLike, weights: npt.ArrayLike, *, ideal: npt.ArrayLike | None = None,
                        nadir: npt.ArrayLike | None = None, rho: float = 0.05) -> FloatArray:
    """ParEGO's augmented Chebyshev scalarisation of minimisation ``points`` (n, m): smaller is better.

    Each column is scaled to [0, 1] by ``ideal`` and ``nadir`` (default: the points' own min and max), then
    ``max_j w_j f_j + rho * sum_j w_j f_j``. Why augmented: the plain max is flat along an axis, so weakly
    dominated points could tie with the points that dominate them; the small sum breaks those ties. Every
    Pareto-optimal point minimises this for some weight vector, which is what ParEGO samples.

    >>> chebyshev_scalarize([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], [0.5, 0.5]).round(4).tolist()
    [0.525, 0.525, 0.275]
    """
    arr = _matrix(points, "points")
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (arr.shape[1],) or (w < 0).any() or not np.isfinite(w).all():
        raise ValueError(f"weights must be {arr.shape[1]} finite numbers >= 0, got {w.tolist()!r}")
    low = arr.min(axis=0) if ideal is None else np.asarray(ideal, dtype=np.float64)
    high = arr.max(axis=0) if nadir is None else np.asarray(nadir, dtype=np.float64)
    span = np.where(high - low > 0, high - low, 1.0)
    scaled = (arr - low) / span
    return np.asarray((scaled * w).max(axis=1) + rho * (scaled * w).sum(axis=1), dtype=np.float64)
