"""Acquisition functions: how much a candidate is worth trying, from a surrogate's predictions.

Plain functions of arrays, no model inside (as in scikit-optimize's ``acquisition.py`` and BoTorch's
``acquisition/``): a controller asks its surrogates for predictive means and standard deviations and
hands the numbers here. Everything is in *minimisation* space (:func:`autopeft.objectives.to_minimize` already
applied), so "better" always means "smaller".

- :func:`ehvi_monte_carlo` — expected hypervolume improvement over the current front, by Monte Carlo, for
  candidates whose objectives are partly predicted (normal, independent) and partly known exactly (such as
  ``trainable_params``, counted before training).
- :func:`pick_candidate` — the candidate to propose: the best EHVI, with a fallback when every EHVI is 0.

>>> import numpy as np
>>> front = np.array([[0.0, 1.0], [1.0, 0.0]])              # two points already found
>>> mean, std = np.array([[0.5]]), np.array([[0.0]])        # objective 0 predicted, certain
>>> known = np.array([[0.5]])                               # objective 1 known exactly
>>> ehvi_monte_carlo(mean, std, known, front, reference=[2.0, 2.0], samples=8, rng=0).round(3).tolist()
[0.25]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from autopeft.pareto import hypervolume_improvement

__all__ = ["ehvi_monte_carlo", "pick_candidate"]

FloatArray = npt.NDArray[np.float64]

#: Rows handed to :func:`hypervolume_improvement` at once; bounds memory for large candidate sets.
_CHUNK_ROWS = 1 << 18


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


def pick_candidate(scores: FloatArray, mean: FloatArray, std: FloatArray, known: FloatArray, front: FloatArray,
                   reference: FloatArray) -> int:
    """The row of the best EHVI (``scores``); when every candidate's EHVI is 0, the one an optimistic guess
    leaves least dominated.

    Without the fallback a confident surrogate would turn the search into an arbitrary choice (the first
    candidate); the optimistic point (mean - 2 std) and the smallest improvement needed to escape the
    front, in units of each objective's range, keep it going somewhere sensible.
    """
    if scores.size and float(scores.max()) > 0.0:
        return int(np.argmax(scores))
    optimistic = np.hstack((mean - 2.0 * std, known))
    if front.shape[0] == 0:
        return 0
    scale = np.maximum(reference - front.min(axis=0), 1e-12)
    # escape[c, f]: the least relative improvement (in its best objective) candidate c needs to leave
    # f's dominated region; the worst over f is how far c is from being non-dominated.
    gaps = (optimistic[:, None, :] - front[None, :, :]) / scale
    return int(np.argmin(gaps.min(axis=2).max(axis=1)))
