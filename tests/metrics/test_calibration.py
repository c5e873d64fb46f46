"""autopeft.metrics.calibration against brute-force loops written here and closed forms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopeft.metrics import (
    DEFAULT_BINS,
    accuracy,
    balanced_accuracy,
    brier,
    classification_metrics,
    ece,
    fit_temperature,
    mce,
    nll,
    reliability_bins,
    scaling_temperature,
    separated,
    softmax,
)
from tests.metrics.strategies import FAST, labelled_probs

# ---------------------------------------------------------------------------------- brute-force references


def brute_bin(conf: float, edges: np.ndarray) -> int:
    """The stated convention, one interval at a time: (edges[i], edges[i+1]], and 0 in the first bin."""
    for i in range(len(edges) - 1):
        if edges[i] < conf <= edges[i + 1] or (i == 0 and conf == edges[0]):
            return i
    raise AssertionError(f"confidence {conf} in no bin")


def brute_calibration(probs: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[float, float, list[int]]:
    """ECE, MCE and bin counts by looping over examples and bins."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    members: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
    for row, label in zip(probs, y, strict=True):
        best = 0
        for j in range(len(row)):
            if row[j] > row[best]:
                best = j
        members[brute_bin(float(row[best]), edges)].append((float(row[best]), best == label))
    n = len(y)
    total, worst = 0.0, 0.0
    for items in members:
        if not items:
            continue
        conf = sum(c for c, _ in items) / len(items)
        acc = sum(1.0 for _, ok in items if ok) / len(items)
        total += len(items) / n * abs(acc - conf)
        worst = max(worst, abs(acc - conf))
    return total, worst, [len(items) for items in members]


# ------------------------------------------------------------------------------------------ calibration


@FAST
@given(labelled_probs(), st.sampled_from([1, 2, 3, 10, DEFAULT_BINS, 40]))
def test_ece_mce_and_counts_match_brute_force(data: tuple[np.ndarray, np.ndarray], n_bins: int) -> None:
    probs, y = data
    want_ece, want_mce, want_counts = brute_calibration(probs, y, n_bins)
    bins = reliability_bins(probs, y, n_bins)
    assert bins.counts.tolist() == want_counts
    assert int(bins.counts.sum()) == len(y)
    assert ece(probs, y, n_bins) == pytest.approx(want_ece, abs=1e-12)
    assert mce(probs, y, n_bins) == pytest.approx(want_mce, abs=1e-12)
    assert ece(probs, y, n_bins) <= mce(probs, y, n_bins) + 1e-12


