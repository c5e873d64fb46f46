"""Model cards: the YAML header Hugging Face and peft read, the numbers of the journal, the commands that made
the folder (flags the CLI has), classification and generation tasks, any objective order."""

from __future__ import annotations

import json
import shlex
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from autopeft.cli.main import make_parser
from autopeft.errors import ExportError
from autopeft.study.card import CardData, Evaluation, TaskInfo, render_card
from autopeft.study.export import CARD, MANIFEST, write_card
from autopeft.study.journal import Journal
from autopeft.tasks.sources import SOURCE_SPLIT
from autopeft.trial import Fidelity, TrialResult

CLASSIFICATION = {"accuracy": 0.8125, "macro_f1": 0.79, "ece": 0.0612, "ece_ts": 0.0431, "mce": 0.2, "brier": 0.301,
                  "nll": 0.512, "temperature": 1.37, "score": 0.8125}
GENERATION = {"exact_match": 0.25, "rouge_l": 0.6123, "score": 0.6123}


def split_card(text: str) -> tuple[dict[str, Any], str]:
    """The parsed YAML header and the Markdown body; the card must start with exactly one header."""
    assert text.startswith("---\n")
    _, head, body = text.split("---\n", 2)
    assert "\n---\n" not in body.split("```")[0]  # one header, not two cards
    meta = yaml.safe_load(head)
    assert isinstance(meta, dict)
    return meta, body


def shifted(metrics: Mapping[str, float], by: float) -> dict[str, float]:
    return {k: v + by for k, v in metrics.items()}


def make_run(tmp_path: Path, *, task: Any = "sst2", objectives: Sequence[str] = ("accuracy", "trainable_params"),
             metrics: Mapping[str, float] = CLASSIFICATION, final_seeds: Sequence[int] = (0, 1, 2),
             provenance: Mapping[str, Any] | None = None, workers: int = 1,
             confusions: Mapping[int, Any] | None = None, data: Mapping[str, Any] | None = None) -> tuple[Path, int]:
    """A run folder written through the journal (no training): one complete search trial, finalized or not
    (``confusions``: each finalized seed's test confusion matrix)."""
    folder = tmp_path / "run"
    recipe = {"name": "tiny", "text": "", "source": "search/tiny.yaml", "base": ".", "overrides": {},
              "model": "google/flan-t5-small", "task": task}
    config = {"method": "lora", "lora.ranks": {"encoder.0": 4, "encoder.1": 0}, "lora.learning_rate": 0.002}
    with Journal.create(folder, recipe) as journal:
        journal.set_meta("settings", {"budget": 5, "controller": "random", "seed": 3, "objectives": list(objectives)})
        journal.set_meta("engine", {"name": "pool" if workers > 1 else "inprocess", "workers": workers, "at": 0.0})
        if provenance is not None:
            journal.set_meta("provenance", dict(provenance))
        if data is not None:
            journal.set_meta("data", dict(data))
        trial = journal.add_trial(config, Fidelity(steps=4, train_fraction=0.5), seed=3, origin="random")
        journal.start(trial.number)
        journal.finish(trial.number, TrialResult(config=config, fidelity=Fidelity(steps=4, train_fraction=0.5),
                                                 seed=3, status="complete", metrics=dict(metrics),
                                                 trainable_params=1234, total_params=77_000))
        for seed in final_seeds:
            final = journal.add_trial(config, Fidelity(steps=16), seed=seed, origin=f"finalize:{trial.number}",
                                      phase="finalize")
            journal.start(final.number)
            journal.finish(final.number, TrialResult(
                config=config, fidelity=Fidelity(steps=16), seed=seed, status="complete",
                metrics=shifted(metrics, 0.01 * seed), test_metrics=shifted(metrics, -0.02 * (seed + 1)),
                trainable_params=1234, total_params=77_000,
                confusion={"test": confusions[seed]} if confusions else None))
    return folder, trial.number


