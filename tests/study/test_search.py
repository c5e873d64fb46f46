"""End to end on tiny models: search, status, pareto, finalize, export; kill -9 and resume; bad input."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autopeft.cli import main
from autopeft.study.journal import DB_NAME, Journal, JournalError
from tests.study.conftest import terminal_sigint


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_search_front_finalize_export(tiny_recipe: Path, tmp_path: Path, tiny_bert_dir: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import torch
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file

    from autopeft.methods import build
    from autopeft.metrics import classification_metrics, confusion_matrix
    from autopeft.model.loading import load_model
    from autopeft.runner.worker import Worker
    from autopeft.study.recipe import load_recipe

    out = tmp_path / "run"
    code, text, err = run(["search", str(tiny_recipe), "--out", str(out)], capsys)
    assert code == 0, err
    assert "6/6" in err and "front best" in err and "ETA" in err
    assert "running 1/6 #1 reference:peft_default_lora" in err
    with Journal.open(out, lock=False) as j:
        trials = j.trials()
        assert [t.number for t in trials] == [1, 2, 3, 4, 5, 6]
        assert [t.origin for t in trials[:2]] == ["reference:peft_default_lora", "reference:later_layers_only"]
        assert all(t.origin == "random" for t in trials[2:])
        assert all(t.attempts == 1 for t in trials)
    assert "trials: waiting 0, running 0, complete" in text and "hypervolume" in text
    assert text.rstrip().splitlines()[-1].startswith(f"next: `autopeft finalize {out} --pick front` re-trains every "
                                                     "front point at the final fidelity")

    code, csv_text, _ = run(["pareto", str(out), "--format", "csv"], capsys)
    assert code == 0 and csv_text.splitlines()[0].startswith("trial,origin,steps,method,trainable_params,accuracy")
    rows = json.loads(run(["pareto", str(out), "--format", "json"], capsys)[1])
    params = [r["trainable_params"] for r in rows]
    assert params == sorted(params) and sum(r["knee"] for r in rows) == 1
    accs = [r["accuracy"] for r in rows]
    assert all(a < b for a, b in itertools.pairwise(accs))  # a front: more params, more accuracy

    every = json.loads(run(["pareto", str(out), "--all", "--format", "json"], capsys)[1])
    assert [r["trial"] for r in every] == [1, 2, 3, 4, 5, 6]
    assert {r["trial"] for r in every if r["on_front"]} == {r["trial"] for r in rows}
    with Journal.open(out, lock=False) as j:  # JSON holds each configuration as an object, as journaled
        assert [r["config"] for r in every] == [t.config for t in j.trials()]

    # Finalize and export the most accurate PEFT-adapter trial (head_only saves a whole model, not an adapter);
    # the LoRA reference point (trial 1) guarantees there is one.
    adapters = [r for r in every if r["method"] in ("lora", "ia3")]
    chosen = max(adapters, key=lambda r: (r["on_front"], r["accuracy"]))["trial"]
    code, table, err = run(["finalize", str(out), "--pick", f"trial:{chosen}", "--seeds", "2"], capsys)
    assert code == 0, err
    assert "test split" in table and "±" in table
    names = list(load_recipe(tiny_recipe).task_data().task.label_names)
    per_class = re.search(rf"trial {chosen}, test F1 per class \(mean over 2 seeds\): (.*)", table)
    assert per_class is not None, table
    assert [part.rsplit(" ", 1)[0] for part in per_class.group(1).split(", ")] == names
    adapter = tmp_path / "adapter"
    code, said, err = run(["export", str(out), "--pick", f"trial:{chosen}", "--out", str(adapter)], capsys)
    assert code == 0, err
    assert f"classes, in output order: 0 {names[0]}, 1 {names[1]}\n" in said
    manifest = json.loads((adapter / "autopeft.json").read_text())
    with Journal.open(out, lock=False) as j:  # the finalized seed with the best validation accuracy is exported
        seeds = [t for t in j.trials(phase="finalize") if t.origin == f"finalize:{chosen}"]
    kept = min(seeds, key=lambda t: (-t.values["accuracy"], t.seed))
    assert manifest["source"]["weights"].startswith(f"finalized (trial-{chosen}-seed-{kept.seed}: the best validation")
    assert f"`autopeft export --pick trial:{chosen}` takes the weights {manifest['source']['weights']}" in table
    assert manifest["peft_adapter"] is True and (adapter / "adapter_config.json").is_file()
    assert manifest["labels"] == list(load_recipe(tiny_recipe).task_data().task.label_names)
    with Journal.open(out, lock=False) as j:
        config = j.trial(chosen).config
        (final,) = [t for t in j.trials(phase="finalize") if t.origin == f"finalize:{chosen}" and t.seed == kept.seed]
    assert final.state == "complete" and final.result is not None and final.result.test_metrics is not None
    for command in (["finalize", str(out)], ["export", str(out), "--out", str(tmp_path / "seed")]):
        code, _, err = run([*command, "--pick", f"trial:{final.number}"], capsys)  # a seed is not a search trial
        assert code == 2 and f"is a finalize seed of trial {chosen}, not a trial of the search" in err, err

    # plain peft reloads the adapter on the (headless) base; its test-split predictions are the finalized model's
    torch.manual_seed(999)  # a different fresh head must not matter: the adapter carries the trained head
    reloaded = PeftModel.from_pretrained(load_model(str(tiny_bert_dir), num_labels=2), str(adapter)).eval()
    recipe = load_recipe(tiny_recipe)
    worker = Worker(str(tiny_bert_dir), recipe.task_data(), recipe.training)
    ev = worker.evaluate(reloaded, worker.encoded("test"), worker._context())
    assert ev.scores is not None and ev.labels is not None
    metrics = classification_metrics(ev.scores, ev.labels)
    assert metrics["accuracy"] == final.result.test_metrics["accuracy"]
    assert metrics["nll"] == pytest.approx(final.result.test_metrics["nll"], rel=1e-5)
    assert final.result.confusion is not None
    assert confusion_matrix(ev.labels, ev.scores).tolist() == [list(r) for r in final.result.confusion["test"]]

    # ... and its weights are trained: they differ from the same configuration built untrained
    saved = load_file(str(adapter / "adapter_model.safetensors"))
    untrained = get_peft_model_state_dict(build(load_model(str(tiny_bert_dir), num_labels=2), config).model)
    assert set(saved) == set(untrained)
    assert any("classifier" in k for k in saved)
    moved = [k for k in saved if "classifier" not in k and not torch.equal(saved[k], untrained[k])]
    assert moved, "no adapter weight moved from its initial value"


def _running_trial(db: Path) -> int | None:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        row = conn.execute("SELECT MAX(number) FROM trials WHERE state = 'running'").fetchone()
        conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def test_kill_9_mid_trial_then_resume(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=600, budget=6)  # ~2 s a trial
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "autopeft.cli", "search", str(recipe), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 240
    killed_at = None
    while time.time() < deadline and proc.poll() is None:
        number = _running_trial(out / DB_NAME) if (out / DB_NAME).exists() else None
        if number is not None and number >= 4:
            assert Journal.holder(out) == f"process {proc.pid}"  # status can tell the run is in progress
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = number
            break
        time.sleep(0.05)
    proc.wait(timeout=60)
    assert killed_at is not None, proc.stderr.read().decode() if proc.stderr else ""
    with Journal.open(out, lock=False) as j:
        before = {t.number: t for t in j.trials() if t.state == "complete"}
        assert j.trial(killed_at).state == "running"
    assert set(before) == set(range(1, killed_at))
    assert Journal.holder(out) is None
    from autopeft.study.status import status_text

    shown = status_text(out)  # the dead run's trial is not shown as running
    assert f"interrupted trial {killed_at} (started " in shown and "running trial" not in shown
    assert (f"no process is running this search, and {6 - killed_at} trial(s) of its budget are left; "
            f"`autopeft search --resume {out}` continues it (the interrupted trials run again)") in shown
    assert f" for {6 - killed_at + 1} more" in shown  # the ETA counts the interrupted trial, which runs again

    resumed = subprocess.run([sys.executable, "-m", "autopeft.cli", "search", "--resume", str(out)],
                             capture_output=True, text=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"trial(s) {killed_at} were interrupted" in resumed.stderr
    with Journal.open(out, lock=False) as j:
        trials = j.trials()
    assert [t.number for t in trials] == [1, 2, 3, 4, 5, 6]
    assert all(t.state in ("complete", "failed") for t in trials)
    for number, old in before.items():  # nothing completed was lost or run again
        assert trials[number - 1].result == old.result and trials[number - 1].attempts == 1
    assert trials[killed_at - 1].attempts == 2


def test_sigterm_stops_a_search_like_ctrl_c(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    """``kill PID`` (or a batch scheduler's preemption): one line, exit 143, the journal intact, resumable."""
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=600, budget=4)  # ~2 s a trial
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "autopeft.cli", "search", str(recipe), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        number = _running_trial(out / DB_NAME) if (out / DB_NAME).exists() else None
        if number is not None and number >= 2:
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.05)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err.decode()
    assert f"autopeft: stopped by SIGTERM (the journal is intact: `autopeft search --resume {out}` goes on)" \
        in err.decode() and "Traceback" not in err.decode()
    with Journal.open(out, lock=False) as j:
        states = [t.state for t in j.trials()]
    assert states[0] == "complete" and "running" in states  # the trial it stopped in is run again on resume
    resumed = subprocess.run([sys.executable, "-m", "autopeft.cli", "search", "--resume", str(out)],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with Journal.open(out, lock=False) as j:
        assert [t.state for t in j.trials()] == ["complete"] * 4


@pytest.mark.parametrize(("args", "expect"), [
    (["search", "--budget", "0"], "--budget must be an integer >= 1, got 0"),
    (["search", "--controller", "annealing"], "unknown controller 'annealing'"),
    (["status", "nowhere"], "not a run folder"),
    (["pareto", "nowhere"], "not a run folder"),
    (["search", "--resume", "nowhere"], "not a run folder"),
])
def test_bad_input(args: list[str], expect: str, tiny_recipe: Path, tmp_path: Path,
                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    if args[0] == "search" and "--resume" not in args:
        args = [args[0], str(tiny_recipe), "--out", str(tmp_path / "r"), *args[1:]]
    code, _, err = run(args, capsys)
    assert code == 2 and expect in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r" / DB_NAME).exists()  # nothing written



def test_a_run_whose_model_folder_is_gone_is_refused_before_anything_changes(
        tiny_bert_dir: Path, sentiment_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Resume and finalize check the model first: a run moved to a machine without its model folder says so in
    one line, and neither the search's trials nor finalize's seeds are touched."""
    import shutil

    from tests.study.conftest import write_recipe

    model = Path(shutil.copytree(tiny_bert_dir, tmp_path / "model"))
    recipe = write_recipe(tmp_path / "recipe", model, sentiment_csv, budget=1)
    out = tmp_path / "run"
    assert run(["search", str(recipe), "--out", str(out)], capsys)[0] == 0
    shutil.rmtree(model)
    for args in (["search", "--resume", str(out), "--budget", "2"], ["finalize", str(out), "--pick", "knee"]):
        code, _, err = run(args, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and f"model folder '{model}' of this run is " \
            "missing; allowed: the folder the run was made with at that path, relative to the working directory, " \
            "or --model FOLDER where it is now" in err
    with Journal.open(out, lock=False) as j:
        assert [t.state for t in j.trials(phase=None)] == ["complete"]


def test_a_model_known_by_shape_only_is_refused_before_the_run_is_written(tiny_recipe: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """FLAN-T5's shape is known offline (the space checks pass), but its weights are not here: the search says
    so before it writes a run, instead of failing at its first trial with a run folder left behind."""
    spaces = Path(__file__).resolve().parents[2] / "spaces"
    text = re.sub(r"(?m)^model: .*$", "model: google/flan-t5-small", tiny_recipe.read_text())
    text = re.sub(r"(?m)^space: .*$", f"space: {spaces / 'flan-t5-methods.yaml'}", text)
    recipe = tiny_recipe.with_name("flan.yaml")
    recipe.write_text(text)
    code, _, err = run(["search", str(recipe), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert ("cannot load model 'google/flan-t5-small': it is not a local folder and the Hugging Face Hub is "
            "unreachable") in err
    assert not (tmp_path / "r").exists()
    from autopeft.study.recipe import load_recipe
    from autopeft.study.search import start_search

    # with the NNI engine the trials may run on machines that have the weights: the run is written
    journal, *_ = start_search(load_recipe(recipe), tmp_path / "nni", weights_here=False)
    journal.close()
    assert (tmp_path / "nni" / DB_NAME).exists()

def test_a_max_length_past_the_models_positions_is_refused_before_the_run_is_written(
        tiny_recipe: Path, tiny_bert_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It used to fail every trial on the first long input, with a tensor-size error per trial."""
    from transformers import AutoConfig

    positions = AutoConfig.from_pretrained(tiny_bert_dir).max_position_embeddings
    recipe = tiny_recipe.with_name("long.yaml")
    recipe.write_text(tiny_recipe.read_text().replace("max_length: 16", f"max_length: {positions + 1}"))
    assert f"max_length: {positions + 1}" in recipe.read_text()
    code, _, err = run(["search", str(recipe), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"training.max_length {positions + 1} is more input tokens than this model has positions for" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("dimensions", "tokens"), [
    ("  - {name: method, type: categorical, choices: [lora]}\n", 0),
    ("  - {name: method, type: categorical, choices: [lora, prompt_tuning]}\n", 20),  # prompt tuning's default
    ("  - {name: method, type: categorical, choices: [prompt_tuning]}\n"
     "  - {name: prompt_tuning.num_virtual_tokens, type: integer, low: 4, high: 60}\n", 60),
    ("  - {name: method, type: constant, value: prompt_tuning}\n"
     "  - {name: prompt_tuning.num_virtual_tokens, type: categorical, choices: [8, 49, 16]}\n", 49),
    ("  - {name: method, type: categorical, choices: [prompt_tuning]}\n"
     "  - {name: prompt_tuning.num_virtual_tokens, type: constant, value: 12}\n", 12),
])
def test_most_prompt_tokens_is_the_spaces_largest_prompt(dimensions: str, tokens: int) -> None:
    from autopeft.space import parse_space
    from autopeft.study.context import most_prompt_tokens

    assert most_prompt_tokens(parse_space(f"name: s\ndimensions:\n{dimensions}", "s.yaml")) == tokens


def test_a_prompt_past_the_models_positions_is_refused_before_the_run_is_written(
        tiny_recipe: Path, tiny_bert_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """max_length 16 plus up to 60 virtual tokens is more than the tiny BERT's 64 positions; up to 48 fits."""
    space = tiny_recipe.parent / "prompt.yaml"
    recipe = tiny_recipe.with_name("prompt-recipe.yaml")
    recipe.write_text(tiny_recipe.read_text().replace("space: space.yaml", "space: prompt.yaml"))
    for high, refused in ((60, True), (48, False)):
        space.write_text("name: prompt\ndimensions:\n  - {name: method, type: categorical, choices: [prompt_tuning]}\n"
                         f"  - {{name: prompt_tuning.num_virtual_tokens, type: integer, low: 1, high: {high}}}\n")
        out = tmp_path / f"r{high}"
        code, _, err = run(["search", str(recipe), "--out", str(out), "--budget", "1"], capsys)
        if refused:
            assert code == 2 and len(err.strip().splitlines()) == 1, err
            assert "training.max_length 16 plus 60 prompt-tuning virtual tokens" in err and "at most 64" in err
            assert not out.exists()
        else:
            assert code == 0, err


def test_bad_objective_and_space_that_does_not_fit(tmp_path: Path, tiny_t5_dir: Path, sentiment_csv: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_t5_dir, sentiment_csv)  # head_only does not apply to T5
    code, _, err = run(["search", str(recipe), "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "head_only" in err and not (tmp_path / "r" / DB_NAME).exists()
    assert err.count("\n") == 1 and f"allowed: a space that fits model {str(tiny_t5_dir)!r} (`autopeft spaces " \
        f"list` lists them, `autopeft spaces check SPACE --model {tiny_t5_dir}` checks one)" in err
    text = recipe.read_text().replace("search: {", "search: {objectives: [accuracy, flops], ")
    recipe.write_text(text)
    code, _, err = run(["search", str(recipe), "--out", str(tmp_path / "r2")], capsys)
    assert code == 2 and "flops" in err


def test_a_search_that_exhausts_its_space_ends_cleanly(tiny_recipe: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Two members and a budget of 4: the search tries both and ends with exit 0, saying why; status says it
    ended instead of offering a --resume, and counts nothing left. A limit no member meets is an error."""
    (tmp_path / "two.yaml").write_text("name: two\ndimensions:\n  - {name: method, type: categorical, "
                                       "choices: [head_only, ia3]}\n")
    text = re.sub(r"(?m)^space: .*$", f"space: {tmp_path / 'two.yaml'}", tiny_recipe.read_text())
    recipe = tmp_path / "two-recipe.yaml"
    recipe.write_text(text.replace("search: {budget: 6, ", "search: {budget: 4, references: false, "))
    out = tmp_path / "run"
    code, shown, err = run(["search", str(recipe), "--out", str(out)], capsys)
    note = "the search ended at 2 of its 4 trials: space exhausted: all 2 configurations were tried"
    assert code == 0 and note in err and note in shown, err
    assert "--resume" not in shown and "ETA 0.0 min for 0 more" in shown
    assert run(["report", str(out), "--out", str(tmp_path / "report")], capsys)[0] == 0
    assert ("| ended early | ended at 2 of its 4 trials: space exhausted: all 2 configurations were tried |"
            in (tmp_path / "report" / "report.md").read_text())
    limited = tmp_path / "limited.yaml"
    limited.write_text(recipe.read_text().replace("references: false, ",
                                                  "references: false, max_trainable_params: 1, "))
    code, _, err = run(["search", str(limited), "--out", str(tmp_path / "none")], capsys)
    assert code == 2 and "no feasible configuration left" in err and len(err.strip().splitlines()) == 1


def test_pick_naming_nothing(tiny_recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert run(["search", str(tiny_recipe), "--out", str(out), "--budget", "2"], capsys)[0] == 0
    for pick, expect in (("max-params:1", "names nothing on the front"),
                         ("max-params:1", "allowed: max-params:N with N >= "),
                         ("max-params:-5", "N must be a number of parameters >= 1"),
                         ("max-params:nan", "N must be a number of parameters >= 1"),
                         ("max-params:lots", "N must be a number of parameters >= 1"),
                         ("trial:99", "no trial 99"), ("nearest", "allowed: knee, best")):
        code, _, err = run(["export", str(out), "--pick", pick, "--out", str(tmp_path / "x")], capsys)
        assert code == 2 and expect in err, err
    lock = out / ".lock"
    def files() -> dict[str, bytes]:  # a reader may write its read mark into the -shm index, nothing else
        return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.endswith("-shm")}

    before = files()
    stamp = lock.stat().st_mtime_ns
    for args in (["--pick", "trial:99"], ["--pick", "max-params:1"], ["--seeds", "0"]):
        code, _, err = run(["finalize", str(out), *args], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
    # checked before the run is locked: the folder is as it was, .lock included
    assert files() == before
    assert lock.stat().st_mtime_ns == stamp


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited and not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except OSError:
        return False


def test_parent_killed_mid_search_with_workers_then_resume(tmp_path: Path, tiny_bert_dir: Path,
                                                           sentiment_csv: Path) -> None:
    """kill -9 of the study process: its workers exit on their own; --resume with workers loses no completed
    trial, duplicates none, and runs each interrupted trial once more."""
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=600, budget=6)  # a second or two a trial
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "autopeft.cli", "search", str(recipe), "--out", str(out), "--workers", "2"]
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, text=True, env=env)
    pids: list[int] = []
    deadline = time.time() + 240
    while True:  # "[pool] worker 0 (pid 123, cpu) ready ..." tells the workers' pids
        lines = log.read_text().splitlines()
        pids = [int(x.split("(pid ")[1].split(",")[0]) for x in lines if "[pool] worker" in x and " ready " in x]
        counts = {}
        if (out / DB_NAME).exists():
            try:
                with Journal.open(out, lock=False) as j:
                    counts = j.counts()
            except JournalError:  # the file exists a moment before its tables are committed
                counts = {}
        if len(pids) == 2 and counts.get("complete", 0) >= 3 and counts.get("running", 0) == 2:
            break
        assert time.time() < deadline and proc.poll() is None, log.read_text()
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    gone = time.time() + 10
    while any(_alive(p) for p in pids) and time.time() < gone:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)], "orphan workers outlived the killed study process"
    with Journal.open(out, lock=False) as j:
        before = {t.number: t for t in j.trials() if t.state == "complete"}
        interrupted = [t.number for t in j.trials() if t.state == "running"]
    assert len(before) >= 3 and len(interrupted) == 2

    resumed = subprocess.run([sys.executable, "-m", "autopeft.cli", "search", "--resume", str(out), "--workers", "2"],
                             capture_output=True, text=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"trial(s) {', '.join(map(str, interrupted))} were interrupted" in resumed.stderr
    with Journal.open(out, lock=False) as j:
        trials = j.trials()
        meta = j.meta("engine")
    assert [t.number for t in trials] == list(range(1, 7))  # the budget, no gap, no duplicate number
    assert all(t.state == "complete" for t in trials)
    for number, old in before.items():  # nothing completed was lost or run again
        assert trials[number - 1].result == old.result and trials[number - 1].attempts == 1
    assert all(trials[n - 1].attempts == 2 for n in interrupted)
    searched = [json.dumps(t.config, sort_keys=True) for t in trials if t.origin == "random"]
    assert len(searched) == len(set(searched))  # no configuration proposed twice
    assert meta["name"] == "pool" and meta["workers"] == 2


def test_ctrl_c_stops_the_workers_cleanly(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=30000, budget=4)
    out, log = tmp_path / "run", tmp_path / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "autopeft.cli", "search", str(recipe), "--out", str(out),
                                 "--workers", "2"], stdout=subprocess.DEVNULL, stderr=err, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=terminal_sigint)
    deadline = time.time() + 120
    while True:
        text = log.read_text()
        pids = [int(x.split("(pid ")[1].split(",")[0]) for x in text.splitlines() if " ready " in x]
        if len(pids) == 2 and _running_trial(out / DB_NAME):
            break
        assert time.time() < deadline and proc.poll() is None, text
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends (to the study; workers ignore it anyway)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the interrupted search did not exit within 60 s; its stderr:\n{log.read_text()}")
    assert code == 130
    text = log.read_text()
    assert f"autopeft: interrupted (the journal is intact: `autopeft search --resume {out}` goes on)" in text
    assert "Traceback" not in text, text
    assert not [p for p in pids if _alive(p)]
    with Journal.open(out, lock=False) as j:
        assert j.counts()["running"] >= 1  # left for --resume to run again


def test_no_more_workers_start_than_trials_are_left(tiny_recipe: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Each worker loads the model: 64 asked for a 1-trial search start 1, and a 2-seed finalize starts 2."""
    out = tmp_path / "run"
    code, _, err = run(["search", str(tiny_recipe), "--out", str(out), "--budget", "1", "--workers", "64"], capsys)
    assert code == 0 and "64 workers asked for, 1 trial(s) to run: 1 worker(s)" in err
    with Journal.open(out, lock=False) as j:
        assert j.meta("engine")["workers"] == 1
    code, _, err = run(["finalize", str(out), "--seeds", "1", "--workers", "3"], capsys)
    assert code == 0 and "3 workers asked for, 1 trial(s) to run: 1 worker(s)" in err


def test_a_search_whose_every_trial_failed_says_so_and_how_to_go_on(tiny_recipe: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty front: the last line does not offer to finalize it; it points at the errors and at a resume
    with a larger budget, which (once the cause is mended) runs the new trials."""
    from autopeft.runner.worker import Worker

    real = Worker._run

    def broken(self: Worker, *args: object, **kwargs: object) -> object:
        raise RuntimeError("out of disk")

    monkeypatch.setattr(Worker, "_run", broken)
    out = tmp_path / "run"
    code, text, err = run(["search", str(tiny_recipe), "--out", str(out), "--budget", "3"], capsys)
    assert code == 0, err
    lines = text.rstrip().splitlines()
    assert "trials: waiting 0, running 0, complete 0, failed 3" in text and "failed trial 1: " in text
    assert "out of disk" in text
    assert lines[-1] == (f"next: no trial completed, so the front is empty and there is nothing to finalize or export; "
                         f"the first failed trials' errors are listed above (3 failed); `autopeft pareto {out} --all` "
                         f"lists every trial with its state and error, and `autopeft search --resume {out} --budget N` "
                         f"runs more trials (N in all)")
    code, listed, _ = run(["pareto", str(out), "--all"], capsys)
    assert code == 0 and listed.count("failed") == 3 and "out of disk" in listed
    code, _, err = run(["export", str(out), "--pick", "trial:2", "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and err == (f"autopeft: error: --pick 'trial:2': trial 2 is failed, not complete; allowed: a "
                                 f"complete trial's id (`autopeft pareto {out} --all` lists them)\n")

    monkeypatch.setattr(Worker, "_run", real)  # the cause mended
    code, text, err = run(["search", "--resume", str(out), "--budget", "5"], capsys)
    assert code == 0, err
    assert "complete 2, failed 3" in text and text.rstrip().splitlines()[-1].startswith("next: `autopeft finalize")


def test_bo_on_t5_skips_lora_that_adapts_no_module(tmp_path: Path, tiny_t5_dir: Path, sentiment_csv: Path) -> None:
    """The shipped T5 space holds LoRA members that adapt nothing on a given model (``cross_attention`` with every
    decoder block at rank 0). Their parameter count was 0, and bo's model phase crashed on it ("compared on a log
    scale and needs values > 0"); now such a member is infeasible and the search runs to its budget."""
    import io

    from autopeft.study.recipe import load_recipe
    from autopeft.study.search import run_search

    space = Path(__file__).resolve().parents[2] / "spaces" / "flan-t5-layers.yaml"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""\
name: t5-bo
model: {tiny_t5_dir}
task: {{file: {sentiment_csv}, text_fields: [text], label_field: label}}
space: {space}
data: {{seed: 0, n_train: 32, n_validation: 16, n_test: 8}}
fidelity: {{steps: 1}}
training: {{batch_size: 8, eval_batch_size: 16, max_length: 16, target_max_length: 4, curve_fractions: [1.0]}}
search: {{budget: 11, controller: bo, references: false, final_seeds: 1}}
""")
    run = tmp_path / "run"
    run_search(load_recipe(recipe), run, stream=io.StringIO())
    journal = Journal.open(run)
    try:
        trials = journal.trials()
    finally:
        journal.close()
    assert len(trials) == 11 and all(t.state == "complete" for t in trials)
    assert all(t.result is not None and (t.result.trainable_params or 0) > 0 for t in trials)
