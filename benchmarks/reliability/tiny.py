"""A tiny BERT, a small sentiment CSV and a tiny recipe for the reliability checks (built in seconds, offline).

The test fixtures are built from these too (``tests/conftest.py`` ``tiny_bert_dir`` / ``sentiment_csv`` and
``tests/study/conftest.py`` ``write_recipe``); here they write to a given folder, so a benchmark script can use
them outside pytest.
"""

from __future__ import annotations

import csv
import os
import random
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

WORDS = ["good", "bad", "fine", "great", "awful", "okay", "movie", "film", "plot", "actor", "sad", "happy",
         "news", "sport", "tech", "the", "a", "is", "was", "positive", "negative", "neutral", "yes", "no"]
SPECIALS = ["<pad>", "</s>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["good", "great", "fine", "happy"]
NEGATIVE = ["bad", "awful", "sad"]
FILLER = ["the", "movie", "film", "plot", "actor", "was", "is", "a"]

SPACE = """\
name: tiny-layers
references: [peft_default_lora, later_layers_only]
dimensions:
  - {name: method, type: categorical, choices: [lora, ia3, head_only]}
  - name: lora.ranks
    type: per_layer
    layers: encoder
    choices: [0, 2, 4]
    default: 2
    when: {method: lora}
  - {name: lora.modules, type: categorical, choices: [qv, attention], when: {method: lora}}
  - {name: ia3.learning_rate, type: float, low: 1.0e-3, high: 3.0e-2, log: true, when: {method: ia3}}
"""

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def make_tokenizer() -> Any:
    """A word-level tokenizer over :data:`WORDS` (the tiny models' vocabulary)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def tiny_bert(path: Path, *, pooler: bool = True) -> Path:
    """A headless 3-block BERT (like MiniLM's checkpoint: loading it as a classifier adds a fresh head) with the
    30-word tokenizer; ``pooler=False`` saves it without its pooler, as some sentence-embedding exports are."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = make_tokenizer()
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, pad_token_id=0)
    torch.manual_seed(0)
    path.mkdir(parents=True, exist_ok=True)
    BertModel(config, add_pooling_layer=pooler).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def tiny_encoder(path: Path, model_type: str) -> Path:
    """A headless 3-block encoder of another family (``distilbert`` or ``deberta-v2``, DeBERTa-v3's type) with
    the 30-word tokenizer, shaped like :func:`tiny_bert`."""
    import torch
    from transformers import AutoConfig, AutoModel

    tokenizer = make_tokenizer()
    shapes: dict[str, dict[str, Any]] = {
        "distilbert": {"dim": 16, "hidden_dim": 32, "n_layers": 3, "n_heads": 2},
        "deberta-v2": {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 3, "num_attention_heads": 2,
                       "relative_attention": True, "position_biased_input": False, "pos_att_type": ["p2c", "c2p"]},
    }
    config = AutoConfig.for_model(model_type, vocab_size=len(tokenizer), max_position_embeddings=64, pad_token_id=0,
                                  **shapes[model_type])
    torch.manual_seed(0)
    path.mkdir(parents=True, exist_ok=True)
    AutoModel.from_config(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def sentiment_csv(path: Path, n: int = 120) -> Path:
    """``n`` short reviews; the label is the polarity of the one sentiment word in each."""
    rng = random.Random(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(n):
            label = ["negative", "positive"][i % 2]
            word = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
            words = [*rng.sample(FILLER, 3), word]
            rng.shuffle(words)
            writer.writerow([" ".join(words), label])
    return path


def tiny_recipe(folder: Path, model: Path, data: Path, *, steps: int = 4, budget: int = 6,
                name: str = "tiny", file: str | None = None, lr_factors: Sequence[float] | None = None) -> Path:
    """A recipe (and its space) in ``folder``: random controller, two references, ``budget`` trials; written to
    ``file`` (default ``NAME.yaml``); ``lr_factors`` sets ``search.reference_lr_factors``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "space.yaml").write_text(SPACE)
    path = folder / (file or f"{name}.yaml")
    factors = "" if lr_factors is None else f"reference_lr_factors: {list(lr_factors)}, "
    path.write_text(textwrap.dedent(f"""\
        name: {name}
        model: {model}
        task: {{file: {data}, text_fields: [text], label_field: label}}
        space: space.yaml
        data: {{seed: 0, n_validation: 16, n_test: 16}}
        fidelity: {{steps: {steps}}}
        training: {{batch_size: 8, eval_batch_size: 16, max_length: 16, curve_fractions: [1.0]}}
        search: {{budget: {budget}, controller: random, {factors}final_fidelity: {{steps: 6}}, final_seeds: 2}}
        """))
    return path


def setup(folder: Path, *, steps: int = 4, budget: int = 6) -> tuple[Path, Path, Path]:
    """Model, data and recipe under ``folder``: (recipe, model, data)."""
    model = tiny_bert(folder / "tiny-bert")
    data = sentiment_csv(folder / "data" / "reviews.csv")
    return tiny_recipe(folder, model, data, steps=steps, budget=budget), model, data
