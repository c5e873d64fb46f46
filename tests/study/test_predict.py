"""``autopeft predict``: an export run on a file reproduces the trial's own validation scores on that split."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autopeft.cli import main
from autopeft.study.finalize import export_pick
from autopeft.study.recipe import load_recipe
from autopeft.study.search import run_search
from benchmarks.reliability import tiny

#: the metrics a trial records that predict computes again on the same rows
SAME = ("accuracy", "macro_f1", "balanced_accuracy", "ece", "brier", "nll", "temperature", "ece_ts", "nll_ts")

T5_SPACE = """\
name: t5-tiny
dimensions:
  - {name: method, type: categorical, choices: [lora]}
  - {name: lora.r, type: integer, low: 2, high: 4}
  - {name: lora.modules, type: categorical, choices: [qv]}
"""


def write_recipe(folder: Path, model: Path, data: Path, *, space: str = T5_SPACE, kind: str = "classification",
                 steps: int = 4, budget: int = 2) -> Path:
    """``recipe.yaml`` and ``space.yaml`` in ``folder``: a random search of ``budget`` trials, no references."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "space.yaml").write_text(space)
    fields = "text_fields: [text], label_field: label" if kind == "classification" else \
        "text_fields: [source], label_field: target, kind: generation"
    task = f"{{file: {data}, {fields}}}"
    objectives = "" if kind == "classification" else "objectives: [rouge_l, trainable_params], "
    path = folder / "recipe.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: tiny-{kind}
        model: {model}
        task: {task}
        space: space.yaml
        data: {{seed: 0, n_validation: 16, n_test: 8}}
        fidelity: {{steps: {steps}}}
        training: {{batch_size: 8, eval_batch_size: 16, max_length: 16, target_max_length: 4, curve_fractions: [1.0]}}
        search: {{budget: {budget}, controller: random, references: false, {objectives}final_seeds: 1}}
        """))
    return path


def validation_file(recipe: Path, out: Path) -> Path:
    """The run's validation split as a file, labels by name, with one empty row appended."""
    data = load_recipe(recipe).task_data()
    task = data.task
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "label"])
        for ex in data.split("validation"):
            writer.writerow([ex.texts[0], task.label_names[ex.label] if task.kind == "classification" else ex.target])
        writer.writerow(["", ""])
    return out


def search_and_export(recipe: Path, tmp_path: Path, *, merge: bool = False, pick: str = "best") -> Path:
    run = tmp_path / "run"
    if not run.exists():
        run_search(load_recipe(recipe), run, stream=io.StringIO())
    return export_pick(run, pick, tmp_path / f"export-{pick.replace(':', '-')}{'-merged' * merge}", overwrite=True,
                       merge=merge)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("merge", [False, True])
def test_an_encoder_export_scores_its_validation_split_as_the_trial_did(
        merge: bool, tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tiny.tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv, budget=2, lr_factors=[1])
    folder = search_and_export(recipe, tmp_path, merge=merge)
    manifest = json.loads((folder / "autopeft.json").read_text())
    assert manifest["inputs"] == {"task": "reviews", "kind": "classification", "text_fields": ["text"],
                                  "label_field": "label", "template": None, "max_length": 16,
                                  "target_max_length": 16, "segments": True}
    assert (folder / "tokenizer.json").is_file()  # the folder is whole: a pipeline finds its tokenizer
    data = validation_file(recipe, tmp_path / "val.csv")
    out = tmp_path / "pred.csv"
    code, _, err = run_cli(["predict", str(folder), "--data", str(data), "--text-fields", "review", "--out", str(out)],
                           capsys)
    assert code == 0, err
    rows = rows_of(out)
    assert len(rows) == 17 and [r["row"] for r in rows] == [str(i) for i in range(1, 18)]
    assert rows[-1]["prediction"] == "" and "note: 1 of 17 rows have an empty text and get no prediction" in err
    probs = np.array([[float(r["p_negative"]), float(r["p_positive"])] for r in rows[:-1]])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert all(r["prediction"] == ("negative", "positive")[int(np.argmax(p))] for r, p in zip(rows, probs,
                                                                                              strict=False))
    labels = [r["label"] for r in rows[:-1]]
    accuracy = np.mean([r["prediction"] == lab for r, lab in zip(rows, labels, strict=False)])
    assert accuracy == pytest.approx(manifest["metrics"]["accuracy"])
    assert f"scored 16 labelled rows: accuracy {manifest['metrics']['accuracy']:.4f}" in err

    from autopeft.study.predict import predict

    result = predict(folder, data, text_fields=["review"])
    tol = 1e-4 if merge else 1e-9  # a merged model's outputs match the adapter's to float rounding
    for name in SAME:
        assert result.metrics is not None and result.metrics[name] == pytest.approx(
            manifest["metrics"][name], abs=tol), name
    if merge:  # a whole model with its tokenizer and class names: a pipeline takes the folder alone
        from transformers import pipeline

        classify = pipeline("text-classification", model=str(folder))
        texts = [r[0] for r in csv.reader(data.open())][1:-1]
        assert [c["label"] for c in classify(texts)] == [r["prediction"] for r in rows[:-1]]
    raw = predict(folder, data, text_fields=["review"], calibrated=False)
    assert raw.temperature is None and "ece_ts" not in (raw.metrics or {})
    assert raw.metrics is not None and raw.metrics["ece"] == pytest.approx(result.metrics["ece"])


