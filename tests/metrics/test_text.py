"""autopeft.metrics.text: exact match and ROUGE-L, hand-worked."""

from __future__ import annotations

import pytest

from autopeft.metrics import exact_match, rouge_l

# ------------------------------------------------------------------------------------------ generation


@pytest.mark.parametrize(
    ("predictions", "references", "expected"),
    [
        (["Paris"], ["paris"], 1.0),
        (["  The   Eiffel\tTower. "], ["the eiffel tower"], 1.0),
        (["\"yes!\""], ["Yes"], 1.0),
        (["it's fine"], ["its fine"], 0.0),  # punctuation inside is kept
        (["a b", "c"], ["a  b", "d"], 0.5),
        ([""], ["..."], 1.0),
    ],
    ids=["case", "whitespace-and-end-punctuation", "quotes", "inner-punctuation", "mean", "empty-after-normalising"],
)
def test_exact_match(predictions: list[str], references: list[str], expected: float) -> None:
    assert exact_match(predictions, references) == expected


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("the cat sat", "the cat sat down", 2 * 1.0 * 0.75 / 1.75),  # P = 1, R = 3/4 -> 6/7
        ("The Cat", "the cat", 1.0),
        ("a b c d", "a c e", 2 * (2 / 4) * (2 / 3) / (2 / 4 + 2 / 3)),  # LCS "a c"
        ("x y", "a b", 0.0),
        ("", "", 1.0),
        ("", "a", 0.0),
        ("a", "  ", 0.0),
        ("b a", "a b", 0.5),  # LCS 1: order matters
    ],
)
def test_rouge_l_hand_worked(prediction: str, reference: str, expected: float) -> None:
    assert rouge_l([prediction], [reference]) == pytest.approx(expected)


def test_rouge_l_is_a_mean_and_six_sevenths() -> None:
    assert rouge_l(["the cat sat"], ["the cat sat down"]) == pytest.approx(0.857142857142857)
    assert rouge_l(["a", "b"], ["a", "c"]) == pytest.approx(0.5)
