"""Tokenised splits and batches. A worker tokenises each split once and reuses it for every trial.

Encoders get ``input_ids`` (text, or a text pair) and an integer label, and for a text pair on a model with
learned segment embeddings (BERT, ELECTRA: ``type_vocab_size`` > 1) the tokenizer's ``token_type_ids``, as in
their pre-training and in the usual fine-tuning recipe; seq2seq models get the
task's prompt as input and the label's verbaliser (classification) or the reference text
(generation) as ``labels``. Batches are padded to their longest member, not to ``max_length``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from autopeft.errors import ConfigError
from autopeft.tasks import Example, Task

IGNORE = -100  # label id the loss skips


@dataclass(frozen=True)
class Encoded:
    """One split, tokenised: inputs, integer labels (-1 for generation) and target ids (seq2seq)."""

    input_ids: tuple[tuple[int, ...], ...]
    labels: tuple[int, ...]
    targets: tuple[tuple[int, ...], ...]
    references: tuple[str, ...]
    #: segment ids of text pairs, for a model with segment embeddings; () otherwise
    token_types: tuple[tuple[int, ...], ...] = ()

    def __len__(self) -> int:
        return len(self.input_ids)

    def rows(self, index: Sequence[int]) -> Encoded:
        """The rows ``index`` of every per-row column (an empty column stays empty)."""
        def pick(column: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(column[i] for i in index) if column else column

        return Encoded(pick(self.input_ids), pick(self.labels), pick(self.targets), pick(self.references),
                       pick(self.token_types))


def _tokenize(tokenizer: Any, texts: Sequence[str], max_length: int, pairs: Sequence[str] | None = None) -> Any:
    return tokenizer(list(texts), list(pairs) if pairs is not None else None, truncation=True, max_length=max_length)


def _ids(tokenizer: Any, texts: Sequence[str], max_length: int, pairs: Sequence[str] | None = None) -> list[list[int]]:
    return [list(x) for x in _tokenize(tokenizer, texts, max_length, pairs)["input_ids"]]


def encode_split(examples: Sequence[Example], task: Task, tokenizer: Any, *, kind: str, max_length: int,
                 target_max_length: int, segments: bool = False) -> Encoded:
    """Tokenise ``examples`` for a model of ``kind`` (``"encoder"`` or ``"seq2seq"``); ``segments``: keep the
    tokenizer's ``token_type_ids`` of text pairs (a model with segment embeddings)."""
    labels = tuple(ex.label for ex in examples)
    references = tuple(ex.target for ex in examples)
    if kind == "encoder":
        inputs = [task.encoder_inputs(ex) for ex in examples]
        firsts = [t[0] for t in inputs]
        seconds = [t[1] for t in inputs] if inputs and len(inputs[0]) > 1 else None
        out = _tokenize(tokenizer, firsts, max_length, seconds)
        types = out.get("token_type_ids") if segments and seconds is not None else None
        return Encoded(tuple(map(tuple, out["input_ids"])), labels, (), references,
                       tuple(map(tuple, types)) if types is not None else ())
    ids = _ids(tokenizer, [task.prompt(ex) for ex in examples], max_length)
    targets = _ids(tokenizer, list(references), target_max_length)
    return Encoded(tuple(map(tuple, ids)), labels, tuple(map(tuple, targets)), references)


def verbaliser_ids(task: Task, tokenizer: Any, target_max_length: int) -> list[list[int]]:
    """Token ids of each class's verbaliser, for rank classification; a ConfigError when two classes' ids are
    the same (words the tokenizer does not know, or a cut at ``target_max_length``): rank classification could
    not tell them apart, and every example would go to the first of them."""
    ids = _ids(tokenizer, list(task.verbalizers), target_max_length)
    seen: dict[tuple[int, ...], str] = {}
    for word, row in zip(task.verbalizers, ids, strict=True):
        if tuple(row) in seen:
            raise ConfigError(
                f"task {task.name!r}: verbalizers {seen[tuple(row)]!r} and {word!r} are the same tokens {row} to "
                f"this model's tokenizer (cut at training.target_max_length {target_max_length}), so it could not "
                "tell those classes apart; allowed: verbalizers whose tokens differ (the task's verbalizers, or a "
                "larger target_max_length)")
        seen[tuple(row)] = word
    return ids


def pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max((len(r) for r in rows), default=0)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def collate(data: Encoded, index: Sequence[int], *, kind: str, pad_id: int) -> dict[str, torch.Tensor]:
    """A padded batch of the rows ``index``: the keyword arguments of the model's forward."""
    ids = [data.input_ids[i] for i in index]
    input_ids = pad(ids, pad_id)
    # mask by length, not by comparing with the pad id: a real token may share it
    mask = torch.zeros_like(input_ids)
    for row, seq in enumerate(ids):
        mask[row, : len(seq)] = 1
    batch = {"input_ids": input_ids, "attention_mask": mask}
    if data.token_types:
        batch["token_type_ids"] = pad([data.token_types[i] for i in index], 0)
    if kind == "encoder":
        batch["labels"] = torch.tensor([data.labels[i] for i in index], dtype=torch.long)
    else:
        batch["labels"] = pad([data.targets[i] for i in index], IGNORE)
    return batch


def train_batches(n: int, batch_size: int, steps: int, seed: int) -> Iterator[list[int]]:
    """``steps`` batches of row indices: reshuffled every epoch by a generator seeded with ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    per_epoch = max(1, math.ceil(n / batch_size))
    done = 0
    while done < steps:
        order = torch.randperm(n, generator=gen).tolist()
        for b in range(per_epoch):
            if done == steps:
                return
            yield order[b * batch_size: (b + 1) * batch_size]
            done += 1
