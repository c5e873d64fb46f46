"""The model card (``README.md``) of an exported folder: plain data in, Markdown with a YAML header out.

The header carries what Hugging Face and ``peft`` itself write (``base_model``, ``library_name: peft``,
``tags``, ``pipeline_tag``) plus ``datasets``, ``metrics`` and a ``model-index`` with the numbers of the card;
``full`` and ``head_only`` folders are whole models (``library_name: transformers``). The body says what the
configuration is, what it trains, how it scored on the validation split in the search and, when the run was
finalized, on the test split over seeds, the commands that made it and how to load it.

Nothing here imports torch or reads files: :func:`render_card` is a function of a :class:`CardData`.

>>> text = render_card(CardData(base_model="google/flan-t5-small", method="lora", peft_adapter=True,
...                             configuration={"method": "lora", "lora.r": 8}))
>>> text.splitlines()[:3]
['---', 'base_model: google/flan-t5-small', 'library_name: peft']
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from autopeft.errors import ExportError
from autopeft.study.card_evaluation import CALIBRATION, METRIC_LABELS, Evaluation
from autopeft.trial import describe
from autopeft.version import __version__

__all__ = ["AUTO_CLASSES", "CALIBRATION", "METRIC_LABELS", "CardData", "Evaluation", "TaskInfo", "render_card"]

_WHOLE_MODEL_METHODS = ("full", "head_only")
_PIPELINES = {("classification", "encoder"): "text-classification",
              ("classification", "seq2seq"): "text2text-generation",
              ("generation", "seq2seq"): "text2text-generation"}
#: the transformers class that loads a whole-model export (head_only, full), by model kind
AUTO_CLASSES = {"encoder": "AutoModelForSequenceClassification", "seq2seq": "AutoModelForSeq2SeqLM"}


@dataclass(frozen=True)
class TaskInfo:
    """The task as a card names it: ``kind`` classification or generation; ``dataset`` a Hub dataset id, if any,
    with its ``config``; ``given``: the splits the dataset's own splits made (official splits), the others drawn by
    autopeft from its pooled rows."""

    name: str
    kind: str = "classification"
    dataset: str | None = None
    metric: str = ""
    description: str = ""
    config: str | None = None
    given: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ExportError(f"card task name must be a non-empty string, got {self.name!r}")
        if self.kind not in ("classification", "generation"):
            raise ExportError(f"card task kind {self.kind!r} is not allowed; allowed: classification, generation")


@dataclass(frozen=True)
class CardData:
    """Everything a card says. Only the base model, the method and the configuration are required."""

    base_model: str
    method: str
    peft_adapter: bool
    configuration: Mapping[str, Any]
    merged: bool = False                        # a peft adapter folded into the base weights (export --merge)
    options: Mapping[str, Any] = field(default_factory=dict)
    trainable_params: int | None = None
    total_params: int | None = None
    model_id: str | None = None                 # as the recipe names the model (an alias, a folder, a Hub id)
    model_source: str | None = None             # where that came from (the run's provenance), e.g. a pip package
    model_kind: str | None = None               # "encoder" | "seq2seq"
    num_labels: int | None = None               # an encoder's classification head
    labels: tuple[str, ...] = ()                # a classification task's class names, in output order
    verbalizers: tuple[str, ...] = ()           # a seq2seq model's answer word for each class
    task: TaskInfo | None = None
    objectives: tuple[str, ...] = ()
    trial: int | None = None
    pick: str | None = None
    validation: Evaluation | None = None
    test: Evaluation | None = None
    #: the test split per class over the finalized seeds (``autopeft.study.classes.per_class_table`` rows)
    per_class: tuple[Mapping[str, Any], ...] = ()
    run_known: bool = False                     # False: exported outside a run (nothing about a search to say)
    weights: str | None = None                  # which training the folder's weights come from
    commands: tuple[str, ...] = ()
    folder: str = "path/to/this/folder"         # how the loading snippet names this folder
    versions: Mapping[str, str] = field(default_factory=dict)
    autopeft_version: str = __version__
    #: how the trials made the model's inputs (the manifest's ``inputs``; ``None`` before it was recorded)
    inputs: Mapping[str, Any] | None = None
    temperature: float | None = None            # fitted on validation, for the weights in this folder

    def __post_init__(self) -> None:
        for name in ("base_model", "method"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ExportError(f"card {name} must be a non-empty string, got {value!r}")
        if self.model_kind is not None and self.model_kind not in AUTO_CLASSES:
            raise ExportError(f"card model_kind {self.model_kind!r} is not allowed; allowed: "
                              f"{', '.join(AUTO_CLASSES)}")
        for name, split in (("validation", "validation"), ("test", "test")):
            ev = getattr(self, name)
            if ev is not None and ev.split != split:
                raise ExportError(f"card {name} evaluation is of the {ev.split} split; allowed: {split}")
        object.__setattr__(self, "objectives", tuple(self.objectives))
        object.__setattr__(self, "commands", tuple(self.commands))

    @property
    def library_name(self) -> str:
        return "peft" if self.peft_adapter else "transformers"

    @property
    def pipeline_tag(self) -> str | None:
        if self.task is None or self.model_kind is None:
            return None
        return _PIPELINES.get((self.task.kind, self.model_kind))


def render_card(data: CardData) -> str:
    """The card's text: a YAML header (``---`` ... ``---``) and Markdown."""
    body = [_title(data), *_intro(data), *_configuration(data), *_evaluation(data), *_commands(data),
            *_usage(data), *_versions(data)]
    return "---\n" + yaml.safe_dump(header(data), sort_keys=False, allow_unicode=True) + "---\n\n" + \
        "\n".join(body).rstrip() + "\n"


