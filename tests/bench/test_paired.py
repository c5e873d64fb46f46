"""autopeft.bench.paired: counts, and both tests checked against their closed form / brute force."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from autopeft.bench.paired import TIE, PairedComparison, paired_comparison


def sign_p_closed_form(ahead: int, behind: int) -> float:
    """2 x P(X >= max) for X ~ Binomial(n, 1/2), capped at 1 (the exact two-sided sign test)."""
    n, k = ahead + behind, max(ahead, behind)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n)


def wilcoxon_p_brute_force(diff: np.ndarray) -> float:
    """Every sign assignment of the ranks of |diff| (distinct): 2 x the smaller tail of T+, capped at 1."""
    ranks = np.argsort(np.argsort(np.abs(diff))) + 1
    observed = int(ranks[diff > 0].sum())
    totals = [sum(int(r) for r, s in zip(ranks, signs, strict=True) if s)
              for signs in itertools.product((False, True), repeat=len(diff))]
    low = sum(t <= observed for t in totals) / len(totals)
    high = sum(t >= observed for t in totals) / len(totals)
    return min(1.0, 2 * min(low, high))


def test_counts_ties_and_median_difference() -> None:
    c = paired_comparison([0.5, 0.6, 0.7, 0.7 + TIE / 2], [0.6, 0.6, 0.5, 0.7])
    assert (c.ahead, c.tied, c.behind, c.seeds) == (1, 2, 1, 4)
    assert c.median_difference == pytest.approx(0.0)
    assert c.as_dict()["seeds"] == 4
    assert PairedComparison.from_dict(c.as_dict()) == c


@pytest.mark.parametrize(("ahead", "behind"), [(18, 2), (9, 10), (16, 4), (4, 1), (20, 0), (1, 0), (7, 7)])
def test_sign_test_matches_the_binomial_closed_form(ahead: int, behind: int) -> None:
    a = [1.0] * ahead + [0.0] * behind + [0.5, 0.5]  # two ties, dropped by the test
    b = [0.5] * (ahead + behind + 2)
    c = paired_comparison(a, b)
    assert c.sign_p == pytest.approx(sign_p_closed_form(ahead, behind), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_wilcoxon_matches_brute_force_over_every_sign_assignment(seed: int) -> None:
    gen = np.random.default_rng(seed)
    n = int(gen.integers(5, 11))
    diff = gen.normal(0.3 * (seed % 3 - 1), 1.0, size=n)
    b = gen.uniform(size=n)
    c = paired_comparison(b + diff, b)
    assert c.wilcoxon_p == pytest.approx(wilcoxon_p_brute_force(diff), rel=1e-9)


def test_every_seed_tied_has_no_p_values() -> None:
    c = paired_comparison([0.3, 0.4], [0.3, 0.4])
    assert (c.sign_p, c.wilcoxon_p) == (None, None)
    assert c.p_text() == "every seed tied"


def test_one_differing_seed_gives_p_one_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = paired_comparison([1.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    assert c.sign_p == pytest.approx(1.0) and c.wilcoxon_p == pytest.approx(1.0)


def test_p_text_rounds_small_and_ordinary_p_values() -> None:
    c = PairedComparison(ahead=18, tied=0, behind=2, median_difference=0.01, sign_p=0.000402, wilcoxon_p=0.0312)
    assert c.p_text() == "sign test p = 0.0004, Wilcoxon p = 0.031"


@pytest.mark.parametrize(("a", "b", "message"), [
    ([1.0, 2.0], [1.0], "same length"),
    ([], [], "at least one"),
    ([[1.0]], [[1.0]], "1-D"),
    ([1.0, float("nan")], [1.0, 1.0], "finite"),
])
def test_bad_input_is_a_clear_error(a: list, b: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paired_comparison(a, b)