def make_export(tmp_path: Path, *, method: str = "lora", adapter: bool = True, kind: str = "seq2seq") -> Path:
    """An export folder's manifest, as :func:`autopeft.study.export.export` writes it (no weights needed here)."""
    out = tmp_path / "adapter"
    out.mkdir()
    (out / "README.md").write_text("---\nlibrary_name: peft\n---\n\n# Model Card for Model ID\n")  # peft's own
    (out / MANIFEST).write_text(json.dumps({
        "format_version": 1, "autopeft_version": "0.0.test", "model_id": "flan-t5-small",
        "base_model": "google/flan-t5-small", "method": method, "peft_adapter": adapter,
        "configuration": {"method": method, "lora.ranks": {"encoder.0": 4, "encoder.1": 0}},
        "options": {"ranks": {"encoder.0": 4, "encoder.1": 0}, "modules": "qv", "learning_rate": 0.002, "alpha": None},
        "trainable_params": 1234, "total_params": 77_000, "model_kind": kind, "num_labels": None, "metrics": {}}))
    return out


def card_of(tmp_path: Path, pick: str | None = "knee", **run: Any) -> tuple[dict[str, Any], str, Journal]:
    folder, number = make_run(tmp_path, **run)
    out = make_export(tmp_path, kind="seq2seq")
    path = write_card(out, run=folder, trial=number, pick=pick)
    assert path == out / CARD
    meta, body = split_card(path.read_text())
    return meta, body, Journal.open(folder, lock=False)


def index_metrics(meta: Mapping[str, Any], split: str) -> dict[str, float]:
    (entry,) = meta["model-index"]
    results = [r for r in entry["results"] if r["dataset"]["split"].split(" (")[0] == split]
    assert len(results) <= 1
    return {m["type"]: m["value"] for m in results[0]["metrics"]} if results else {}


def table_row(body: str, name: str) -> list[str]:
    rows = [line for line in body.splitlines() if line.startswith("| ") and f"(`{name}`)" in line]
    return rows[0].strip("| ").split(" | ")[1:]


def test_header_is_yaml_with_base_model_and_library_peft(tmp_path: Path) -> None:
    meta, body, journal = card_of(tmp_path)
    journal.close()
    assert meta["base_model"] == "google/flan-t5-small" and meta["library_name"] == "peft"
    assert {"autopeft", "lora", "sst2", "base_model:adapter:google/flan-t5-small"} <= set(meta["tags"])
    assert meta["tags"] == sorted(meta["tags"])
    assert meta["datasets"] == ["nyu-mll/glue"]  # a Hub task names its dataset
    assert meta["pipeline_tag"] == "text2text-generation"
    assert {"accuracy", "ece", "ece_ts", "brier", "nll"} <= set(meta["metrics"]) and "score" not in meta["metrics"]
    assert "# Model Card for Model ID" not in body  # peft's card is replaced, not appended to
    assert "PeftModel.from_pretrained(base, " in body
    assert "AutoModelForSeq2SeqLM.from_pretrained('google/flan-t5-small')" in body


@pytest.mark.parametrize(("data", "validation", "test", "said"), [
    (None, "validation (drawn by autopeft from the pooled rows)", "test (drawn by autopeft from the pooled rows)",
     "its splits pooled and drawn again by autopeft"),
    ({"split_field": SOURCE_SPLIT, "given": ["train", "validation"]}, "validation",
     "test (drawn by autopeft from the pooled rows)", "validation as the dataset splits them, the rest drawn"),
])
def test_a_hub_datasets_split_is_named_only_where_it_is_that_split(
        tmp_path: Path, data: Mapping[str, Any] | None, validation: str, test: str, said: str) -> None:
    """GLUE's test split has no labels: a card must not say its scores are on it (nor on GLUE's validation
    split where autopeft drew its own from the pooled rows)."""
    meta, body, journal = card_of(tmp_path, data=data)
    journal.close()
    (entry,) = meta["model-index"]
    datasets = {r["dataset"]["split"].split(" (")[0]: r["dataset"] for r in entry["results"]}
    assert datasets["validation"]["split"] == validation and datasets["test"]["split"] == test
    assert datasets["test"]["type"] == "nyu-mll/glue" and datasets["test"]["config"] == "sst2"
    assert said in body