def header(data: CardData) -> dict[str, Any]:
    """The YAML metadata, as Hugging Face and ``peft`` read it."""
    out: dict[str, Any] = {"base_model": data.base_model, "library_name": data.library_name}
    tags = {"autopeft", data.method, "transformers"}
    if data.method == "dora":
        tags.add("lora")  # what peft tags a LoRA-type adapter with
    if data.peft_adapter:
        tags.add(f"base_model:adapter:{data.base_model}")
    if data.task is not None:
        tags.add(data.task.name)
    if data.pipeline_tag:
        tags.add(data.pipeline_tag)
    out["tags"] = sorted(tags)
    if data.task is not None and data.task.dataset:
        out["datasets"] = [data.task.dataset]
    names = _reported(data)
    if names:
        out["metrics"] = [n for n in names if n != "temperature"]
    if data.pipeline_tag:
        out["pipeline_tag"] = data.pipeline_tag
    index = _model_index(data)
    if index:
        out["model-index"] = index
    return out


def _reported(data: CardData) -> list[str]:
    names: list[str] = []
    for ev in (data.validation, data.test):
        if ev is not None:
            names += [n for n in ev.metric_names() if n not in names]
    return names


def _model_index(data: CardData) -> list[dict[str, Any]]:
    results = []
    for ev in (data.validation, data.test):
        if ev is None or data.task is None:
            continue
        names = [n for n in ev.metric_names() if n != "temperature" and _finite(ev.mean(n))]
        if not names:
            continue
        own = not data.task.dataset or ev.split in data.task.given  # else not the Hub dataset's split of that name
        dataset: dict[str, Any] = {"name": data.task.name, "type": data.task.dataset or data.task.name,
                                   **({"config": data.task.config} if data.task.config else {}),
                                   "split": ev.split if own else f"{ev.split} (drawn by autopeft from the pooled rows)"}
        how = f"{ev.steps} steps, " + (f"mean over seeds {_seeds(ev.seeds)}" if len(ev.seeds) > 1
                                       else f"seed {ev.seeds[0]}")
        task = {"type": data.pipeline_tag or f"text-{data.task.kind}"}
        results.append({"task": task, "dataset": dataset,
                        "metrics": [{"type": n, "name": f"{METRIC_LABELS.get(n, n)} ({ev.split}, {how})",
                                     "value": ev.mean(n)} for n in names]})
    if not results:
        return []
    return [{"name": f"{data.method}-{_short(data.base_model)}" + (f"-{data.task.name}" if data.task else ""),
             "results": results}]


def _title(data: CardData) -> str:
    what = "adapter" if data.peft_adapter else "fine-tuned model"
    task = f" on {data.task.name}" if data.task else ""
    return f"# {data.method} {what} for {data.base_model}{task}\n"


def _intro(data: CardData) -> list[str]:
    kind = ("A `peft` adapter" if data.peft_adapter
            else "A whole `transformers` model folder: the `peft` adapter merged into the base model's weights "
                 "(`merge_and_unload`), so it loads without `peft`" if data.merged
            else "A whole `transformers` model folder (not a `peft` adapter: this method trains base weights)")
    base = f"[`{data.base_model}`](https://huggingface.co/{data.base_model})" if _is_hub_id(data.base_model) \
        and data.model_source != "local folder" else f"`{data.base_model}`"
    lines = [f"{kind} for {base}, found by autopeft "
             f"{data.autopeft_version}, a search over parameter-efficient fine-tuning configurations."]
    if data.model_id and (data.model_id != data.base_model or data.model_source):
        lines.append(f"autopeft named the base model `{data.model_id}`"
                     + (f" ({data.model_source})." if data.model_source else "."))
    if data.task is not None:
        text = f"Task: **{data.task.name}** ({data.task.kind}"
        text += f", metric {data.task.metric})" if data.task.metric else ")"
        if data.task.dataset:
            text += f"; dataset [`{data.task.dataset}`](https://huggingface.co/datasets/{data.task.dataset})"
            text += (f"; {' and '.join(data.task.given)} as the dataset splits them, the rest drawn by autopeft"
                     if data.task.given else "; its splits pooled and drawn again by autopeft")
        if data.task.description:
            text += f". {data.task.description}"
        lines.append(text.rstrip(".") + ".")
    if data.run_known:
        search = f"The search traded off {', '.join(data.objectives)}" if data.objectives else "The search"
        picked = f"; this is trial {data.trial}" if data.trial is not None else ""
        picked += f", picked as `{data.pick}`" if data.pick else ""
        lines.append(f"{search}{picked}.")
    if data.weights:
        lines.append(f"Weights in this folder: {data.weights}.")
    return [part for line in lines for part in (line, "")]


