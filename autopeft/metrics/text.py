"""Metrics of generated text: exact match and ROUGE-L."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from autopeft.metrics._checks import check_nonempty

_WHITESPACE = re.compile(r"\s+")
_EDGE_CHARS = string.punctuation + string.whitespace


def _check_texts(predictions: Sequence[str], references: Sequence[str], what: str) -> None:
    for name, texts in (("predictions", predictions), ("references", references)):
        if isinstance(texts, str):
            raise ValueError(f"{name} must be a sequence of strings, got a single string {texts[:40]!r}")
        bad = next((t for t in texts if not isinstance(t, str)), None)
        if bad is not None:
            raise ValueError(f"{name} must hold strings only, got {type(bad).__name__} {bad!r}")
    if len(predictions) != len(references):
        raise ValueError(f"predictions and references must have the same length, "
                         f"got {len(predictions)} and {len(references)}")
    check_nonempty(len(predictions), what)


def _normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", text.lower()).strip(_EDGE_CHARS)


def exact_match(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of predictions equal to their reference after normalising both: lower-case, collapse
    whitespace, and strip whitespace and punctuation at the ends.

    >>> exact_match(["  Paris.", "the  Cat"], ["paris", "the cat sat"])
    0.5
    """
    _check_texts(predictions, references, "exact_match")
    hits = sum(_normalise(p) == _normalise(r) for p, r in zip(predictions, references, strict=True))
    return hits / len(predictions)


def _lcs_length(a: list[str], b: list[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for tok in a:
        cur = [0] * (len(b) + 1)
        for j, other in enumerate(b, start=1):
            cur[j] = prev[j - 1] + 1 if tok == other else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def _rouge_l_pair(prediction: str, reference: str) -> float:
    pred, ref = prediction.lower().split(), reference.lower().split()
    if not pred and not ref:
        return 1.0
    lcs = _lcs_length(pred, ref) if pred and ref else 0
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2.0 * precision * recall / (precision + recall)


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F1 (beta = 1) over pairs, on lower-cased whitespace tokens, via the longest common
    subsequence. Two empty texts score 1.0; one empty text scores 0.0.

    >>> round(rouge_l(["the cat sat"], ["the cat sat down"]), 6)   # P = 1, R = 3/4
    0.857143
    """
    _check_texts(predictions, references, "rouge_l")
    return sum(_rouge_l_pair(p, r) for p, r in zip(predictions, references, strict=True)) / len(predictions)
