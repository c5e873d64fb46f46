"""Hypothesis strategies shared by the metrics tests: probabilities with labels, and label pairs."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from autopeft.metrics import softmax

FAST = settings(max_examples=40, deadline=None)


# ------------------------------------------------------------------------------------------ strategies


@st.composite
def labelled_probs(draw: st.DrawFn, max_n: int = 60, max_k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Random (probs, y_true): probabilities from bounded logits, so none is near 0."""
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(2, max_k))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.1, 1.0, 3.0]))
    probs = softmax(rng.normal(scale=scale, size=(n, k)))
    y = rng.integers(0, k, size=n)
    return probs, y


@st.composite
def label_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 50))
    k = draw(st.integers(1, 8))
    y_true = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    y_pred = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    return y_true, y_pred
