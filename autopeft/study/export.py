"""A configuration (and trained weights, when given) -> a folder plain ``peft`` loads.

The folder holds what the method's ``save`` writes (``adapter_config.json`` +
``adapter_model.safetensors`` for every PEFT method; a whole model folder for ``full``),
``autopeft.json``: the configuration, the space it came from, the base model and metrics, and a model card
``README.md`` (:mod:`autopeft.study.card`; it replaces the one ``peft`` writes). :func:`write_card` rewrites
the card with what the run's journal knows: the search's validation metrics, the finalized test metrics over
seeds and the commands that made the folder.

>>> export(built, "adapters/knee", model_id="minilm", configuration=config)   # doctest: +SKIP
>>> PeftModel.from_pretrained(base, "adapters/knee")                          # doctest: +SKIP
"""

from __future__ import annotations

import importlib.metadata
import json
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autopeft.errors import AutopeftError, ExportError
from autopeft.methods import BuiltModel, build, get_method
from autopeft.model.loading import load_model, model_kind, quiet_transformers, resolve
from autopeft.paths import unwritable
from autopeft.runner.config import TrainingConfig
from autopeft.space import SpaceSpec
from autopeft.study.base_model import absolute_base, set_adapter_base
from autopeft.study.card import CardData, Evaluation, TaskInfo, render_card
from autopeft.study.commands import search_flags
from autopeft.study.journal import Journal, Trial
from autopeft.tasks.base import Task
from autopeft.trial import jsonable
from autopeft.version import __version__

MANIFEST = "autopeft.json"
CARD = "README.md"
#: the packages a card names when the run recorded no versions of its own (journal meta ``provenance``)
CARD_PACKAGES = ("peft", "transformers", "torch")
FORMAT_VERSION = 1


