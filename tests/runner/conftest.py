"""Small local task files for the runner tests (words from the tiny tokenizer's vocabulary)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

POSITIVE = ["good", "great", "fine", "happy"]
NEGATIVE = ["bad", "awful", "sad"]
FILLER = ["the", "movie", "film", "plot", "actor", "was", "is", "a"]


@pytest.fixture(scope="session")
def sentiment_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 short reviews: the label is the polarity of the one sentiment word in each."""
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(120):
            label = ["negative", "positive"][i % 2]
            word = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
            words = [*rng.sample(FILLER, 3), word]
            rng.shuffle(words)
            writer.writerow([" ".join(words), label])
    return path


@pytest.fixture(scope="session")
def generation_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "gen.jsonl"
    rng = random.Random(1)
    with path.open("w") as f:
        for _ in range(40):
            word = rng.choice(POSITIVE + NEGATIVE)
            f.write(json.dumps({"source": f"the movie was {word}", "target": word}) + "\n")
    return path