@pytest.mark.parametrize("n_bins", [1, 5, DEFAULT_BINS, 20, 100])
def test_edge_confidences_follow_the_stated_convention(n_bins: int) -> None:
    """Confidences exactly on every edge, and 1.0: brute force and the vectorised bins agree."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    conf = np.concatenate([edges[edges >= 0.5], [1.0]])  # max-prob of a 2-class row is >= 0.5
    probs = np.stack([conf, 1.0 - conf], axis=1)
    y = np.zeros(len(conf), dtype=int)
    assert reliability_bins(probs, y, n_bins).counts.tolist() == brute_calibration(probs, y, n_bins)[2]


def test_one_goes_in_last_bin_and_half_in_the_lower_bin() -> None:
    bins = reliability_bins([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], [0, 1, 0], n_bins=2)
    assert bins.edges.tolist() == [0.0, 0.5, 1.0]
    assert bins.counts.tolist() == [1, 2]  # 0.5 is in (0, 0.5]; both 1.0s in (0.5, 1]
    assert bins.accuracy.tolist() == [0.0, 0.5]
    assert reliability_bins([[1.0, 0.0]], [0]).counts[-1] == 1
    assert reliability_bins([[0.5, 0.5]], [0], n_bins=DEFAULT_BINS).counts[7] == 1  # (7/15, 8/15]


def test_reliability_bins_empty_bins_and_json() -> None:
    bins = reliability_bins([[0.9, 0.1], [0.2, 0.8]], [0, 0], n_bins=4)
    assert bins.n_bins == 4 and bins.counts.tolist() == [0, 0, 0, 2]
    assert np.isnan(bins.confidence[:3]).all() and np.isnan(bins.gaps()[:3]).all()
    assert bins.gaps()[3] == pytest.approx(abs(0.5 - 0.85))
    d = bins.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["confidence"][:3] == [None, None, None] and d["counts"] == [0, 0, 0, 2]
    with pytest.raises(ValueError):
        bins.counts[0] = 1  # read-only: the dataclass is frozen and so are its arrays


@pytest.mark.parametrize("n_bins", [1, 10, DEFAULT_BINS])
@pytest.mark.parametrize("conf", [0.8, 0.6, 0.95])
def test_perfectly_calibrated_has_zero_ece_and_mce(conf: float, n_bins: int) -> None:
    n = 100  # a multiple of 20, so exactly conf * n examples are right
    right = round(conf * n)
    probs = np.tile([conf, 1.0 - conf], (n, 1))
    y = np.array([0] * right + [1] * (n - right))
    assert ece(probs, y, n_bins) == pytest.approx(0.0, abs=1e-12)
    assert mce(probs, y, n_bins) == pytest.approx(0.0, abs=1e-12)


def test_perfectly_calibrated_across_several_bins() -> None:
    probs = np.array([[0.6, 0.4]] * 5 + [[0.1, 0.9]] * 10)
    y = np.array([0, 0, 0, 1, 1] + [1] * 9 + [0])  # 3/5 right at 0.6, 9/10 right at 0.9
    assert ece(probs, y) == pytest.approx(0.0, abs=1e-12)
    assert mce(probs, y) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 3, 10])
def test_confident_and_wrong(k: int) -> None:
    n = 7
    probs = np.zeros((n, k))
    probs[:, 1] = 1.0
    y = np.zeros(n, dtype=int)
    assert accuracy(y, probs) == 0.0
    assert ece(probs, y) == 1.0 and mce(probs, y) == 1.0
    assert brier(probs, y) == 2.0
    assert nll(probs, y) == pytest.approx(-math.log(1e-12))
    assert nll(probs, y, eps=1e-6) == pytest.approx(-math.log(1e-6))


@pytest.mark.parametrize("k", [2, 3, 7, 50])
def test_uniform_predictions(k: int) -> None:
    probs = np.full((11, k), 1.0 / k)
    y = np.arange(11) % k
    assert nll(probs, y) == pytest.approx(math.log(k))
    assert brier(probs, y) == pytest.approx(1.0 - 1.0 / k)
    m = classification_metrics(np.zeros((11, k)), y)
    assert m["nll"] == pytest.approx(math.log(k)) and m["brier"] == pytest.approx(1.0 - 1.0 / k)


# ------------------------------------------------------------------------------------------ temperature


def sample_labels(rng: np.random.Generator, logits: np.ndarray, temperature: float) -> np.ndarray:
    p = softmax(logits, temperature)
    u = rng.random((p.shape[0], 1))
    labels: np.ndarray = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), p.shape[1] - 1)
    return labels


@pytest.mark.parametrize("t0", [0.5, 2.0, 4.0])
def test_fit_temperature_recovers_known_temperature(t0: float) -> None:
    rng = np.random.default_rng(int(t0 * 10))
    z = rng.normal(scale=3.0, size=(20_000, 5))
    y = sample_labels(rng, z, t0)
    fitted = fit_temperature(z, y)
    assert fitted == pytest.approx(t0, rel=0.10)
    assert nll(softmax(z, fitted), y) <= nll(softmax(z), y)


@settings(max_examples=30, deadline=None)
@given(labelled_probs(max_n=80), st.floats(0.1, 10.0))
def test_fitted_temperature_never_increases_nll(data: tuple[np.ndarray, np.ndarray], scale: float) -> None:
    probs, y = data
    logits = np.log(probs) * scale
    t = fit_temperature(logits, y)
    assert 0.05 <= t <= 20.0
    assert nll(softmax(logits, t), y) <= nll(softmax(logits), y) + 1e-12
    # and it is (near) the best on a fine grid of the allowed range
    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 400))
    assert nll(softmax(logits, t), y) <= min(nll(softmax(logits, g), y) for g in grid) + 1e-9


def test_fit_temperature_edge_cases() -> None:
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0
    assert fit_temperature(np.zeros((5, 3)), [0, 1, 2, 0, 1]) == 1.0  # NLL does not depend on T
    assert fit_temperature(np.zeros((5, 3)), [0, 1, 2, 0, 1], low=2.0, high=3.0) == 2.0
    separable = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert fit_temperature(separable, [0, 1]) == pytest.approx(0.05, rel=1e-3)  # sharper is always better


@settings(max_examples=40, deadline=None)
@given(labelled_probs(max_n=60), st.floats(0.1, 10.0))
def test_the_recorded_temperature_is_the_fit_unless_nll_has_no_minimum(data: tuple[np.ndarray, np.ndarray],
                                                                        scale: float) -> None:
    """``scaling_temperature`` is ``fit_temperature`` wherever the NLL has a minimum; on a separated split (each
    label its row's one largest logit) the NLL falls on the whole grid towards T = 0, and the temperature is 1."""
    probs, y = data
    logits = np.log(probs) * scale
    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 200))
    by_grid = np.array([nll(softmax(logits, g), y) for g in grid])
    brute = all(row[label] > max(v for j, v in enumerate(row) if j != label)
                for row, label in zip(logits.tolist(), y.tolist(), strict=True))
    assert separated(logits, y) == brute
    if brute:
        # lower T, lower NLL (down to 0 in floats) on the whole grid: no minimum to fit
        assert np.all(np.diff(by_grid) >= 0) and by_grid[0] < by_grid[-1]
        t = scaling_temperature(logits, y)
        confidence = softmax(logits, t).max(axis=1).mean()
        target = (len(y) + 1) / (len(y) + 2)
        assert confidence == pytest.approx(target, abs=1e-9) or (t, confidence > target) in ((0.05, False),
                                                                                               (20.0, True))
    else:
        assert scaling_temperature(logits, y) == fit_temperature(logits, y)


