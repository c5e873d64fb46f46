"""What a checkpoint holds: which of a model's modules start from random weights when it is loaded.

A classifier loaded from a base checkpoint gets new modules that the checkpoint lacks. The architecture table
names the usual ones (``classifier``; DistilBERT's ``pre_classifier``; DeBERTa's ``pooler.dense``), but a
checkpoint can lack more: a BERT saved without its pooler (``BertModel(add_pooling_layer=False)``, as some
sentence-embedding exports are) leaves ``bert.pooler.dense`` random. A module like that, left frozen, is random
in every trial, and an exported adapter without it reloads with other random weights, so its outputs are not
the trained model's. The graph therefore treats every such module as part of the task head: trained by every
method, re-initialised from the trial's seed, and saved with the adapter.

:func:`checkpoint_keys` reads the tensor names from the checkpoint's files alone (safetensors headers, shard
indexes, or a ``.bin`` state dict mapped onto the ``meta`` device), so a weight-free skeleton learns the same
answer as a real load; :func:`absent_modules` compares them with a model's parameters, and :func:`new_modules`
keeps those that can be head. A module inside a block, or an embedding, cannot: a checkpoint that lacks one is
refused, with the modules it lacks, before a run is written. :func:`check_loaded` then holds a real load's own
report of missing weights to the same answer.

>>> import torch
>>> from transformers import BertConfig, BertForSequenceClassification
>>> config = BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
...                     intermediate_size=16)
>>> model = BertForSequenceClassification(config)
>>> keys = {k for k in model.state_dict() if not k.startswith(("bert.pooler", "classifier"))}
>>> absent_modules(model, keys, exclude=("classifier",))
('bert.pooler.dense',)
>>> absent_modules(model, {k.removeprefix("bert.") for k in keys}, exclude=("classifier",))  # a base checkpoint
('bert.pooler.dense',)
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from autopeft.errors import ModelLoadError
from autopeft.model.architectures import Architecture, architecture_for

__all__ = ["NEW_MODULES", "absent_modules", "check_loaded", "checkpoint_keys", "missing_modules", "new_modules"]

#: The attribute :func:`autopeft.model.loading.load_model` and ``skeleton`` set on a model they load: the modules
#: outside the architecture's blocks that its checkpoint lacks beyond the architecture's own head;
#: :class:`~autopeft.model.graph.ModelGraph` makes them part of the task head.
NEW_MODULES = "autopeft_new_modules"

_SAFETENSORS, _SAFETENSORS_INDEX = "model.safetensors", "model.safetensors.index.json"
_BIN, _BIN_INDEX = "pytorch_model.bin", "pytorch_model.bin.index.json"
#: the old TensorFlow-era names of a norm's weight and bias that transformers still reads (bert-base-uncased)
_LEGACY = {"weight": "gamma", "bias": "beta"}


def checkpoint_keys(source: str, *, local_only: bool = True, remote: bool = False) -> frozenset[str] | None:
    """The tensor names in the checkpoint of ``source`` (a folder or a Hub id), read without loading a tensor;
    ``None`` when no checkpoint file can be found (a skeleton built from a published shape). With ``remote``, a
    Hub id whose files are not here is asked for its safetensors headers alone (no weights are downloaded), so
    a skeleton made before the first download knows what the load will find."""
    for name in (_SAFETENSORS_INDEX, _SAFETENSORS, _BIN_INDEX, _BIN):  # transformers' own order of preference
        path = _file(source, name, local_only)
        if path is not None:
            return _read_keys(path, name)
    if remote:
        from huggingface_hub import get_safetensors_metadata

        try:
            return frozenset(get_safetensors_metadata(source).weight_map)
        except Exception:  # no safetensors there, a private repo, a timeout: nothing known, as without remote
            return None
    return None


def _read_keys(path: str, name: str) -> frozenset[str]:
    if name.endswith(".json"):
        with open(path, encoding="utf-8") as handle:
            return frozenset(json.load(handle).get("weight_map", {}))
    if name == _SAFETENSORS:
        from safetensors import safe_open

        with safe_open(path, "pt") as handle:
            return frozenset(handle.keys())
    import torch

    return frozenset(torch.load(path, map_location="meta", weights_only=True, mmap=True))


def _file(source: str, name: str, local_only: bool) -> str | None:
    from transformers.utils.hub import cached_file

    try:
        found = cached_file(source, name, local_files_only=local_only, _raise_exceptions_for_missing_entries=False,
                            _raise_exceptions_for_connection_errors=False)
    except (OSError, ValueError):  # a Hub id that is not cached, a malformed id
        return None
    return str(found) if found else None


def absent_modules(model: Any, keys: Collection[str], *, exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """Modules of ``model`` with parameters of their own, none of which ``keys`` holds (in model order),
    leaving out ``exclude`` and what lies inside them.

    A parameter counts as held under any name it has in the model (a tied one has several), with or without
    the model's ``base_model_prefix`` (a base checkpoint lacks it), and under its legacy norm name
    (``gamma``/``beta``).
    """
    prefix = str(getattr(model, "base_model_prefix", "") or "")
    names: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(name)

    def held(name: str) -> bool:
        stem, _, leaf = name.rpartition(".")
        variants = {name, f"{stem}.{_LEGACY[leaf]}"} if leaf in _LEGACY and stem else {name}
        if prefix:
            variants |= {v.removeprefix(f"{prefix}.") for v in variants} | {f"{prefix}.{v}" for v in variants}
        return any(v in keys for v in variants)

    skip = tuple(exclude)
    out: list[str] = []
    for path, module in model.named_modules():
        if any(path == e or path.startswith(f"{e}.") for e in skip):
            continue
        own = [p for _, p in module.named_parameters(recurse=False)]
        if own and not any(held(n) for p in own for n in names[id(p)]):
            out.append(path)
    return tuple(out)


def missing_modules(missing_keys: Iterable[str]) -> tuple[str, ...]:
    """The modules of the parameter names that a load reported missing (``output_loading_info``), sorted."""
    return tuple(sorted({key.rpartition(".")[0] for key in missing_keys if "." in key}))


def new_modules(model: Any, keys: Collection[str], *, name: str, source: str) -> tuple[str, ...]:
    """The modules of ``model`` that ``keys`` (its checkpoint's) lack beyond its architecture's head; a
    ModelLoadError naming them if any lies inside a block or is an embedding, which cannot be head."""
    arch = _architecture(model)
    absent = absent_modules(model, keys, exclude=arch.head_modules)
    embeddings = {path for path, module in model.named_modules() if _is_embedding(module)}
    refused = [m for m in absent if arch.block.match(m) is not None or m in embeddings]
    if refused:
        raise ModelLoadError(_lacks(name, source, refused))
    return absent


def check_loaded(model: Any, missing_keys: Iterable[str], new: Iterable[str], *, name: str, source: str,
                 mismatched: Iterable[str] = ()) -> None:
    """A ModelLoadError unless the weights a real load reported missing are exactly those of the architecture's
    head and ``new`` (what :func:`new_modules` read from the files), and those of another shape in the checkpoint
    (a fine-tuned classifier's head for another number of classes) are the head's."""
    new = tuple(new)
    head = (*_architecture(model).head_modules, *new)

    def outside(modules: Iterable[str]) -> list[str]:
        return [m for m in modules if not any(m == h or m.startswith(f"{h}.") for h in head)]

    lacking = outside(missing := missing_modules(missing_keys))
    if lacking:
        raise ModelLoadError(_lacks(name, source, lacking))
    reshaped = outside(missing_modules(mismatched))
    if reshaped:
        raise ModelLoadError(f"model {name!r}: checkpoint {source} holds weights of {_some(reshaped)} whose shape "
                             "is not the one its config gives; allowed: a checkpoint whose config.json is its own")
    misread = [m for m in new if m not in missing]
    if misread:
        raise ModelLoadError(f"model {name!r}: checkpoint {source} names its weights so that autopeft cannot tell "
                             f"whether it holds {_some(misread)}; allowed: a checkpoint saved by transformers")


def _lacks(name: str, source: str, modules: Iterable[str]) -> str:
    return (f"model {name!r}: checkpoint {source} lacks the weights of {_some(list(modules))}, which would start "
            "random and stay frozen in every trial; allowed: a checkpoint with the weights of every layer and "
            "embedding (only the task head and modules outside the layers, such as a pooler, may be missing: "
            "they are trained and saved with the adapter)")


def _some(modules: list[str], shown: int = 4) -> str:
    """The first ``shown`` names and how many more (an encoder-only T5 checkpoint lacks a whole decoder)."""
    more = f" and {len(modules) - shown} more" if len(modules) > shown else ""
    return ", ".join(modules[:shown]) + more


def _architecture(model: Any) -> Architecture:
    model_type = str(getattr(getattr(model, "config", None), "model_type", ""))
    arch = architecture_for(model_type)
    if arch is None:
        raise ModelLoadError(f"unsupported model type {model_type!r}")
    return arch


def _is_embedding(module: Any) -> bool:
    import torch

    return isinstance(module, torch.nn.Embedding)
