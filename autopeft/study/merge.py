"""``autopeft export --merge``: an exported adapter folded into its base model's weights.

peft's ``merge_and_unload`` adds each adapter's update to the weights it adapts (LoRA's ``B @ A``, IA3's
scales, BEFT's and BitFit's biases, LN tuning's norms) and drops the adapter modules; the head that the adapter
saved (``modules_to_save``) replaces the fresh one (unwrapped here where peft's LN tuning leaves it wrapped). The
folder then holds a plain ``transformers`` model of the base model's architecture, which loads without peft.
Prompt and prefix tuning add virtual tokens, which are inputs, not weights; BEFT on T5 adds biases where the
linear layers have none; ``head_only`` and ``full`` exports are whole models already.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autopeft.errors import ExportError
from autopeft.methods import get_method, method_names
from autopeft.methods.base import quiet_peft
from autopeft.model.loading import load_model, quiet_transformers
from autopeft.study.base_model import manifest_base
from autopeft.study.export import name_labels, read_manifest, write_card, write_manifest

__all__ = ["check_mergeable", "merge_export"]

#: what ``save_pretrained`` of a peft adapter writes, removed once the adapter is merged
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")


def check_mergeable(method: str, model_kind: str | None) -> None:
    """Refuse ``--merge`` for an adapter that is not weights of this kind of model (``encoder``, ``seq2seq``),
    before anything is trained or written."""
    problem = get_method(method).merge_problem(model_kind)
    if problem:
        allowed = ", ".join(name for name in method_names() if not get_method(name).merge_problem(model_kind))
        raise ExportError(f"--merge: method {method!r} {problem}, so it cannot be merged; allowed: {allowed} "
                          "(or export without --merge)")


def merge_export(folder: str | Path, *, pick: str | None = None) -> Path:
    """Merge the adapter in ``folder`` (an autopeft export) into its base model, in place; returns the folder.
    The base is loaded as the manifest names it; a whole-model export is left as it is. ``pick``: the ``--pick``
    it was exported with, for the card's commands."""
    out = Path(folder)
    manifest = read_manifest(out)
    check_mergeable(str(manifest.get("method")), manifest.get("model_kind"))
    if not manifest.get("peft_adapter"):
        return out
    from peft import PeftModel

    base = load_model(manifest_base(manifest), num_labels=manifest.get("num_labels"))
    if manifest.get("labels") and manifest.get("model_kind") == "encoder":
        name_labels(base.config, manifest["labels"])
    with quiet_peft():
        merged = _unwrap_saved_modules(PeftModel.from_pretrained(base, str(out)).merge_and_unload())
    for name in ADAPTER_FILES:
        (out / name).unlink(missing_ok=True)
    with quiet_transformers():
        merged.save_pretrained(str(out))
    manifest.update(peft_adapter=False, merged=True)
    write_manifest(out, manifest)
    write_card(out, pick=pick)
    return out


def _unwrap_saved_modules(model: Any) -> Any:
    """Put each ``modules_to_save`` wrapper's trained copy in its place (peft's LN tuning unloads without it)."""
    from peft.utils import ModulesToSaveWrapper

    for name, module in list(model.named_modules()):
        if isinstance(module, ModulesToSaveWrapper):
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child,
                    module.modules_to_save[module.active_adapters[0]])
    return model
