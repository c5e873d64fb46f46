"""``autopeft predict``: an exported folder's model run on new rows, with its inputs made as in training.

An export records how its trials made the model's inputs (``inputs`` in ``autopeft.json``, written by
:func:`autopeft.study.export.input_record`): the text fields in order, a seq2seq model's prompt template, the
token limits and whether an encoder's text pairs had segment ids. A user loading the folder by hand has to
redo all of that, and a T5 model fed the bare text instead of its prompt answers worse without any error.
:func:`predict` redoes it from the record: it loads the folder (an adapter on its base model, or a whole
model), tokenizes the file's rows as the runner did, scores them with the runner's evaluator (an encoder's
logits; a seq2seq model's rank classification over the class words; generated text) and gives each row's
class with its probabilities, after the temperature fitted on validation unless ``calibrated=False``.
A file that has the label column is scored too, with the same metrics as a trial.

>>> result = predict("adapters/knee", "new.csv")              # doctest: +SKIP
>>> write_predictions(result, "predictions.csv")              # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from autopeft.errors import AutopeftError, ExportError
from autopeft.tasks import Example, Task
from autopeft.tasks.sources import Source, read_source

__all__ = ["Predictions", "check_out", "load_export", "predict", "write_predictions", "write_rows"]

#: what ``write_predictions`` writes, by the output file's extension
FORMATS = (".csv", ".jsonl")


@dataclass(frozen=True)
class Predictions:
    """One row per row of the file, in order (``row`` counts from 1): the predicted class (``prediction``), its
    probability (``confidence``) and each class's (``p_<class>``), and the file's label where it has one; for
    generation the generated text. A row with an empty text has an empty prediction. ``metrics``: the scores on
    the rows with a label (``None`` when there are none), as a trial's."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    metrics: dict[str, float] | None = None
    labelled: int = 0
    empty: int = 0
    temperature: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def load_export(folder: str | Path, *, base_model: str | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """The model (eval mode), its tokenizer and the manifest of an autopeft export. An adapter is loaded on the
    base model the manifest names, or on ``base_model`` (the same model found elsewhere); a whole-model folder
    (``head_only``, ``full``, merged) alone. The tokenizer is the folder's own when it holds one, else the
    base model's."""
    from autopeft.model.loading import load_model, load_tokenizer
    from autopeft.study.base_model import manifest_base
    from autopeft.study.export import read_manifest

    path = Path(folder)
    manifest = read_manifest(path)
    kind = manifest.get("model_kind")
    if kind not in ("encoder", "seq2seq"):
        raise ExportError(f"{str(path)!r}: autopeft.json names no model kind it can run ({kind!r}); allowed: an "
                          "export of an encoder or a seq2seq model")
    base = base_model or manifest_base(manifest)
    try:
        under = load_model(base, num_labels=manifest.get("num_labels")) if manifest.get("peft_adapter") else None
        own = (path / "tokenizer_config.json").is_file() or (path / "tokenizer.json").is_file()
        tokenizer = load_tokenizer(str(path) if own else base)
    except AutopeftError as exc:
        hint = "" if base_model else "; allowed: --base-model PATH_OR_ID naming the same base model where it is now"
        raise ExportError(f"{str(path)!r}: cannot load its model: {exc}{hint}") from None
    try:
        model = _adapter(under, path) if under is not None else _whole_model(path, kind)
    except Exception as exc:  # a damaged weights file: safetensors, torch and peft each raise their own kind
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{str(path)!r}: cannot read its weights ({type(exc).__name__}: {first}); allowed: the "
                          "folder as `autopeft export` wrote it") from None
    return model.eval(), tokenizer, manifest


def _adapter(base: Any, path: Path) -> Any:
    """The export's peft adapter on ``base``."""
    from peft import PeftModel

    from autopeft.methods.base import quiet_peft

    with quiet_peft():
        return PeftModel.from_pretrained(base, str(path))


def _whole_model(path: Path, kind: str) -> Any:
    """A whole-model export (``head_only``, ``full``, merged), as the transformers class of its kind loads it."""
    from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification

    from autopeft.model.loading import quiet_transformers

    auto = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForSequenceClassification
    with quiet_transformers():
        return auto.from_pretrained(str(path), local_files_only=True)


