"""Which dimensions the surrogate leans on: grouped permutation importance on held-out folds (numpy).

A :class:`~autopeft.controllers.surrogate.ForestSurrogate` is fit on all folds but one; the held-out fold's squared
error is measured, then measured again with one group of columns (a whole categorical's one-hot block, or one
block's rank) shuffled jointly across the held-out rows. The mean rise in error, over folds and repeats, is
the group's importance; the report shows each group's share of the total and the surrogate's cross-validated
R^2, so a reader knows how much the bars can be trusted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autopeft.controllers.surrogate import ForestSurrogate


def kfold(n: int, folds: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``folds`` disjoint index arrays covering ``range(n)`` (shuffled; sizes differ by at most one)."""
    order = rng.permutation(n)
    return [order[i::folds] for i in range(folds)]


def permutation_importance(X: np.ndarray, y: np.ndarray, groups: Mapping[str, Sequence[int]], *,
                           folds: int = 5, repeats: int = 20,
                           seed: int = 0) -> tuple[list[str], np.ndarray, float]:
    """(names, share of the total importance per name, cross-validated R^2 of the surrogate)."""
    rng = np.random.default_rng(seed)
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    names = list(groups)
    rise = np.zeros(len(names))
    residual, total = 0.0, float(((y - y.mean()) ** 2).sum())
    parts = kfold(len(y), min(folds, len(y)), rng)
    for k, test in enumerate(parts):
        train = np.concatenate([p for j, p in enumerate(parts) if j != k])
        model = ForestSurrogate(random_state=seed + k).fit(X[train], y[train])
        base_err = (model.predict(X[test]) - y[test]) ** 2
        residual += float(base_err.sum())
        held = X[test]
        for g, name in enumerate(names):
            cols = list(groups[name])
            shuffled = np.tile(held, (repeats, 1))  # every repeat's shuffle in one block: one predict call
            for r in range(repeats):
                shuffled[r * len(test):(r + 1) * len(test), cols] = held[rng.permutation(len(test))][:, cols]
            predicted = model.predict(shuffled).reshape(repeats, len(test))
            for r in range(repeats):
                rise[g] += float(((predicted[r] - y[test]) ** 2 - base_err).sum()) / repeats
    rise = np.clip(rise, 0.0, None)
    share = rise / rise.sum() if rise.sum() > 0 else rise
    r2 = 1.0 - residual / total if total > 0 else 0.0
    return names, share, float(r2)


def feature_groups(space: Any) -> dict[str, list[int]]:
    """Columns per reported name: one per dimension, but one per block for an ordinal per-layer dimension."""
    groups: dict[str, list[int]] = {}
    names = space.feature_names
    for dim in space.dimensions:
        cols = list(range(*space.feature_slice(dim.name).indices(len(names))))
        if dim.type == "per_layer" and len(cols) == len(getattr(dim, "blocks", ())):
            for c in cols:
                groups[names[c]] = [c]
        else:
            groups[dim.name] = cols
    return groups
