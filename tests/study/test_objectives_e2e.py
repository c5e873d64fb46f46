"""Every objective kind end to end on tiny models: search, status, pareto (table, CSV, JSON), finalize --pick
best and max-params:N, export and report, each keyed on the run's own score objective.

Cases: accuracy, macro-F1, balanced accuracy, ECE given as ``[trainable_params, ece]`` (the parameter count first
and a score that is minimised), and two generation searches on the tiny T5 (ROUGE-L and exact match).
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from autopeft.cli import main
from autopeft.objectives import PARAMS, get_objective
from autopeft.study.journal import Journal, Trial

CLASSIFICATION_SPACE = """\
    name: tiny-objectives
    dimensions:
      - {name: method, type: categorical, choices: [lora, ia3, head_only]}
      - {name: lora.r, type: categorical, choices: [2, 4], when: {method: lora}}
      - {name: learning_rate, type: float, low: 1.0e-3, high: 3.0e-2, log: true}
    """
GENERATION_SPACE = """\
    name: tiny-generation
    dimensions:
      - {name: method, type: categorical, choices: [lora, ia3]}
      - {name: lora.r, type: categorical, choices: [2, 4], when: {method: lora}}
      - {name: learning_rate, type: float, low: 1.0e-3, high: 3.0e-2, log: true}
    """


@dataclass(frozen=True)
class Case:
    id: str
    objectives: tuple[str, ...]
    generation: bool = False
    metric: str | None = None          # the generation task's own metric
    budget: int = 4                    # generation trials cost more (greedy decoding): one fewer

    @property
    def score(self) -> str:
        return next(o for o in self.objectives if o != PARAMS)


CASES = [
    Case("accuracy", ("accuracy", PARAMS)),
    Case("macro_f1", ("macro_f1", PARAMS)),
    Case("balanced_accuracy", ("balanced_accuracy", PARAMS)),
    Case("ece", (PARAMS, "ece")),
    Case("rouge_l", ("rouge_l", PARAMS), generation=True, budget=3),
    Case("exact_match", ("exact_match", PARAMS), generation=True, metric="exact_match", budget=3),
]


def write_objective_recipe(folder: Path, model: Path, data: Path, case: Case) -> Path:
    """A tiny recipe for ``case``: 3-4 random trials of 2 steps, no reference points, finalize at 2 steps."""
    folder.mkdir(parents=True, exist_ok=True)
    space = GENERATION_SPACE if case.generation else CLASSIFICATION_SPACE
    (folder / "space.yaml").write_text(textwrap.dedent(space))
    if case.generation:
        metric = f", metric: {case.metric}" if case.metric else ""
        task = f"{{file: {data}, text_fields: [source], label_field: target, kind: generation{metric}}}"
    else:
        task = f"{{file: {data}, text_fields: [text], label_field: label}}"
    path = folder / "recipe.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: tiny-{case.id}
        model: {model}
        task: {task}
        space: space.yaml
        data: {{seed: 0, n_validation: 10, n_test: 8}}
        fidelity: {{steps: 2}}
        training: {{batch_size: 8, eval_batch_size: 16, max_length: 16, target_max_length: 3, curve_fractions: [1.0]}}
        search: {{budget: {case.budget}, controller: random, references: false,
                  objectives: [{', '.join(case.objectives)}], final_fidelity: {{steps: 2}}, final_seeds: 1}}
        """))
    return path


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def brute_best(trials: list[Trial], score: str, limit: float = float("inf")) -> tuple[float, float]:
    """(best score, fewest params at that score) over every complete trial within ``limit`` parameters."""
    sign = 1.0 if get_objective(score).direction == "max" else -1.0
    ok = [t for t in trials if t.state == "complete" and t.values[PARAMS] <= limit]
    best = max(sign * t.values[score] for t in ok)
    return sign * best, min(t.values[PARAMS] for t in ok if sign * t.values[score] == best)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_objective_end_to_end(case: Case, tmp_path: Path, tiny_bert_dir: Path, tiny_t5_dir: Path,
                              sentiment_csv: Path, generation_jsonl: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from autopeft.study.finalize import pick

    model, data = (tiny_t5_dir, generation_jsonl) if case.generation else (tiny_bert_dir, sentiment_csv)
    recipe = write_objective_recipe(tmp_path / "recipe", model, data, case)
    run = tmp_path / "run"
    cli(["search", str(recipe), "--out", str(run)], capsys)
    with Journal.open(run, lock=False) as journal:
        trials = journal.trials()
    complete = [t for t in trials if t.state == "complete"]
    assert len(complete) == case.budget, [t.error for t in trials]
    assert all(case.score in t.values for t in complete)
    label = get_objective(case.score).label

    # status names the score objective and gives the best value of it
    status = cli(["status", str(run)], capsys)
    best_value, best_params = brute_best(trials, case.score)
    assert f"best validation {label} {best_value:.4f}" in status, status
    n_front = len(json.loads(cli(["pareto", str(run), "--format", "json"], capsys)))
    assert f": {n_front} point{'' if n_front == 1 else 's'}, hypervolume" in status

    # pareto: the objective's column filled in on every row, in every format
    rows = json.loads(cli(["pareto", str(run), "--format", "json"], capsys))
    assert rows and all(isinstance(r[case.score], float) for r in rows)
    on_front = {r["trial"] for r in rows}
    by_number = {t.number: t for t in complete}
    assert all(r[case.score] == by_number[r["trial"]].values[case.score] for r in rows)
    table = list(csv.DictReader(io.StringIO(cli(["pareto", str(run), "--format", "csv"], capsys))))
    assert [int(r["trial"]) for r in table] == [r["trial"] for r in rows]
    assert all(float(r[case.score]) == pytest.approx(by_number[int(r["trial"])].values[case.score]) for r in table)
    text = cli(["pareto", str(run)], capsys).splitlines()
    assert label in text[0]  # whole, however long ("exact match")
    body = [line for line in text[2:] if line[:5].strip().isdigit()]
    assert len(body) == len(rows)
    for line, r in zip(body, rows, strict=True):
        assert f"{r[case.score]:.4f}" in line, line
    every = json.loads(cli(["pareto", str(run), "--all", "--format", "json"], capsys))
    assert {r["trial"] for r in every if r["on_front"]} == on_front

    # picks: best and max-params:N against brute force over the journal (direction respected)
    with Journal.open(run, lock=False) as journal:
        from autopeft.objectives import objectives_of

        objectives = objectives_of(list(case.objectives))
        best = pick(journal, "best", objectives)
        assert (best.values[case.score], best.values[PARAMS]) == (best_value, best_params)
        sizes = sorted({t.values[PARAMS] for t in complete})
        for limit in sizes:
            chosen = pick(journal, f"max-params:{int(limit)}", objectives)
            assert chosen.values[PARAMS] <= limit
            assert chosen.values[case.score] == brute_best(trials, case.score, limit)[0]

    # finalize the best, export it, report the run
    final = cli(["finalize", str(run), "--pick", "best", "--seeds", "1"], capsys)
    assert "test split" in final
    with Journal.open(run, lock=False) as journal:
        done = journal.trials(phase="finalize", states=("complete",))
    assert [t.origin for t in done] == [f"finalize:{best.number}"]
    assert done[0].result is not None and done[0].result.test_metrics is not None
    assert case.score in done[0].result.test_metrics
    assert f"{done[0].result.test_metrics[case.score]:.4f}" in final

    out = tmp_path / "export"
    cli(["export", str(run), "--pick", "best", "--out", str(out)], capsys)
    manifest = json.loads((out / "autopeft.json").read_text())
    assert manifest["source"]["trial"] == best.number
    _load_exported(out, manifest, model, case)

    report = tmp_path / "report"
    cli(["report", str(run), "--out", str(report)], capsys)
    page = (report / "index.html").read_text()
    assert f"against {label}" in page and f"val {label}" in page and f"TEST {label}" in page
    with open(report / "summary.csv") as fh:
        summary = list(csv.DictReader(fh))
    assert float(summary[0][f"best_validation_{case.score}"]) == pytest.approx(best_value)
    with open(next(report.glob("*-finalize.csv"))) as fh:
        fin = list(csv.DictReader(fh))
    assert float(fin[0][f"test_{case.score}_mean"]) == pytest.approx(done[0].result.test_metrics[case.score])


def _load_exported(folder: Path, manifest: dict[str, object], model: Path, case: Case) -> None:
    """The exported folder loads: as a peft adapter on the base model, or as a whole model."""
    from peft import PeftModel

    from autopeft.model.loading import load_model

    if manifest.get("peft_adapter"):
        base = load_model(str(model)) if case.generation else load_model(str(model), num_labels=2)
        loaded = PeftModel.from_pretrained(base, str(folder))
        assert sum(p.numel() for p in loaded.parameters()) > 0
    else:
        assert any(folder.glob("*.safetensors")) or any(folder.glob("*.bin")), sorted(folder.iterdir())


@pytest.mark.parametrize(("generation", "objectives", "bad", "allowed"), [
    (True, ("accuracy", PARAMS), "accuracy", "allowed: rouge_l, exact_match, trainable_params, e.g. objectives: "
                                             "[rouge_l, trainable_params]"),
    (False, ("rouge_l", PARAMS), "rouge_l",
     "allowed: accuracy, macro_f1, ece, nll, brier, balanced_accuracy, trainable_params"),
], ids=["generation-with-accuracy", "classification-with-rouge"])
def test_an_objective_the_task_does_not_report_is_refused_before_any_trial(
        generation: bool, objectives: tuple[str, ...], bad: str, allowed: str, tmp_path: Path,
        tiny_bert_dir: Path, tiny_t5_dir: Path, sentiment_csv: Path, generation_jsonl: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Before, a generation search under the default objectives ran every trial and ended with an empty front."""
    model, data = (tiny_t5_dir, generation_jsonl) if generation else (tiny_bert_dir, sentiment_csv)
    case = Case("mismatch", objectives, generation=generation)
    recipe = write_objective_recipe(tmp_path / "recipe", model, data, case)
    assert main(["search", str(recipe), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"search.objectives: {bad!r} is not reported by the " in err and allowed in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "run" / "study.db").exists()


def test_picking_from_a_run_whose_trials_lack_its_objective_says_so(tmp_path: Path) -> None:
    """A run journaled before the check above: its trials complete, none with the objective; the pick says why
    the front is empty instead of 'no complete trial'."""
    from autopeft.errors import ConfigError
    from autopeft.objectives import objectives_of
    from autopeft.study.finalize import pick
    from autopeft.trial import Fidelity, TrialResult

    with Journal.create(tmp_path / "run", {"name": "old"}) as j:
        j.set_meta("settings", {"objectives": ["accuracy", PARAMS]})
        t = j.add_trial({"method": "ia3"}, Fidelity(steps=2), seed=0, origin="random")
        j.start(t.number)
        j.finish(t.number, TrialResult(config={"method": "ia3"}, fidelity=Fidelity(steps=2), seed=0,
                                       status="complete", metrics={"rouge_l": 0.4}, trainable_params=10,
                                       total_params=100))
        with pytest.raises(ConfigError, match=r"none of the run's 1 complete trials reports every objective "
                                              r"\(accuracy, trainable_params\); they report rouge_l, "):
            pick(j, "knee", objectives_of(["accuracy", PARAMS]))
