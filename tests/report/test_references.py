"""Tuned reference points in a report: each reference's learning-rate sweep grouped by name, its tuned point
(the sweep's best on the validation score, direction respected) and the search compared with the TUNED point.

The runs are written straight into a journal (no training), so every number is known in advance.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from autopeft.report import write_report
from autopeft.report.collect import load_run
from autopeft.report.plots import pareto_plot, reference_marks
from autopeft.report.references import reference_points
from autopeft.study.journal import Journal
from autopeft.trial import Fidelity, TrialResult

LORA = {"method": "lora", "lora.r": 8}
FULL = {"method": "full"}
# (origin, config, metrics, trainable params); None metrics: the trial failed
ACCURACY_RUN: list[tuple[str, dict[str, Any], dict[str, float] | None, int]] = [
    ("reference:peft_default_lora@lr=0.0002", LORA, {"accuracy": 0.55}, 1000),
    ("reference:peft_default_lora@lr=0.0008", LORA, {"accuracy": 0.80}, 1000),
    ("reference:peft_default_lora@lr=0.0032", LORA, None, 1000),
    ("reference:full_finetune", FULL, {"accuracy": 0.85}, 10000),
    ("random", {"method": "ia3", "x": 1}, {"accuracy": 0.70}, 500),
    ("random", {"method": "lora", "lora.r": 2}, {"accuracy": 0.90}, 5000),
]


def journal_run(folder: Path, objectives: list[str],
                rows: list[tuple[str, dict[str, Any], dict[str, float] | None, int]]) -> Path:
    """A run folder whose journal holds ``rows`` as finished search trials."""
    journal = Journal.create(folder, {"name": "synthetic", "model": "no-such-model-here", "task": "sst2",
                                      "space": str(folder / "missing-space.yaml")})
    try:
        journal.set_meta("settings", {"objectives": objectives, "budget": len(rows), "controller": "random",
                                      "seed": 0})
        for i, (origin, config, metrics, params) in enumerate(rows):
            config = {**config, "i": i}
            fidelity = Fidelity(steps=2)
            trial = journal.add_trial(config, fidelity, seed=0, origin=origin)
            journal.start(trial.number)
            result = (TrialResult(config, fidelity, 0, "complete", metrics=metrics, trainable_params=params,
                                  total_params=10000) if metrics is not None
                      else TrialResult(config, fidelity, 0, "failed", error="diverged"))
            journal.finish(trial.number, result)
    finally:
        journal.close()
    return folder


def test_tuned_point_is_the_best_of_the_sweep_and_the_comparison_uses_it(tmp_path: Path) -> None:
    run = load_run(journal_run(tmp_path / "run", ["accuracy", "trainable_params"], ACCURACY_RUN), details=False)
    refs = {r.name: r for r in reference_points(run)}
    assert list(refs) == ["peft_default_lora", "full_finetune"]
    lora, full = refs["peft_default_lora"], refs["full_finetune"]
    assert lora.tuned.values["accuracy"] == 0.80 and lora.tuned_lr == pytest.approx(0.0008)
    assert [p.learning_rate for p in lora.sweep] == pytest.approx([0.0002, 0.0008, 0.0032])
    assert [p.state for p in lora.sweep] == ["complete", "complete", "failed"]
    # the search's best at <= 1000 params scores 0.70: above the untuned 0.55, below the tuned 0.80
    assert lora.rival is not None and lora.rival.values["accuracy"] == 0.70 and not lora.dominated
    assert full.tuned_lr is None and [p.learning_rate for p in full.sweep] == [None]
    assert full.rival is not None and full.rival.values["accuracy"] == 0.90 and full.dominated
    # a rate tried past the tuned one (even one that failed) means the sweep went beyond it; no sweep, no edge
    assert lora.edge is None and full.edge is None


def test_a_minimised_score_tunes_downwards(tmp_path: Path) -> None:
    rows = [("reference:attention_only@lr=0.001", LORA, {"ece": 0.30}, 800),
            ("reference:attention_only@lr=0.004", LORA, {"ece": 0.10}, 800),
            ("reference:attention_only@lr=0.016", LORA, {"ece": 0.20}, 800),
            ("random", {"method": "ia3"}, {"ece": 0.15}, 400)]
    run = load_run(journal_run(tmp_path / "run", ["trainable_params", "ece"], rows), details=False)
    (ref,) = reference_points(run)
    assert ref.tuned.values["ece"] == 0.10 and ref.tuned_lr == pytest.approx(0.004)
    assert ref.rival is not None and ref.rival.values["ece"] == 0.15 and not ref.dominated and ref.edge is None
    assert run.best is not None and run.best.values["ece"] == 0.10  # lower ECE is better


def test_a_gap_below_the_fourth_decimal_is_not_shown_as_zero(tmp_path: Path) -> None:
    from autopeft.report.build import _versus_sentence

    rows = [("reference:attention_only@lr=0.004", LORA, {"ece": 0.10}, 800),
            ("random", {"method": "ia3"}, {"ece": 0.100014}, 400)]
    run = load_run(journal_run(tmp_path / "run", ["trainable_params", "ece"], rows), details=False)
    (ref,) = reference_points(run)
    assert _versus_sentence(run, ref).endswith("is worse by 1.4e-05.")


@pytest.mark.parametrize(("accuracies", "edge"), [((0.5, 0.6, 0.7), "largest"), ((0.7, 0.6, 0.5), "smallest"),
                                                  ((0.5, 0.7, 0.6), None), ((0.7, 0.6, 0.7), "largest")])
def test_a_tuned_rate_at_an_end_of_its_sweep_is_said(accuracies: tuple[float, ...], edge: str | None,
                                                      tmp_path: Path) -> None:
    rates = (0.0005, 0.002, 0.008)  # written out of order: the edge is by rate, not by trial order
    rows = [(f"reference:attention_only@lr={rates[i]}", LORA, {"accuracy": accuracies[i]}, 800) for i in (1, 2, 0)]
    rows.append(("random", {"method": "ia3"}, {"accuracy": 0.65}, 400))
    folder = journal_run(tmp_path / "run", ["accuracy", "trainable_params"], rows)
    (ref,) = reference_points(load_run(folder, details=False))
    assert ref.edge == edge  # on a tie the first trial run is the tuned one (here 0.008, run before 0.0005)
    write_report([folder], tmp_path / "report")
    page = (tmp_path / "report" / "index.html").read_text()
    said = f"Its tuned learning rate is the {edge} of its sweep, so a wider sweep might tune it further"
    assert (said in page) == (edge is not None)
    with open(tmp_path / "report" / "summary.csv") as fh:
        (summary,) = list(csv.DictReader(fh))
    assert summary["tuned_references_at_a_sweep_edge"] == ("0" if edge is None else "1")


def test_plot_groups_a_sweep_under_one_name(tmp_path: Path) -> None:
    run = load_run(journal_run(tmp_path / "run", ["accuracy", "trainable_params"], ACCURACY_RUN), details=False)
    marks = reference_marks(run, run.complete)
    assert [(m.name, m.tuned) for m in marks] == [("peft_default_lora", False), ("peft_default_lora", True),
                                                  ("full_finetune", True)]
    assert {m.marker for m in marks if m.name == "peft_default_lora"} == {"D"}  # its own marker, not the fallback
    assert [m.legend for m in marks] == [None, "reference: peft default LoRA (tuned)", "reference: full fine-tuning"]
    assert pareto_plot(run).startswith(b"\x89PNG")


def test_report_shows_the_sweep_and_compares_with_the_tuned_point(tmp_path: Path) -> None:
    folder = journal_run(tmp_path / "run", ["accuracy", "trainable_params"], ACCURACY_RUN)
    out = tmp_path / "report"
    write_report([folder], out)
    page = (out / "index.html").read_text()
    assert "Reference points, tuned" in page
    assert "0.0002 → 0.5500, 0.0008 → 0.8000, 0.0032 → failed" in page
    assert ("Against the tuned peft_default_lora (learning rate 0.0008, validation accuracy 0.8000 with 1,000 "
            "parameters), the search&#x27;s best point at no more parameters (trial 5, 0.7000 with 500 parameters) "
            "is worse by 0.1000.") in page
    assert "Against the tuned full_finetune (learning rate as configured" in page
    assert "is better by 0.0500; the search dominates it." in page
    with open(next(out.glob("*-references.csv"))) as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["reference"], r["learning_rate"], r["tuned"]) for r in rows] == [
        ("peft_default_lora", "0.0002", "False"), ("peft_default_lora", "0.0008", "True"),
        ("peft_default_lora", "0.0032", "False"), ("full_finetune", "", "True")]
    with open(out / "summary.csv") as fh:
        (summary,) = list(csv.DictReader(fh))
    assert (summary["tuned_references"], summary["tuned_references_dominated"],
            summary["tuned_references_beaten_at_no_more_params"]) == ("2", "1", "1")


def test_a_run_without_references_has_no_reference_section(tmp_path: Path) -> None:
    rows = [r for r in ACCURACY_RUN if r[0] == "random"]
    folder = journal_run(tmp_path / "run", ["accuracy", "trainable_params"], rows)
    assert reference_points(load_run(folder, details=False)) == []
    write_report([folder], tmp_path / "report")
    assert "Reference points, tuned" not in (tmp_path / "report" / "index.html").read_text()