def export_task(manifest: Mapping[str, Any], folder: Path, data: Path) -> Task:
    """The task the export was trained on, rebuilt from its manifest over ``data``; an ExportError for an export
    that did not record its inputs (made before they were recorded, or by ``autopeft build``)."""
    inputs = manifest.get("inputs")
    if not isinstance(inputs, Mapping):
        raise ExportError(f"{str(folder)!r} does not record how its model's inputs were made (autopeft.json has no "
                          "'inputs': exported before autopeft recorded them, or built without a task); allowed: "
                          "a folder `autopeft export RUN --pick ... --out DIR` writes now")
    return Task(name=str(inputs["task"]), kind=str(inputs["kind"]), source=Source("file", str(data)),
                text_fields=tuple(inputs["text_fields"]), label_field=str(inputs["label_field"]),
                label_names=tuple(manifest.get("labels") or ()), verbalizers=tuple(manifest.get("verbalizers") or ()),
                template=str(inputs.get("template") or ""))


def predict(folder: str | Path, data: str | Path, *, text_fields: Sequence[str] | None = None,
            label_field: str | None = None, base_model: str | None = None, batch_size: int = 32,
            calibrated: bool = True) -> Predictions:
    """Run the export in ``folder`` on the rows of ``data`` (CSV, TSV, JSONL or Parquet).

    ``text_fields``: the file's text column(s), standing for the export's text fields in order (default: the
    export's own names). ``label_field``: a column of true labels to score against (default: the export's label
    column, where the file has it). ``calibrated``: class probabilities after the temperature fitted on the
    validation split (the manifest's ``temperature``); ``False``: the model's raw softmax."""
    from autopeft.errors import check_count

    check_count("--batch-size", batch_size)
    path = Path(folder)
    if not path.is_dir():
        raise ExportError(f"{str(path)!r} is not a folder; allowed: a folder `autopeft export` wrote")
    from autopeft.study.export import read_manifest

    if (path / "study.db").is_file():
        raise ExportError(f"{str(path)!r} is a run folder, not an export; allowed: a folder `autopeft export "
                          f"{path} --pick knee --out DIR` writes (any --pick)")
    manifest = read_manifest(path)
    task = export_task(manifest, path, Path(data))
    table = read_source(task.source, task=task.name)
    columns = tuple(text_fields) if text_fields else task.text_fields
    label = label_field if label_field is not None else (task.label_field if task.label_field in table.columns
                                                           else None)
    missing = [c for c in (*columns, *([label] if label else [])) if c not in table.columns]
    if missing:
        raise ExportError(f"column(s) {', '.join(map(repr, missing))} not in {table.origin}; it has columns: "
                          f"{', '.join(table.columns)}; allowed: --text-fields naming the file's text column(s) "
                          f"for the model's {', '.join(task.text_fields)}, and --label-field one of its columns")
    from autopeft.tasks.examples import prediction_examples

    examples = prediction_examples(task, table, columns, label)
    model, tokenizer, manifest = load_export(path, base_model=base_model)
    present = [ex for ex in examples if ex is not None]
    temperature = manifest.get("metrics", {}).get("temperature") if calibrated else None
    scores, texts = _run(model, tokenizer, manifest, task, present, batch_size) if present else (None, ())
    notes = [f"{len(examples) - len(present)} of {len(examples)} rows have an empty text and get no prediction"] \
        if len(present) < len(examples) else []
    if calibrated and temperature is None and task.kind == "classification":
        notes.append("the export records no temperature, so the probabilities are the raw softmax")
    if task.kind == "classification":
        return _classes(task, examples, present, scores, temperature, label, notes)
    return _texts(examples, present, texts, label, notes)


def _run(model: Any, tokenizer: Any, manifest: Mapping[str, Any], task: Task, examples: Sequence[Example],
         batch_size: int) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """The runner's evaluator on ``examples``: class scores (n, k), or generated texts."""
    from autopeft.runner.data import encode_split, verbaliser_ids
    from autopeft.runner.evaluate import EvalContext, evaluator_for
    from autopeft.runner.worker import pick_device

    inputs = manifest["inputs"]
    kind = str(manifest["model_kind"])
    device, dtype = pick_device("auto")
    model.to(device)
    encoded = encode_split(examples, task, tokenizer, kind=kind, max_length=int(inputs["max_length"]),
                           target_max_length=int(inputs["target_max_length"]), segments=bool(inputs["segments"]))
    words = verbaliser_ids(task, tokenizer, int(inputs["target_max_length"])) \
        if kind == "seq2seq" and task.kind == "classification" else []
    pad = tokenizer.pad_token_id
    ctx = EvalContext(device, dtype, batch_size, int(pad if pad is not None else 0), tokenizer, words,
                      int(inputs["target_max_length"]))
    result = evaluator_for(kind, task.kind)(model, encoded, ctx)
    return result.scores, result.predictions


