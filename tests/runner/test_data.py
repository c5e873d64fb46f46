"""Tokenised splits: text pairs keep their segment ids on models with segment embeddings, and batches carry them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import torch

from autopeft.runner import TrainingConfig, Worker
from autopeft.runner.data import collate, encode_split
from autopeft.tasks import load_task_data, task_from_file
from autopeft.trial import Fidelity
from benchmarks.reliability import tiny

TRAINING = TrainingConfig(batch_size=8, eval_batch_size=16, max_length=24, curve_fractions=(1.0,))


@pytest.fixture(scope="module")
def bert_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A WordPiece tokenizer over the tiny models' words, which (as BERT's) gives a text pair's second segment
    the segment id 1."""
    from transformers import BertTokenizerFast

    folder = tmp_path_factory.mktemp("bert-tokenizer")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (folder / "vocab.txt").write_text("\n".join(specials + tiny.WORDS) + "\n")
    return BertTokenizerFast(str(folder / "vocab.txt"))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An entailment-like pair task: the label says whether the two texts share their sentiment word."""
    path = tmp_path_factory.mktemp("pairs") / "pairs.csv"
    words = ["good", "bad", "great", "awful"]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["premise", "hypothesis", "label"])
        for i in range(60):
            a, b = words[i % 4], words[(i // 4) % 4]
            writer.writerow([f"the movie was {a}", f"the film was {b}", "same" if a == b else "different"])
    task = task_from_file(path, text_fields=["premise", "hypothesis"], label_field="label")
    return load_task_data(task, seed=0, n_validation=12, n_test=12)


def test_a_text_pair_keeps_its_segment_ids(pairs: Any, bert_tokenizer: Any) -> None:
    examples = pairs.split("train")[:5]
    encoded = encode_split(examples, pairs.task, bert_tokenizer, kind="encoder", max_length=24, target_max_length=4,
                           segments=True)
    expected = bert_tokenizer([e.texts[0] for e in examples], [e.texts[1] for e in examples], truncation=True,
                              max_length=24)["token_type_ids"]
    assert [list(t) for t in encoded.token_types] == expected
    assert all(1 in t and t[0] == 0 for t in encoded.token_types)
    batch = collate(encoded, [0, 3], kind="encoder", pad_id=0)
    assert batch["token_type_ids"].shape == batch["input_ids"].shape
    assert batch["token_type_ids"][0, : len(encoded.token_types[0])].tolist() == list(encoded.token_types[0])
    assert encoded.rows([3]).token_types == (encoded.token_types[3],)
    plain = encode_split(examples, pairs.task, bert_tokenizer, kind="encoder", max_length=24, target_max_length=4)
    assert plain.token_types == () and "token_type_ids" not in collate(plain, [0], kind="encoder", pad_id=0)
    assert plain.input_ids == encoded.input_ids


def test_a_single_text_has_no_segment_ids(sentiment_csv: Path, bert_tokenizer: Any) -> None:
    data = load_task_data(task_from_file(sentiment_csv, text_fields=["text"], label_field="label"), seed=0,
                          n_validation=12, n_test=12)
    encoded = encode_split(data.split("train")[:4], data.task, bert_tokenizer, kind="encoder", max_length=24,
                           target_max_length=4, segments=True)
    assert encoded.token_types == ()


@pytest.mark.parametrize(("kind", "segments"), [("bert", True), ("distilbert", False), ("deberta", False)])
def test_only_models_with_segment_embeddings_get_them(kind: str, segments: bool, tiny_models: dict[str, Path],
                                                      pairs: Any, bert_tokenizer: Any) -> None:
    """BERT learns two segment embeddings; DistilBERT has none and takes no ``token_type_ids``; DeBERTa-v3 has
    ``type_vocab_size`` 0. Trials run on each, prompt tuning too (peft prepends its virtual tokens' segments)."""
    worker = Worker(str(tiny_models[kind]), pairs, TRAINING, tokenizer=bert_tokenizer)
    assert bool(worker.encoded("train").token_types) is segments
    for config in ({"method": "lora", "lora.r": 2, "learning_rate": 1e-2},
                   {"method": "prompt_tuning", "prompt_tuning.num_virtual_tokens": 2}):
        result = worker.run(config, Fidelity(steps=3), seed=1)
        assert result.status == "complete", result.error


def test_segment_ids_reach_the_model(tiny_bert_dir: Path, pairs: Any, bert_tokenizer: Any) -> None:
    """The scored logits are the model's on the pair with its segments, not with every segment 0."""
    worker = Worker(str(tiny_bert_dir), pairs, TRAINING, tokenizer=bert_tokenizer)
    data = worker.encoded("validation")
    model = worker.fresh_model(0).eval()
    scored = worker.evaluate(model, data, worker._context()).scores
    batch = collate(data, range(len(data)), kind="encoder", pad_id=worker.pad_id)
    with torch.no_grad():
        with_segments = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              token_type_ids=batch["token_type_ids"]).logits
        without = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert scored is not None
    torch.testing.assert_close(torch.as_tensor(scored, dtype=torch.float32), with_segments, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(with_segments, without)


def _labelled(tmp_path: Path, labels: tuple[str, str]) -> Any:
    path = tmp_path / "labels.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(20):
            writer.writerow([f"the movie was {'good' if i % 2 else 'bad'}", labels[i % 2]])
    return task_from_file(path, text_fields=["text"], label_field="label")


@pytest.mark.parametrize(("labels", "cut"), [(("terrific", "superb"), 4), (("good movie", "good film"), 1)])
def test_verbalizers_with_the_same_tokens_are_refused(labels: tuple[str, str], cut: int, tiny_t5_dir: Path,
                                                      tmp_path: Path) -> None:
    """Words the tokenizer does not know (both <unk>), or a cut at target_max_length, would give two classes the
    same score in every example; refused before a run, naming both words and the setting."""
    from autopeft.errors import ConfigError
    from autopeft.model.loading import load_tokenizer
    from autopeft.runner.data import verbaliser_ids
    from autopeft.study.context import require_weights

    task = _labelled(tmp_path, labels)
    with pytest.raises(ConfigError, match=r"verbalizers '.+' and '.+' are the same tokens .* target_max_length"):
        verbaliser_ids(task, load_tokenizer(str(tiny_t5_dir)), cut)
    with pytest.raises(ConfigError, match="could not tell those classes apart"):
        require_weights(str(tiny_t5_dir), task, TrainingConfig(target_max_length=cut))
    if cut == 1:
        assert len(verbaliser_ids(task, load_tokenizer(str(tiny_t5_dir)), 4)) == 2  # a longer cut tells them apart