def test_a_t5_export_answers_with_its_prompt(tmp_path: Path, tiny_t5_dir: Path, sentiment_csv: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Rank classification over the class words, on the prompt the trial was trained with."""
    recipe = write_recipe(tmp_path, tiny_t5_dir, sentiment_csv)
    folder = search_and_export(recipe, tmp_path)
    manifest = json.loads((folder / "autopeft.json").read_text())
    assert manifest["inputs"]["template"] == "text: {text}\noptions: {options}"
    data = validation_file(recipe, tmp_path / "val-t5.csv")
    from autopeft.study.predict import predict

    result = predict(folder, data, text_fields=["review"])
    for name in SAME:
        assert result.metrics is not None and result.metrics[name] == pytest.approx(manifest["metrics"][name]), name
    code, text, err = run_cli(["predict", str(folder), "--data", str(data), "--text-fields", "review"], capsys)
    assert code == 0, err
    assert text.splitlines()[0] == "row,prediction,confidence,p_negative,p_positive,label"
    assert len(text.splitlines()) == 18


def test_a_generation_export_writes_its_answers(tmp_path: Path, tiny_t5_dir: Path, generation_jsonl: Path) -> None:
    recipe = write_recipe(tmp_path, tiny_t5_dir, generation_jsonl, kind="generation")
    folder = search_and_export(recipe, tmp_path, pick="trial:1")
    manifest = json.loads((folder / "autopeft.json").read_text())
    data = load_recipe(recipe).task_data()
    file = tmp_path / "new.jsonl"
    file.write_text("".join(json.dumps({"source": " ".join(ex.texts), "target": ex.target}) + "\n"
                            for ex in data.split("validation")))
    from autopeft.study.predict import predict, write_predictions

    result = predict(folder, file)
    assert result.columns == ("row", "prediction", "reference") and len(result.rows) == 16
    assert result.metrics == pytest.approx({"exact_match": manifest["metrics"]["exact_match"],
                                            "rouge_l": manifest["metrics"]["rouge_l"]})
    written = write_predictions(result, tmp_path / "out.jsonl")
    assert [json.loads(line) for line in written.read_text().splitlines()] == list(result.rows)


def test_bad_input_gets_one_line(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tiny.tiny_recipe(tmp_path, tiny_bert_dir, sentiment_csv, budget=2, lr_factors=[1])
    folder = search_and_export(recipe, tmp_path)
    data = validation_file(recipe, tmp_path / "val.csv")
    cases = {
        "not a folder": (["predict", str(tmp_path / "nope"), "--data", str(data)], "is not a folder"),
        "no such column": (["predict", str(folder), "--data", str(data)],
                           "column(s) 'text' not in data file"),
        "bad label": (["predict", str(folder), "--data", str(sentiment_csv), "--label-field", "text"],
                      "has label values outside the model's classes"),
        "two columns for one field": (["predict", str(folder), "--data", str(data), "--text-fields", "review,label"],
                                      "2 text column(s) 'review', 'label' for a task of 1 text field(s)"),
        "bad out": (["predict", str(folder), "--data", str(sentiment_csv), "--out", str(tmp_path / "p.txt")],
                    "unsupported extension '.txt'; allowed: .csv, .jsonl"),
        "batch size": (["predict", str(folder), "--data", str(sentiment_csv), "--batch-size", "0"], "--batch-size"),
        "missing file": (["predict", str(folder), "--data", str(tmp_path / "none.csv")], "does not exist"),
        "a run folder": (["predict", str(tmp_path / "run"), "--data", str(sentiment_csv)],
                         "is a run folder, not an export; allowed: a folder `autopeft export"),
        "no text field": (["predict", str(folder), "--data", str(sentiment_csv), "--text-fields", " , "],
                          "--text-fields ' , ' names no column"),
        "out is a folder": (["predict", str(folder), "--data", str(sentiment_csv), "--out", str(tmp_path)],
                            "is a folder; allowed: a file name ending in .csv, .jsonl"),
    }
    for name, (args, message) in cases.items():
        code, _, err = run_cli(args, capsys)
        assert code == 2 and message in err and "Traceback" not in err, (name, err)
        assert len(err.strip().splitlines()) == 1, (name, err)
    manifest = json.loads((folder / "autopeft.json").read_text())
    manifest.pop("inputs")
    (folder / "autopeft.json").write_text(json.dumps(manifest))
    code, _, err = run_cli(["predict", str(folder), "--data", str(sentiment_csv)], capsys)
    assert code == 2 and "does not record how its model's inputs were made" in err
    for name, weights in (("adapter", "adapter_model.safetensors"), ("merged", "model.safetensors")):
        damaged = search_and_export(recipe, tmp_path, merge=name == "merged")
        (damaged / weights).write_text("garbage")
        code, _, err = run_cli(["predict", str(damaged), "--data", str(sentiment_csv)], capsys)
        assert code == 2 and "cannot read its weights (SafetensorError" in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1
    moved = tmp_path / "export-trial-1"
    code, said, err = run_cli(["export", str(tmp_path / "run"), "--pick", "trial:1", "--out", str(moved)], capsys)
    assert code == 0, err
    assert f"on new rows: autopeft predict {moved} --data FILE.csv (inputs made as in training)" in said
    code, _, err = run_cli(["predict", str(moved), "--data", str(sentiment_csv), "--base-model",
                            str(tmp_path / "elsewhere")], capsys)
    assert code == 2 and "cannot load its model" in err and "allowed: --base-model" not in err


@pytest.mark.parametrize(("model", "methods"), [
    ("bert", ["lora", "ia3", "ln_tuning", "bitfit", "head_only", "prompt_tuning", "beft", "full"]),
    ("t5", ["lora", "dora", "ia3", "prompt_tuning", "prefix_tuning", "ln_tuning", "beft", "full"]),
])
def test_every_method_predicts_what_its_trial_scored(model: str, methods: list[str], tmp_path: Path,
                                                     tiny_models: dict[str, Path], sentiment_csv: Path) -> None:
    """Adapters of every peft type (BEFT and BitFit included) and whole models, loaded as predict loads them."""
    space = f"name: methods\ndimensions:\n  - {{name: method, type: categorical, choices: [{', '.join(methods)}]}}\n"
    recipe = write_recipe(tmp_path, tiny_models[model], sentiment_csv, space=space, steps=3, budget=len(methods))
    run_search(load_recipe(recipe), tmp_path / "run", stream=io.StringIO())
    data = validation_file(recipe, tmp_path / "val.csv")
    from autopeft.study.predict import predict

    done = []
    for number in range(1, len(methods) + 1):
        folder = search_and_export(recipe, tmp_path, pick=f"trial:{number}")
        manifest = json.loads((folder / "autopeft.json").read_text())
        result = predict(folder, data, text_fields=["review"])
        assert result.metrics is not None
        for name in SAME:
            assert result.metrics[name] == pytest.approx(manifest["metrics"][name], abs=1e-6), (manifest["method"],
                                                                                                 name)
        done.append(manifest["method"])
    assert sorted(done) == sorted(methods)


def test_an_export_of_a_model_named_relative_to_the_working_directory_loads_from_anywhere(
        tmp_path: Path, tiny_t5_dir: Path, sentiment_csv: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A run on ``--model t5`` (a folder where it runs) keeps 't5' as named; its export used to name base model
    't5' too, so ``predict`` and ``PeftModel.from_pretrained`` from another folder could not find it. The export
    names the folder's absolute path; the run keeps the name (a moved project folder still reopens)."""
    import shutil

    from autopeft.study.base_model import manifest_base
    from autopeft.study.predict import load_export

    project = tmp_path / "project"
    shutil.copytree(tiny_t5_dir, project / "t5")
    monkeypatch.chdir(project)
    recipe = write_recipe(project / "exp", Path("t5"), sentiment_csv)
    run_search(load_recipe(recipe), project / "run", stream=io.StringIO())
    assert load_recipe(recipe).model == "t5"
    folder = export_pick(project / "run", "best", project / "export")
    manifest = json.loads((folder / "autopeft.json").read_text())
    adapter = json.loads((folder / "adapter_config.json").read_text())
    assert (manifest["model_id"], manifest["base_model"]) == ("t5", str(project / "t5"))
    assert adapter["base_model_name_or_path"] == str(project / "t5")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert manifest_base(manifest) == str(project / "t5")
    load_export(folder)  # loads, from a folder where 't5' means nothing
    code, out, err = run_cli(["predict", str(folder), "--data", str(sentiment_csv)], capsys)
    assert code == 0 and "Traceback" not in err and out.startswith("row,prediction,confidence")
    # an export made before (base model named 't5', relative) still loads where 't5' is found
    assert manifest_base({"model_id": "t5", "base_model": "t5"}) == "t5"
    assert manifest_base({"model_id": "minilm", "base_model": str(project / "t5")}) == "minilm"  # an alias