def test_the_card_says_the_journals_numbers(tmp_path: Path) -> None:
    meta, body, journal = card_of(tmp_path)
    with journal:
        chosen = journal.trials()[0]
        finals = sorted(journal.trials(phase="finalize"), key=lambda t: t.seed)
    assert chosen.result is not None
    want_val = {k: v for k, v in chosen.result.metrics.items() if k not in ("score", "temperature")}
    assert index_metrics(meta, "validation") == pytest.approx(want_val, abs=0, rel=1e-12)
    test = [t.result.test_metrics for t in finals if t.result and t.result.test_metrics]
    want_test = {k: statistics.fmean(m[k] for m in test) for k in want_val}
    assert index_metrics(meta, "test") == pytest.approx(want_test, abs=0, rel=1e-12)
    for name in ("accuracy", "ece", "ece_ts", "brier", "nll"):  # the tables, at 4 decimals
        assert table_row(body, name)[0] == f"{chosen.result.metrics[name]:.4f}"
        values = [m[name] for m in test]
        mean_std, *seeds = table_row(body.split("Test split")[1], name)
        assert mean_std == f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"
        assert seeds == [f"{v:.4f}" for v in values]
    assert "trained 4 steps on the first 50% of the training split with seed 3" in body
    assert "re-trained 16 steps with 3 seeds (0, 1, 2)" in body
    assert "ECE after temperature scaling (`ece_ts`)" in body and "Brier score (`brier`)" in body
    assert "**1,234** trainable parameters, 1.6 % of the 77,000 parameters" in body
    assert "ranks: encoder.0 4 (not adapted: encoder.1)" in body and "learning rate: 0.002" in body


def test_the_card_gives_each_class_and_the_seeds_that_lost_one(tmp_path: Path) -> None:
    folder, number = make_run(tmp_path, confusions={0: ((5, 1), (2, 4)), 1: ((6, 0), (6, 0)), 2: ((4, 2), (1, 5))})
    out = make_export(tmp_path)
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**manifest, "labels": ["negative", "positive"]}))
    _, body = split_card(write_card(out, run=folder, trial=number, pick="knee").read_text())
    part = body.split("Per class on the test split, mean ± std over the same seeds:")[1]
    rows = [line for line in part.splitlines() if line.startswith("| ") and "test examples" not in line]
    f1_pos = [8 / 11, 0.0, 10 / 13]  # 2TP / (2TP + FP + FN) per seed
    assert rows[1] == (f"| positive | 6 | {statistics.fmean(f1_pos):.4f} ± {statistics.stdev(f1_pos):.4f} | "
                       f"{statistics.fmean([4 / 6, 0, 5 / 6]):.4f} ± {statistics.stdev([4 / 6, 0, 5 / 6]):.4f} |")
    assert rows[0].startswith("| negative | 6 | ")
    assert "Seed(s) 1 lost `positive`: none of its test examples was predicted as it." in part
    assert "lost `negative`" not in part
    _, plain = card_of(tmp_path / "no-confusion")[:2]  # finalize records without matrices: no per-class part
    assert "Per class" not in plain


def test_commands_rebuild_the_run_with_flags_the_cli_has(tmp_path: Path) -> None:
    meta, body, journal = card_of(tmp_path, task={"file": "data/reviews.csv", "text_fields": ["text"],
                                                  "label_field": "label"}, workers=2)
    journal.close()
    block = body.split("```bash\n")[1].split("```")[0].strip().splitlines()
    assert [shlex.split(c)[:2] for c in block] == [["autopeft", "search"], ["autopeft", "finalize"],
                                                  ["autopeft", "export"]]
    parser = make_parser()
    search, finalize, export = (parser.parse_args(shlex.split(c)[1:]) for c in block)  # exits on an unknown flag
    run = str(tmp_path / "run")
    assert (search.recipe, search.out, search.budget, search.controller, search.seed, search.workers) == \
        ("search/tiny.yaml", run, 5, "random", 3, 2)
    assert (finalize.run, finalize.pick, finalize.seeds) == (run, "knee", 3)
    assert (export.run, export.pick, export.out) == (run, "knee", str(tmp_path / "adapter"))
    assert "reviews" in meta["tags"] and "datasets" not in meta  # a local file is no Hub dataset


