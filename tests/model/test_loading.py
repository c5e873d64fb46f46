"""Model loading: aliases, offline errors, weight-free skeletons with the published FLAN-T5 shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopeft.errors import ModelLoadError
from autopeft.model.graph import ModelGraph
from autopeft.model.loading import load_model, load_tokenizer, model_kind, resolve, skeleton


@pytest.mark.parametrize(("name", "params", "blocks"), [
    ("flan-t5-small", 76_961_152, 8),
    ("flan-t5-base", 247_577_856, 12),
    ("flan-t5-large", 783_150_080, 24),
])
def test_flan_t5_skeletons_have_the_published_sizes(name: str, params: int, blocks: int) -> None:
    model = skeleton(name)
    assert sum(p.numel() for p in model.parameters()) == params
    assert next(model.parameters()).device.type == "meta"
    assert ModelGraph.from_model(model).layout == {"encoder": blocks, "decoder": blocks}


def test_minilm_alias_loads_the_offline_checkpoint() -> None:
    model = load_model("minilm", num_labels=3)
    assert model.config.model_type == "bert" and model.config.num_labels == 3
    assert sum(p.numel() for p in model.parameters()) == 22_713_216 + 384 * 3 + 3
    assert load_tokenizer("minilm")("hello world")["input_ids"][0] == 101


def test_hub_id_offline_says_how_to_use_a_local_folder() -> None:
    with pytest.raises(ModelLoadError) as err:
        load_model("flan-t5-small")
    message = str(err.value)
    assert "google/flan-t5-small" in message and "Hub is unreachable" in message and "--local-dir" in message


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(str(tmp_path / "nothing-here"))


def test_a_file_is_not_a_model(tmp_path: Path) -> None:
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n")
    with pytest.raises(ModelLoadError, match=r"model '.*reviews\.csv' is a file; allowed: a model's folder"):
        load_model(str(data))


def test_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_model(str(tmp_path))


def test_empty_name() -> None:
    with pytest.raises(ModelLoadError, match="empty"):
        resolve("  ")


def test_unsupported_model_type(tmp_path: Path) -> None:
    from transformers import GPT2Config

    GPT2Config(n_layer=1, n_embd=8, n_head=2).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match=r"unsupported model type 'gpt2'.*autopeft/model/architectures.py"):
        skeleton(str(tmp_path))


def test_local_tiny_models_load(tiny_models: dict[str, Path]) -> None:
    t5, bert = load_model(str(tiny_models["t5"])), load_model(str(tiny_models["bert"]), num_labels=4)
    assert model_kind(t5.config) == "seq2seq" and model_kind(bert.config) == "encoder"
    assert bert.classifier.out_features == 4


def test_a_tokenizer_shipped_only_as_a_sentencepiece_model_loads(tiny_deberta_dir: Path, tmp_path: Path) -> None:
    """DeBERTa-v3's checkpoints ship their tokenizer as ``spm.model`` alone; transformers converts it with the
    sentencepiece and protobuf packages, which are therefore dependencies."""
    import json
    import shutil

    import sentencepiece
    import torch

    folder = tmp_path / "deberta-spm"
    shutil.copytree(tiny_deberta_dir, folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["the movie was good", "the film was bad", "a great plot and fine acting"] * 30))
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / "spm"), vocab_size=27, model_type="unigram", pad_id=0, unk_id=3,
        bos_id=1, eos_id=2, pad_piece="[PAD]", unk_piece="[UNK]", bos_piece="[CLS]", eos_piece="[SEP]",
        user_defined_symbols=["[MASK]"], minloglevel=2)
    (folder / "spm.vocab").unlink()
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "DebertaV2Tokenizer"}))
    tokenizer = load_tokenizer(str(folder))
    ids = tokenizer(["the movie was good", "bad"], padding=True, return_tensors="pt")
    assert ids["input_ids"][0, 0].item() == tokenizer.cls_token_id == 1 and tokenizer.pad_token_id == 0
    model = load_model(str(folder), num_labels=2)
    with torch.no_grad():
        assert model(**ids).logits.shape == (2, 2)


def test_a_folder_that_keeps_the_model_in_a_sub_folder_names_it(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """sentence-transformers' folders keep the transformer in ``0_Transformer``; the error names that folder."""
    import shutil

    shutil.copytree(tiny_bert_dir, tmp_path / "st" / "0_Transformer")
    (tmp_path / "st" / "modules.json").write_text("[]")
    for load in (load_model, skeleton):
        with pytest.raises(ModelLoadError, match=r"has no config.json of its own; allowed: .*0_Transformer"):
            load(str(tmp_path / "st"))


def test_a_folder_without_tokenizer_files_is_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """transformers builds a tokenizer from a config alone, knowing only its special tokens: every word would be
    [UNK], and a search would run at chance without a word said."""
    import shutil

    (tmp_path / "weights-only").mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_bert_dir / name, tmp_path / "weights-only" / name)
    with pytest.raises(ModelLoadError, match=r"holds no tokenizer files .* would read every word as '\[UNK\]'"):
        load_tokenizer(str(tmp_path / "weights-only"))
    assert len(load_tokenizer(str(tiny_bert_dir))) > 10


def test_another_models_tokenizer_with_more_tokens_is_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "mixed"
    shutil.copytree(tiny_bert_dir, folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).unlink()
    load_tokenizer("minilm").save_pretrained(folder)  # 30,522 tokens; the tiny BERT embeds 36
    embeds = load_model(str(folder), num_labels=2).get_input_embeddings().num_embeddings
    with pytest.raises(ModelLoadError, match=f"its tokenizer has 30,522 tokens but the model embeds {embeds} "):
        load_tokenizer(str(folder), vocab_size=embeds)
    assert len(load_tokenizer(str(folder))) == 30_522  # without the model's size there is nothing to hold it to