def check_export_folder(folder: str | Path, *, overwrite: bool = False) -> Path:
    """``folder`` as a Path when an export may be written there: new, empty, or (``overwrite``) a folder; a file
    is never replaced."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise ExportError(f"export folder {str(out)!r} is a file; allowed: a new or empty folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"export folder {str(out)!r} is not empty; allowed: a new or empty folder, or --overwrite "
                          "(overwrite=True)")
    reason = unwritable(out)
    if reason:
        raise ExportError(f"export folder {str(out)!r}: {reason}; allowed: a new or empty folder this user can write")
    return out


def export(
    built: BuiltModel,
    folder: str | Path,
    *,
    model_id: str,
    configuration: Mapping[str, Any],
    space: SpaceSpec | None = None,
    metrics: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    task: Task | None = None,
    training: TrainingConfig | None = None,
    tokenizer: Any = None,
) -> Path:
    """Write ``built`` (trained or not) to ``folder``; returns the folder. A folder replaced (``overwrite``) is
    written beside it first and swapped in whole, so that no file of the earlier export stays (an adapter's
    ``adapter_config.json`` beside a whole model would make both unreadable as what they are).

    A classification ``task`` names the outputs: its class names, in the order of an encoder's logits, go in the
    manifest (``labels``) and in a saved whole model's ``id2label``; a seq2seq model's answer words go in
    ``verbalizers``. The task and ``training`` also say how its inputs were made (``inputs``: the text fields, a
    seq2seq model's prompt template, the token limits), which ``autopeft predict`` follows; the ``tokenizer``,
    when given, is saved beside the weights, so the folder is whole for a pipeline."""
    out = check_export_folder(folder, overwrite=overwrite)
    replaced = out.is_dir() and any(out.iterdir())
    work = out.with_name(f".{out.name}.autopeft-partial") if replaced else out
    if replaced and work.exists():
        shutil.rmtree(work)  # left by an export that was killed
    work.mkdir(parents=True, exist_ok=True)
    method = get_method(built.method)
    base_ref = absolute_base(resolve(model_id))
    facts = _model_facts(built)
    outputs = _outputs(task, facts["model_kind"])
    if outputs and facts["model_kind"] == "encoder":
        name_labels(built.model.config, outputs["labels"])
    with quiet_transformers():  # a whole model's save shows a shard progress bar
        method.save(built, work)
        if tokenizer is not None:
            tokenizer.save_pretrained(str(work))
    set_adapter_base(work, base_ref)
    manifest = {
        "format_version": FORMAT_VERSION,
        "autopeft_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model_id": model_id,
        "base_model": base_ref,
        "method": built.method,
        "peft_adapter": (work / "adapter_config.json").is_file(),  # head_only and full save a whole model
        "configuration": jsonable(dict(configuration)),
        "options": jsonable(built.options),
        "trainable_params": built.trainable_params,
        "total_params": built.total_params,
        **facts,
        **outputs,
        **input_record(task, training, built.model.config, facts["model_kind"]),
        "space": _space_record(space),
        "metrics": jsonable(dict(metrics or {})),
    }
    write_manifest(work, manifest)
    if replaced:
        shutil.rmtree(out)
        work.rename(out)
    write_card(out)
    return out


def export_configuration(
    model_id: str,
    configuration: Mapping[str, Any],
    folder: str | Path,
    *,
    num_labels: int | None = None,
    space: SpaceSpec | None = None,
    overwrite: bool = False,
    task: Task | None = None,
) -> Path:
    """Build ``configuration`` on freshly loaded base weights (untrained adapter) and export it."""
    model = load_model(model_id, num_labels=num_labels)
    built = build(model, configuration)
    return export(built, folder, model_id=model_id, configuration=configuration, space=space, overwrite=overwrite,
                  task=task)


def write_manifest(folder: str | Path, manifest: Mapping[str, Any]) -> None:
    """Write ``autopeft.json`` (the export's record, read back by :func:`read_manifest`)."""
    (Path(folder) / MANIFEST).write_text(json.dumps(dict(manifest), indent=2) + "\n")


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ExportError(f"{str(folder)!r} is not an autopeft export: {MANIFEST} is missing")
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise ExportError(
            f"{path}: format_version {data.get('format_version')} is newer than this autopeft reads "
            f"({FORMAT_VERSION}); upgrade autopeft"
        )
    return data


def write_card(folder: str | Path, *, run: str | Path | None = None, trial: int | None = None,
               pick: str | None = None) -> Path:
    """(Re)write the folder's model card from its manifest and, given the run folder and the trial (default:
    the manifest's ``source``, which ``export_pick`` records), from the run's journal; returns the card's path.

    ``pick`` is the ``--pick`` the folder was exported with (default ``trial:N``), for the commands it shows.
    """
    out = Path(folder)
    manifest = read_manifest(out)
    source = _source(manifest)
    run = run if run is not None else source.get("run")
    trial = trial if trial is not None else source.get("trial")
    if run is not None and trial is not None:
        with Journal.open(run, lock=False) as journal:
            data = card_data(manifest, journal, int(trial), pick=pick, run=str(run), folder=str(out))
    else:
        data = card_data(manifest, folder=str(out))
    path = out / CARD
    path.write_text(render_card(data), encoding="utf-8")
    return path


def card_data(manifest: Mapping[str, Any], journal: Journal | None = None, trial: int | None = None, *,
              pick: str | None = None, run: str | None = None, folder: str = "path/to/this/folder") -> CardData:
    """What the card of an export says: the manifest's facts, and the run's when ``journal`` and ``trial`` are given."""
    source = _source(manifest)
    facts: dict[str, Any] = {
        "base_model": str(manifest.get("base_model") or manifest.get("model_id") or "unknown"),
        "method": str(manifest.get("method") or manifest.get("configuration", {}).get("method") or "unknown"),
        "peft_adapter": bool(manifest.get("peft_adapter", True)), "merged": bool(manifest.get("merged", False)),
        "configuration": dict(manifest.get("configuration") or {}),
        "options": dict(manifest.get("options") or {}),
        "trainable_params": manifest.get("trainable_params"), "total_params": manifest.get("total_params"),
        "model_id": manifest.get("model_id"), "model_kind": manifest.get("model_kind"),
        "num_labels": manifest.get("num_labels"), "folder": folder,
        "labels": tuple(manifest.get("labels") or ()), "verbalizers": tuple(manifest.get("verbalizers") or ()),
        "autopeft_version": str(manifest.get("autopeft_version") or __version__),
        "weights": source.get("weights"),
        "inputs": manifest.get("inputs") if isinstance(manifest.get("inputs"), Mapping) else None,
        "temperature": _temperature(manifest.get("metrics")),
    }
    provenance = None
    if journal is not None and trial is not None:
        chosen = journal.trial(trial)
        recipe, settings = journal.recipe, dict(journal.meta("settings") or {})
        provenance = journal.meta("provenance")
        finals = sorted((t for t in journal.trials(phase="finalize", states=("complete",))
                         if t.origin == f"finalize:{chosen.number}" and t.result and t.result.test_metrics),
                        key=lambda t: t.seed)
        spec = pick or f"trial:{chosen.number}"
        run_text = run if run is not None else str(journal.folder)
        facts.update(task=_task_info(recipe.get("task"), journal.meta("data")),
                     objectives=tuple(settings.get("objectives") or ()), trial=chosen.number, pick=pick,
                     run_known=True, validation=_validation(chosen),
                     test=_test(finals), per_class=_per_class(journal, chosen.number, facts["labels"]),
                     commands=_run_commands(recipe, settings, journal.meta("engine"), run_text, spec, folder,
                                            finals, merged=bool(manifest.get("merged"))))
    facts["versions"] = _versions(provenance)
    model = provenance.get("model") if isinstance(provenance, Mapping) else None
    if isinstance(model, Mapping) and model.get("source"):
        facts["model_source"] = str(model["source"])
    return CardData(**facts)


def _temperature(metrics: Any) -> float | None:
    value = metrics.get("temperature") if isinstance(metrics, Mapping) else None
    return float(value) if isinstance(value, (int, float)) else None


def _source(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """Where the folder came from (``run``, ``trial``, ``weights``), as ``export_pick`` records it; {} if not."""
    source = manifest.get("source")
    return source if isinstance(source, Mapping) else {}


def _validation(trial: Trial) -> Evaluation | None:
    if trial.state != "complete" or trial.result is None or not trial.result.metrics:
        return None
    return Evaluation("validation", trial.fidelity.steps, {trial.seed: trial.result.metrics},
                      trial.fidelity.train_fraction)


def _per_class(journal: Journal, trial: int, labels: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """The finalized trial's per-class test rows, its classes named as the manifest names them."""
    from autopeft.study.classes import class_names, per_class_table

    names = labels or class_names(journal.recipe)
    return tuple(r for r in per_class_table(journal, names) if r["trial"] == trial)


def _test(finals: list[Trial]) -> Evaluation | None:
    if not finals:
        return None
    fidelity = finals[0].fidelity
    return Evaluation("test", fidelity.steps, {t.seed: t.result.test_metrics for t in finals
                                               if t.result and t.result.test_metrics}, fidelity.train_fraction)


def _task_info(task: Any, made: Mapping[str, Any] | None = None) -> TaskInfo | None:
    """The recipe's task (a registered name, or a file or Hub task's mapping) as the card names it; ``made``: the
    splits as the search made them (journal meta ``data``), which say the splits a Hub dataset gave."""
    from autopeft.tasks.sources import SOURCE_SPLIT

    made = made or {}
    given = tuple(n for n in made.get("given") or () if n != "train") if made.get("split_field") == SOURCE_SPLIT else ()
    if isinstance(task, str):
        from autopeft.tasks import get_task

        try:
            known = get_task(task)
        except AutopeftError:
            return TaskInfo(task)
        hub = known.source.kind == "hub"
        return TaskInfo(known.name, known.kind, known.source.location if hub else None, known.metric,
                        known.description, known.source.config if hub else None, given)
    if not isinstance(task, Mapping) or not (task.get("hub") or task.get("file")):
        return None
    kind = str(task.get("kind") or "classification")
    metric = str(task.get("metric") or ("accuracy" if kind == "classification" else "rouge_l"))
    if task.get("hub"):
        from autopeft.tasks.adhoc import hub_task_name

        name = str(task.get("name") or hub_task_name(str(task["hub"]), task.get("config")))
        config = f" ({task['config']})" if task.get("config") else ""
        local = Path(str(task["hub"])).expanduser().is_dir()  # a dataset folder in the Hub's layout: not an id
        return TaskInfo(name, kind, None if local else str(task["hub"]), metric,
                        f"the {'dataset folder' if local else 'Hub dataset'} {task['hub']}{config}",
                        task.get("config"), given)
    name = str(task.get("name") or Path(str(task["file"])).stem)
    return TaskInfo(name, kind, None, metric, f"a local {Path(str(task['file'])).suffix.lstrip('.')} file")


def _run_commands(recipe: Mapping[str, Any], settings: Mapping[str, Any], engine: Any, run: str, pick: str,
                  folder: str, finals: list[Trial], merged: bool = False) -> tuple[str, ...]:
    """``autopeft search`` / ``finalize`` / ``export`` as they would make this folder again (flags that exist)."""
    search = ["autopeft", "search", str(recipe.get("source") or "RECIPE.yaml"), "--out", run]
    for flag, key in (("--budget", "budget"), ("--controller", "controller"), ("--seed", "seed")):
        if settings.get(key) is not None:
            search += [flag, str(settings[key])]
    search += search_flags(recipe)
    if isinstance(engine, Mapping) and isinstance(engine.get("workers"), int) and engine["workers"] > 1:
        search += ["--workers", str(engine["workers"])]
    commands = [shlex.join(search)]
    if finals:
        commands.append(shlex.join(["autopeft", "finalize", run, "--pick", pick,
                                    "--seeds", str(max(t.seed for t in finals) + 1)]))
    commands.append(shlex.join(["autopeft", "export", run, "--pick", pick, "--out", folder,
                                *(["--merge"] if merged else [])]))
    return tuple(commands)


def _versions(provenance: Any) -> dict[str, str]:
    """Package versions: the run's provenance record when it has one, else what is installed now."""
    if isinstance(provenance, Mapping):
        recorded = provenance.get("versions") or provenance.get("packages")
        if isinstance(recorded, Mapping) and recorded:
            return {str(k): str(v) for k, v in recorded.items() if v is not None}
    out: dict[str, str] = {}
    for name in CARD_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _model_facts(built: BuiltModel) -> dict[str, Any]:
    """The base model's kind (encoder or seq2seq) and an encoder's number of labels, for the card's snippet."""
    config = getattr(built.model, "config", None)
    try:
        kind = model_kind(config)
    except AutopeftError:
        return {"model_kind": None, "num_labels": None}
    labels = getattr(config, "num_labels", None) if kind == "encoder" else None
    return {"model_kind": kind, "num_labels": int(labels) if isinstance(labels, int) else None}


def _outputs(task: Task | None, kind: str | None) -> dict[str, list[str]]:
    """What a classification task's outputs are: its class names, and a seq2seq model's answer word for each."""
    if task is None or task.kind != "classification":
        return {}
    answers = {"verbalizers": list(task.verbalizers)} if kind == "seq2seq" else {}
    return {"labels": list(task.label_names), **answers}


def input_record(task: Task | None, training: TrainingConfig | None, config: Any,
                 kind: str | None) -> dict[str, Any]:
    """How a trial made the model's inputs, for ``autopeft predict`` (:mod:`autopeft.study.predict`): the task's
    kind, text fields (in order: a pair for two), label column, a seq2seq model's prompt template, the token
    limits, and whether an encoder's text pairs got segment ids. ``{}`` without a task."""
    if task is None:
        return {}
    training = training or TrainingConfig()
    segments = kind == "encoder" and int(getattr(config, "type_vocab_size", 0) or 0) > 1
    return {"inputs": {"task": task.name, "kind": task.kind, "text_fields": list(task.text_fields),
                       "label_field": task.label_field, "template": task.template if kind == "seq2seq" else None,
                       "max_length": training.max_length, "target_max_length": training.target_max_length,
                       "segments": segments}}


def name_labels(config: Any, labels: Sequence[str]) -> None:
    """Give an encoder's config the class names (``id2label``/``label2id``), so that a pipeline says them."""
    config.id2label = dict(enumerate(labels))
    config.label2id = {name: i for i, name in enumerate(labels)}


def _space_record(space: SpaceSpec | None) -> dict[str, Any] | None:
    if space is None:
        return None
    return {"name": space.name, "file": space.source, "yaml": space.text}