def test_a_separated_split_gets_the_confidence_its_accuracy_supports() -> None:
    """30 validation rows all right (the case a user met: 1 - 6e-38 for new rows at the fit's T = 0.05); two
    classes with one margin m everywhere, where the temperature is m / log(n + 1) in closed form."""
    y = np.array([0, 1] * 15)
    logits = np.where(np.arange(2) == y[:, None], 3.0, 0.0)
    assert separated(logits, y) and fit_temperature(logits, y) == pytest.approx(0.05, rel=1e-3)
    assert scaling_temperature(logits, y) == pytest.approx(3.0 / math.log(31), rel=1e-9)
    assert softmax(logits, scaling_temperature(logits, y)).max(axis=1) == pytest.approx(31 / 32)
    rng = np.random.default_rng(0)
    logits = logits + rng.normal(scale=0.3, size=(30, 2))
    y[0] = 1 - y[0]  # one row wrong: the NLL has its minimum inside the range, and the fit is kept
    assert not separated(logits, y)
    t = scaling_temperature(logits, y)
    assert t == fit_temperature(logits, y) and 0.05 < t < 20.0


def test_classification_metrics_keys_and_values() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(scale=2.0, size=(200, 4))
    y = rng.integers(0, 4, size=200)
    plain = classification_metrics(z, y, n_bins=10)
    assert set(plain) == {"accuracy", "macro_f1", "balanced_accuracy", "ece", "mce", "brier", "nll"}
    p = softmax(z)
    assert plain["accuracy"] == accuracy(y, p) and plain["balanced_accuracy"] == balanced_accuracy(y, p)
    assert plain["ece"] == ece(p, y, 10) and plain["nll"] == nll(p, y)
    scaled = classification_metrics(z, y, n_bins=10, temperature=3.0)
    assert {k: scaled[k] for k in plain} == plain
    assert scaled["temperature"] == 3.0
    assert scaled["ece_ts"] == ece(softmax(z / 3.0), y, 10)
    assert scaled["brier_ts"] == pytest.approx(brier(softmax(z / 3.0), y))
    assert scaled["nll_ts"] == pytest.approx(nll(softmax(z / 3.0), y))
    assert scaled["mce_ts"] == pytest.approx(mce(softmax(z / 3.0), y, 10))
    # log-probabilities are fine as logits
    assert classification_metrics(np.log(p), y) == pytest.approx(classification_metrics(z, y))