def _classes(task: Task, examples: Sequence[Example | None], present: Sequence[Example], scores: np.ndarray | None,
             temperature: float | None, label: str | None, notes: list[str]) -> Predictions:
    from autopeft.metrics import classification_metrics, softmax

    names = task.label_names
    probs = softmax(scores, temperature or 1.0) if scores is not None else np.zeros((0, len(names)))
    columns = ("row", "prediction", "confidence", *(f"p_{n}" for n in names), *(["label"] if label else []))
    rows, at = [], 0
    for i, ex in enumerate(examples):
        row: dict[str, Any] = {"row": i + 1, "prediction": "", "confidence": None, **{f"p_{n}": None for n in names}}
        if ex is not None:
            p = probs[at]
            at += 1
            row.update(prediction=names[int(np.argmax(p))], confidence=float(p.max()),
                       **{f"p_{n}": float(v) for n, v in zip(names, p, strict=True)})
        if label:
            row["label"] = names[ex.label] if ex is not None and ex.label >= 0 else ""
        rows.append(row)
    known = [i for i, ex in enumerate(present) if ex.label >= 0]
    metrics = None
    if known and scores is not None:
        metrics = classification_metrics(scores[known], [present[i].label for i in known], temperature=temperature)
    return Predictions(columns, tuple(rows), metrics, len(known), len(examples) - len(present), temperature,
                       tuple(notes))


def _texts(examples: Sequence[Example | None], present: Sequence[Example], texts: Sequence[str], label: str | None,
           notes: list[str]) -> Predictions:
    from autopeft.metrics import exact_match, rouge_l

    columns = ("row", "prediction", *(["reference"] if label else []))
    rows, at = [], 0
    for i, ex in enumerate(examples):
        row: dict[str, Any] = {"row": i + 1, "prediction": ""}
        if ex is not None:
            row["prediction"] = texts[at]
            at += 1
        if label:
            row["reference"] = ex.target if ex is not None else ""
        rows.append(row)
    pairs = [(t, ex.target) for t, ex in zip(texts, present, strict=True) if ex.target]
    metrics = None
    if pairs:
        got, want = [p for p, _ in pairs], [r for _, r in pairs]
        metrics = {"exact_match": exact_match(got, want), "rouge_l": rouge_l(got, want)}
    return Predictions(columns, tuple(rows), metrics, len(pairs), len(examples) - len(present), None, tuple(notes))


def check_out(out: str | Path) -> Path:
    """``out`` as a Path when predictions may be written there (a ``.csv`` or ``.jsonl`` file name, not a folder),
    checked before anything is loaded or run."""
    path = Path(out)
    if path.is_dir():
        raise ExportError(f"--out {str(path)!r} is a folder; allowed: a file name ending in {', '.join(FORMATS)}")
    if path.suffix.lower() not in FORMATS:
        raise ExportError(f"--out {str(path)!r}: unsupported extension {path.suffix or '(none)'!r}; allowed: "
                          f"{', '.join(FORMATS)}")
    return path


def write_predictions(result: Predictions, out: str | Path) -> Path:
    """Write the rows to ``out``: CSV (``.csv``) or one JSON object per line (``.jsonl``); returns the path."""
    path = check_out(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        write_rows(result, handle, jsonl=path.suffix.lower() == ".jsonl")
    return path


def write_rows(result: Predictions, handle: TextIO, *, jsonl: bool = False) -> None:
    """The rows to an open text stream: CSV with a header, or one JSON object per line."""
    if jsonl:
        handle.writelines(json.dumps(row) + "\n" for row in result.rows)
        return
    writer = csv.DictWriter(handle, fieldnames=list(result.columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.rows)
