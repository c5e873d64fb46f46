"""Fixtures: tiny T5 and tiny BERT checkpoints built from configs in seconds, with a tiny tokenizer.

Nothing is downloaded: HF_HUB_OFFLINE is set for the whole session, so a test that would reach
for the Hub fails fast instead of hanging.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks.reliability import tiny

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: test modules that take the longest (tens of seconds to minutes: real training, process starts, replays),
#: longest first. They start first, so that the workers pytest-xdist runs (``-n`` in pyproject.toml) end
#: together instead of one of them finishing a long module alone. Only the order depends on this list.
LONG_MODULES = (
    "tests/study/test_search.py",
    "tests/runner/test_real_signal.py",
    "tests/test_readme.py",
    "tests/bench/test_warm_std.py",
    "tests/study/test_nni_engine.py",
    "tests/bench/test_warm_start.py",
    "tests/controllers/test_controllers.py",
    "tests/controllers/test_optuna_samplers.py",
    "tests/bench/test_search_efficiency.py",
    "tests/controllers/test_transfer.py",
    "tests/study/test_engines.py",
    "tests/bench/test_gpu_script.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker gets its share of the cores: torch's default (every core in each worker)
    makes the workers fight over them. The share also reaches the processes the tests start."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        threads = str(max(1, len(os.sched_getaffinity(0)) // int(workers)))
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[name] = threads
        import torch

        torch.set_num_threads(int(threads))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long modules first (see ``LONG_MODULES``); every module's tests stay together and in their order."""
    rank = {name: i for i, name in enumerate(LONG_MODULES)}

    def key(item: pytest.Item) -> int:
        path = Path(str(item.path)).relative_to(config.rootpath).as_posix()
        return rank.get(path, len(LONG_MODULES))

    items.sort(key=key)


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A T5 with 3 encoder and 2 decoder blocks (unequal, to catch shared block indices)."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    path = tmp_path_factory.mktemp("tiny-t5")
    tokenizer = tiny.make_tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer), d_model=16, d_ff=32, d_kv=8, num_heads=2, num_layers=3,
        num_decoder_layers=2, feed_forward_proj="gated-gelu", decoder_start_token_id=0,
        pad_token_id=0, eos_token_id=1, relative_attention_num_buckets=8,
    )
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A headless BERT (like MiniLM's checkpoint): loading it as a classifier adds a fresh head."""
    return tiny.tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_bert_nopool_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same BERT saved without its pooler: a classifier loaded from it has a fresh pooler besides its head."""
    return tiny.tiny_bert(tmp_path_factory.mktemp("tiny-bert-nopool"), pooler=False)


@pytest.fixture(scope="session")
def tiny_distilbert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.tiny_encoder(tmp_path_factory.mktemp("tiny-distilbert"), "distilbert")


@pytest.fixture(scope="session")
def tiny_deberta_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DeBERTa-v3's architecture (model type ``deberta-v2``, relative attention, no absolute positions)."""
    return tiny.tiny_encoder(tmp_path_factory.mktemp("tiny-deberta"), "deberta-v2")


#: the encoder families tests run on, besides T5: their keys in ``tiny_models``
ENCODERS = ("bert", "distilbert", "deberta")


@pytest.fixture(scope="session")
def tiny_models(tiny_t5_dir: Path, tiny_bert_dir: Path, tiny_distilbert_dir: Path,
                tiny_deberta_dir: Path, tiny_bert_nopool_dir: Path) -> dict[str, Path]:
    """The tiny models by kind; ``bert-nopool`` (a checkpoint without the pooler) is not in ``ENCODERS``: the
    method tests run on it, as the case of a checkpoint that lacks more than the head."""
    return {"t5": tiny_t5_dir, "bert": tiny_bert_dir, "distilbert": tiny_distilbert_dir, "deberta": tiny_deberta_dir,
            "bert-nopool": tiny_bert_nopool_dir}


def make_batch(kind: str, tokenizer: Any) -> dict[str, Any]:
    """A fixed batch of 4 examples for a seq2seq (``t5``) or classifier (``bert``) model."""
    import torch

    texts = ["the movie was good", "the plot is bad", "a fine actor", "the news was sad"]
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    if kind == "t5":
        labels = tokenizer(["positive", "negative", "neutral", "negative"], return_tensors="pt")["input_ids"]
        batch["labels"] = labels
    else:
        batch["labels"] = torch.tensor([0, 1, 2, 1])
    return batch


def train_steps(model: Any, batch: dict[str, Any], lr: float, steps: int = 3) -> list[float]:
    """A bare AdamW loop (the runner arrives with the runner issue); returns the loss per step."""
    import torch

    torch.manual_seed(0)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


@pytest.fixture(scope="session")
def batch_for() -> Callable[[str, Any], dict[str, Any]]:
    return make_batch


@pytest.fixture(scope="session")
def trainer() -> Callable[..., list[float]]:
    return train_steps


@pytest.fixture(scope="session")
def sentiment_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 short reviews: the label is the polarity of the one sentiment word in each."""
    return tiny.sentiment_csv(tmp_path_factory.mktemp("data") / "reviews.csv")


@pytest.fixture(scope="session")
def generation_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "gen.jsonl"
    rng = random.Random(1)
    with path.open("w") as f:
        for _ in range(40):
            word = rng.choice(tiny.POSITIVE + tiny.NEGATIVE)
            f.write(json.dumps({"source": f"the movie was {word}", "target": word}) + "\n")
    return path