def test_a_pick_that_is_not_given_is_the_trial(tmp_path: Path) -> None:
    _, body, journal = card_of(tmp_path, pick=None)
    journal.close()
    assert "--pick trial:1" in body and "this is trial 1." in body


def test_without_finalize_the_card_says_the_test_split_was_not_evaluated(tmp_path: Path) -> None:
    meta, body, journal = card_of(tmp_path, final_seeds=())
    journal.close()
    assert "The test split was not evaluated" in body
    assert index_metrics(meta, "test") == {} and index_metrics(meta, "validation")["accuracy"] == 0.8125
    assert "autopeft finalize" not in body.split("```bash")[1]


def test_generation_task_reports_rouge_and_exact_match(tmp_path: Path) -> None:
    task = {"file": "data/pairs.jsonl", "text_fields": ["source"], "label_field": "target", "kind": "generation",
            "metric": "rouge_l"}
    meta, body, journal = card_of(tmp_path, task=task, metrics=GENERATION, objectives=("rouge_l", "trainable_params"))
    journal.close()
    assert meta["metrics"] == ["rouge_l", "exact_match"]
    assert meta["pipeline_tag"] == "text2text-generation" and "accuracy" not in body
    assert index_metrics(meta, "validation") == {"rouge_l": 0.6123, "exact_match": 0.25}
    assert table_row(body, "rouge_l")[0] == "0.6123" and "Calibration:" not in body
    assert "Task: **pairs** (generation, metric rouge_l)" in body


def test_objectives_in_any_order(tmp_path: Path) -> None:
    meta, body, journal = card_of(tmp_path, objectives=("trainable_params", "accuracy"))
    journal.close()
    assert "The search traded off trainable_params, accuracy; this is trial 1, picked as `knee`." in body
    assert index_metrics(meta, "validation")["accuracy"] == 0.8125


def test_versions_come_from_the_runs_provenance_when_it_has_them(tmp_path: Path) -> None:
    provenance = {"versions": {"autopeft": "9.9.9", "peft": "0.0.1"}, "model": {"id": "flan-t5-small",
                                                                                "source": "Hugging Face Hub id"}}
    _, body, journal = card_of(tmp_path, provenance=provenance)
    journal.close()
    versions = body.split("### Framework versions")[1]
    assert "- autopeft 9.9.9" in versions and "- PEFT 0.0.1" in versions
    assert "`flan-t5-small` (Hugging Face Hub id)" in body
    _, plain, other = card_of(tmp_path / "b")
    other.close()
    import peft

    assert f"- PEFT {peft.__version__}" in plain  # what peft's own card line says, from the installed package


def test_whole_model_folders_are_transformers_models(tmp_path: Path) -> None:
    text = render_card(CardData(base_model="bert-base-uncased", method="full", peft_adapter=False,
                                configuration={"method": "full"}, model_kind="encoder", num_labels=3,
                                task=TaskInfo("sst2", dataset="nyu-mll/glue")))
    meta, body = split_card(text)
    assert meta["library_name"] == "transformers" and meta["base_model"] == "bert-base-uncased"
    assert not any(t.startswith("base_model:adapter:") for t in meta["tags"])
    assert meta["pipeline_tag"] == "text-classification" and "PeftModel" not in body
    assert "AutoModelForSequenceClassification.from_pretrained('path/to/this/folder')" in body


@pytest.mark.parametrize(("base", "source", "linked"), [("google/flan-t5-small", "Hugging Face Hub id", True),
                                                          ("bert-base-uncased", None, True),
                                                          ("t5", "local folder", False),  # a folder beside the recipe
                                                          ("/models/t5", "local folder", False)])