def _configuration(data: CardData) -> list[str]:
    lines = ["## Configuration", "", f"`{describe(data.configuration, 200)}`", "", f"- method: `{data.method}`"]
    options = {k: v for k, v in data.options.items() if v is not None}
    if not options:  # exported without the method's parsed options: the configuration's own keys
        options = {k.split(".", 1)[-1]: v for k, v in data.configuration.items() if k != "method"}
    for key, value in options.items():
        lines.append(f"- {key.replace('_', ' ')}: {_option_text(value)}")
    lines.append("")
    if data.trainable_params is not None:
        count = f"**{data.trainable_params:,}** trainable parameters"
        if data.total_params:
            share = 100 * data.trainable_params / data.total_params
            count += (f", {share:.3g} % of the {data.total_params:,} parameters of the trained model "
                      f"(base model{' and adapter' if data.peft_adapter else ''})")
        lines += [count + ".", ""]
    lines += ["The configuration as autopeft takes it (`autopeft trial --config`, a search space's point):", "",
              "```json", json.dumps(dict(data.configuration), sort_keys=True, default=str), "```", ""]
    return lines


def _option_text(value: Any) -> str:
    if isinstance(value, Mapping):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
            on = [f"{k} {v}" for k, v in value.items() if v]
            off = [str(k) for k, v in value.items() if not v]
            return ", ".join(on) + (f" (not adapted: {', '.join(off)})" if off else "") if on else "none"
        return ", ".join(f"{k}: {_option_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(map(_option_text, value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _evaluation(data: CardData) -> list[str]:
    lines = ["## Evaluation", ""]
    val, test = data.validation, data.test
    if val is None and not data.run_known:
        return [*lines, "This folder was exported outside a search run: no evaluation is recorded with it (the "
                "test split was not evaluated).", ""]
    if val is not None:
        fraction = "" if val.train_fraction == 1 else f" on the first {val.train_fraction:.0%} of the training split"
        lines += [f"Validation split (`{val.split}`), from the search: trained {val.steps} steps{fraction} with "
                  f"seed {_seeds(val.seeds)}.", "", *_table(val), ""]
    if test is not None:
        lines += [f"Test split (`{test.split}`), from `autopeft finalize`: re-trained {test.steps} steps with "
                  f"{len(test.seeds)} seed{'s' if len(test.seeds) > 1 else ''} ({_seeds(test.seeds)}); mean ± "
                  "sample standard deviation over seeds.", "", *_table(test), ""]
        lines += _per_class(data.per_class)
    else:
        lines += ["The test split was not evaluated: the run was not finalized for this trial (`autopeft finalize "
                  "RUN --pick ...` re-trains it over several seeds and scores the test split).", ""]
    if any(n in CALIBRATION for ev in (val, test) if ev is not None for n in ev.metric_names()):
        lines += ["Calibration: ECE and MCE are the expected and maximum calibration errors, Brier the Brier score "
                  "and NLL the negative log-likelihood of the class probabilities (lower is better for all); "
                  "`_ts` after temperature scaling with the temperature fitted on the validation split.", ""]
    return lines


def _per_class(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Test F1 and recall per class over the finalized seeds, and every seed that lost a class."""
    if not rows:
        return []

    def cell(row: Mapping[str, Any], key: str) -> str:
        mean = row[f"{key}_mean"]
        return "no test example" if mean is None else f"{_num(mean)} ± {_num(row[f'{key}_std'])}"

    lost = [f"Seed(s) {', '.join(map(str, r['lost_on_seeds']))} lost `{r['class']}`: none of its test examples was "
            "predicted as it." for r in rows if r["lost_on_seeds"]]
    return ["Per class on the test split, mean ± std over the same seeds:", "",
            "| class | test examples | F1 | recall |", "|---|---|---|---|",
            *(f"| {r['class']} | {r['support']} | {cell(r, 'f1')} | {cell(r, 'recall')} |" for r in rows), "",
            *(f"{line}\n" for line in lost)]


def _table(ev: Evaluation) -> list[str]:
    many = len(ev.seeds) > 1
    head = "| metric | " + ("mean ± std | " + " | ".join(f"seed {s}" for s in ev.seeds) if many else "value") + " |"
    rows = [head, "|" + "---|" * (2 + (len(ev.seeds) if many else 0))]
    for name in ev.metric_names():
        label = f"{METRIC_LABELS.get(name, name)} (`{name}`)"
        if many:
            cells = [f"{_num(ev.mean(name))} ± {_num(ev.std(name))}",
                     *(_num(ev.per_seed[s][name]) for s in ev.seeds)]
        else:
            cells = [_num(ev.mean(name))]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def _commands(data: CardData) -> list[str]:
    if not data.commands:
        return []
    return ["## How it was made", "", "```bash", *data.commands, "```", ""]


def _usage(data: CardData) -> list[str]:
    auto = AUTO_CLASSES.get(data.model_kind or "", "AutoModel")
    named = data.model_kind == "encoder" and bool(data.labels)
    order = "  # the classes, in the order of the outputs"
    if data.peft_adapter:
        head = f", num_labels={data.num_labels}" if data.model_kind == "encoder" and data.num_labels else ""
        if named:
            head = ", id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)}"
        code = ["from peft import PeftModel", f"from transformers import {auto}", "",
                *([f"labels = {list(data.labels)!r}{order}"] if named else []),
                f"base = {auto}.from_pretrained({data.base_model!r}{head})",
                f"model = PeftModel.from_pretrained(base, {data.folder!r})"]
    else:
        code = [f"from transformers import {auto}", "", f"model = {auto}.from_pretrained({data.folder!r})",
                *([f"print(model.config.id2label){order}"] if named else [])]
    answers = [f"The model answers with one of {', '.join(map(repr, data.verbalizers))}: the classes "
               f"{', '.join(map(repr, data.labels))}, in that order.", ""] if data.verbalizers else []
    return ["## How to use", "", "```python", *code, "```", "", *answers, *_inputs(data)]


def _inputs(data: CardData) -> list[str]:
    """How to make the model's inputs as its trials did, and ``autopeft predict``, which does it."""
    inputs = data.inputs
    if not inputs:
        return []
    fields = [str(f) for f in inputs.get("text_fields") or ()]
    cut = f"cut at {inputs.get('max_length')} tokens"
    if inputs.get("template"):
        words = ", ".join(data.verbalizers)
        lines = [f"Its input is this prompt, the row's {' and '.join(f'`{f}`' for f in fields)} in place of "
                 f"the field{'s' * (len(fields) > 1)}" + (f" and `{{options}}` as {words!r}" if words else "")
                 + f", {cut}:", "", "```text", str(inputs["template"]), "```", ""]
        if data.verbalizers:
            lines += ["Each class is scored by the log-likelihood of its word as the answer (rank classification), "
                      "and the softmax over the classes gives their probabilities.", ""]
    elif len(fields) == 2:
        lines = [f"Its input is the pair of the row's `{fields[0]}` and `{fields[1]}` fields, as "
                 f"`tokenizer({fields[0]}, {fields[1]})` makes it, {cut}.", ""]
    else:
        lines = [f"Its input is the row's `{fields[0] if fields else 'text'}` field, {cut}.", ""]
    scaled = (f" (the probabilities after temperature scaling with T = {data.temperature:.3g}, fitted on "
              "validation)") if data.temperature and data.labels else ""
    lines += [f"`autopeft predict {data.folder} --data FILE.csv` makes the inputs this way and writes each row's "
              + ("class with its probabilities" if data.labels else "answer") + scaled
              + "; a file that has the label column is scored too.", ""]
    return lines


def _versions(data: CardData) -> list[str]:
    versions = {"autopeft": data.autopeft_version, **dict(data.versions)}
    names = {"peft": "PEFT", "transformers": "Transformers", "torch": "PyTorch"}
    return ["### Framework versions", "", *(f"- {names.get(k, k)} {v}" for k, v in versions.items()), ""]


def _seeds(seeds: Sequence[int]) -> str:
    return ", ".join(map(str, seeds))


def _num(value: float) -> str:
    return f"{value:.4f}" if _finite(value) else str(value)


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _is_hub_id(name: str) -> bool:
    """``owner/name`` or ``name`` (not a local path)."""
    return not name.startswith((".", "/", "~")) and name.count("/") <= 1 and "\\" not in name


def _short(base_model: str) -> str:
    return base_model.rstrip("/").rsplit("/", 1)[-1] or base_model