def test_only_a_hub_model_is_linked_to_the_hub(base: str, source: str | None, linked: bool) -> None:
    body = split_card(render_card(CardData(base_model=base, method="ia3", peft_adapter=True,
                                           configuration={"method": "ia3"},
                                           model_id=base, model_source=source)))[1]
    assert (f"[`{base}`](https://huggingface.co/{base})" in body) is linked
    assert f"`{base}`" in body


def test_a_card_outside_a_run_has_no_evaluation(tmp_path: Path) -> None:
    out = make_export(tmp_path, method="ia3", kind="encoder")
    meta, body = split_card(write_card(out).read_text())
    assert meta["library_name"] == "peft" and "model-index" not in meta
    assert "exported outside a search run" in body and "test split was not evaluated" in body
    assert "autopeft search" not in body


@pytest.mark.parametrize(("make", "match"), [
    (lambda: CardData(base_model="", method="lora", peft_adapter=True, configuration={}), "base_model"),
    (lambda: CardData(base_model="m", method="lora", peft_adapter=True, configuration={}, model_kind="decoder"),
     "model_kind 'decoder'"),
    (lambda: Evaluation("train", 4, {0: {"accuracy": 1.0}}), "split 'train'"),
    (lambda: Evaluation("test", 0, {0: {"accuracy": 1.0}}), "steps"),
    (lambda: Evaluation("test", 4, {}), "no seed"),
    (lambda: TaskInfo("t", kind="regression"), "kind 'regression'"),
    (lambda: CardData(base_model="m", method="lora", peft_adapter=True, configuration={},
                      test=Evaluation("validation", 4, {0: {"accuracy": 1.0}})), "allowed: test"),
])
def test_card_data_validates_itself(make: Any, match: str) -> None:
    with pytest.raises(ExportError, match=match):
        make()


def test_the_card_module_imports_no_torch() -> None:
    code = ("import sys, autopeft.study.card; "
            "bad = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("kind", "inputs", "expected"), [
    ("seq2seq", {"text_fields": ["premise", "hypothesis"], "max_length": 64,
                 "template": "premise: {premise}\nhypothesis: {hypothesis}\noptions: {options}"},
     ["Its input is this prompt, the row's `premise` and `hypothesis` in place of the fields and `{options}` as "
      "'yes, no', cut at 64 tokens:", "```text\npremise: {premise}\nhypothesis: {hypothesis}\noptions: {options}\n```",
      "rank classification"]),
    ("encoder", {"text_fields": ["premise", "hypothesis"], "max_length": 128, "template": None},
     ["Its input is the pair of the row's `premise` and `hypothesis` fields, as `tokenizer(premise, hypothesis)` "
      "makes it, cut at 128 tokens."]),
    ("encoder", {"text_fields": ["text"], "max_length": 128, "template": None},
     ["Its input is the row's `text` field, cut at 128 tokens."]),
])
def test_the_card_says_how_the_inputs_were_made_and_names_predict(kind: str, inputs: dict[str, Any],
                                                                  expected: list[str]) -> None:
    body = split_card(render_card(CardData(base_model="m", method="lora", peft_adapter=True,
                                           configuration={"method": "lora"}, model_kind=kind,
                                           labels=("entailment", "not_entailment"),
                                           verbalizers=("yes", "no") if kind == "seq2seq" else (),
                                           inputs=inputs, temperature=1.37, folder="adapters/knee")))[1]
    for text in expected:
        assert text in body
    assert ("`autopeft predict adapters/knee --data FILE.csv` makes the inputs this way and writes each row's class "
            "with its probabilities (the probabilities after temperature scaling with T = 1.37, fitted on "
            "validation); a file that has the label column is scored too.") in " ".join(body.split("\n"))
    old = split_card(render_card(CardData(base_model="m", method="lora", peft_adapter=True,
                                          configuration={"method": "lora"}, model_kind=kind)))[1]
    assert "autopeft predict" not in old  # an export made before the inputs were recorded
