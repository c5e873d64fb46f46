"""Warm starts on tables: sources read over a (possibly narrower) space, and ``warm:<bo>`` replays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autopeft.bench.compare import compare
from autopeft.bench.replay import ControllerSpec, make_controller, replay
from autopeft.bench.table import Table, objectives_from
from autopeft.bench.warm_start import load_prior
from autopeft.controllers.base import Observation
from autopeft.errors import ConfigError
from autopeft.space import parse_space
from autopeft.trial import config_key
from tests.bench import synthetic

OBJECTIVES = objectives_from(["accuracy", "trainable_params"])


def test_a_table_source_keeps_the_members_of_the_new_space(synthetic_csv: Path) -> None:
    text = synthetic.SPACE_FILE.read_text(encoding="utf-8").replace("choices: [qv, attention, all_linear]",
                                                                    "choices: [qv, attention]")
    narrow = parse_space(text, "narrow.yaml").resolve(synthetic.LAYOUT)
    source = load_prior([synthetic_csv], narrow, OBJECTIVES).sources[0]
    # 250 configurations with values: the 80 LoRA ones on all linear layers are not in the narrower space
    assert (source.kind, len(source.configs), source.dropped) == ("table", 170, 80)
    sidecar = json.loads(synthetic_csv.with_suffix(".json").read_text())  # the note names its model, as a run's does
    assert source.describe()["note"] == (f"model {sidecar.get('model', '?')}, task {sidecar.get('task', '?')}, "
                                         "seed means at 30 steps")
    assert all(c.get("lora.modules") != "all_linear" for c in source.configs)


def test_bad_sources_are_refused_naming_them(synthetic_csv: Path, tmp_path: Path) -> None:
    sp = synthetic.space()
    with pytest.raises(ConfigError, match="is given twice"):
        load_prior([synthetic_csv, synthetic_csv], sp, OBJECTIVES)
    with pytest.raises(ConfigError, match="not a run folder"):
        load_prior([tmp_path / "nothing"], sp, OBJECTIVES)
    text = synthetic.SPACE_FILE.read_text(encoding="utf-8").replace("choices: [0, 4, 16]", "choices: [0, 8]")
    other = parse_space(text.replace("default: 4", "default: 8"), "other.yaml").resolve(synthetic.LAYOUT)
    rest = load_prior([synthetic_csv], other, OBJECTIVES).sources[0]
    assert "lora" not in {c["method"] for c in rest.configs}  # a LoRA rank 4 or 16 is not in the new space


def test_a_source_that_recorded_no_learned_objective_is_refused_and_a_partial_one_says_what_is_missing(
        synthetic_csv: Path) -> None:
    """balanced_accuracy came after the tables and older runs: a source without it transfers nothing to a search
    on it, which is refused in one line instead of a warm start that guides nothing; a source missing one of two
    learned objectives transfers the other and its note names the missing one."""
    sp = synthetic.space()
    with pytest.raises(ConfigError, match=r"--warm-start .*: it recorded balanced_accuracy on fewer than two of its "
                                          r"250 configurations in this space"):
        load_prior([synthetic_csv], sp, objectives_from(["balanced_accuracy", "trainable_params"]))
    both = objectives_from(["accuracy", "balanced_accuracy", "trainable_params"])
    (source,) = load_prior([synthetic_csv], sp, both).sources
    assert set(source.values) == {"accuracy", "trainable_params"}
    assert source.describe()["objectives"] == ["accuracy", "trainable_params"]
    assert source.note.endswith("; no prior for balanced_accuracy, which it did not record")
    plain = load_prior([synthetic_csv], sp, OBJECTIVES).sources[0]
    assert "no prior" not in plain.note and set(plain.values) == {"accuracy", "trainable_params"}


def test_warm_bo_reaches_the_target_sooner_from_a_related_table(table: Table, tmp_path: Path) -> None:
    """The source is the same synthetic task measured with other training seeds (a closely related task):
    without covering the methods, warm-started bo needs fewer trials to 95 % of the exhaustive hypervolume than
    cold bo, on every seed. Covering them (the default) spends trials on methods the prior rightly rates low,
    so here it is slower than without: the price of ``prior_cover`` when the tasks agree on the methods."""
    source = synthetic.write(tmp_path, "related", seeds=(7, 8))
    prior = load_prior([source], table.space, OBJECTIVES)

    def trials(**options: object) -> list[int | None]:
        runs = [replay(table, ControllerSpec("s", "bo", options), budget=12, seed=seed, objectives=OBJECTIVES)
                for seed in (0, 1)]
        return [next((i + 1 for i, r in enumerate(run.ratio) if r >= 0.95), None) for run in runs]

    cold, covered, plain = trials(), trials(prior=prior), trials(prior=prior, prior_cover=False)
    assert all(w is not None and (c is None or w < c) for c, w in zip(cold, plain, strict=True))
    assert all(p is not None and v is not None and p <= v for p, v in zip(plain, covered, strict=True))


@pytest.mark.parametrize("surrogate", ["gp", "forest"])
def test_a_warm_start_with_known_inputs_runs(surrogate: str, synthetic_csv: Path, table: Table) -> None:
    """The prior's first proposal is made before the new task has any observation: its surrogate is fit on no
    rows, which must still have the known objective's column (it once had not, and the search stopped)."""
    prior = load_prior([synthetic_csv], table.space, OBJECTIVES)
    spec = ControllerSpec("s", "bo", {"prior": prior, "known_inputs": True, "surrogate": surrogate})
    run = replay(table, spec, budget=4, seed=0, objectives=OBJECTIVES)
    assert len(run.configs) == 4 and run.ratio[-1] > 0


def test_a_warm_start_keeps_two_trials_in_flight(synthetic_csv: Path, table: Table) -> None:
    """With --workers 2 the warm start proposes while trials are pending, from no observation on: every proposal
    is new, none repeats a pending one, and covering the methods holds with trials in flight."""
    prior = load_prior([synthetic_csv], table.space, OBJECTIVES)
    ctl = make_controller(ControllerSpec("s", "bo", {"prior": prior}), table, OBJECTIVES, seed=0)
    history: list[Observation] = []
    pending: list[dict[str, Any]] = []
    proposed: list[str] = []
    for _ in range(10):
        new = ctl.propose(history, 2 - len(pending), pending=pending)
        assert len(new) == 2 - len(pending)
        proposed += [config_key(c) for c in new]
        pending += new
        done = pending.pop(0)  # the oldest finishes first
        history.append(Observation(done, {"accuracy": synthetic.accuracy(done),
                                          "trainable_params": synthetic.known_params(done)}))
    assert len(set(proposed)) == len(proposed) == 11
    methods = [c.config["method"] for c in history]
    assert set(methods[:4]) == {"lora", "ia3", "ln_tuning", "head_only"}


def test_warm_strategies_need_bo_and_a_source(table: Table) -> None:
    with pytest.raises(ConfigError, match="a warm start needs a bo controller"):
        compare(table, ["warm:random"], budget=5, seeds=1, objectives=OBJECTIVES)
    with pytest.raises(ConfigError, match="needs --warm-start TABLE"):
        compare(table, ["warm:bo"], budget=5, seeds=1, objectives=OBJECTIVES)


def test_a_multi_fidelity_run_counts_each_configuration_at_its_highest_rung(tmp_path: Path) -> None:
    from autopeft.study.journal import Journal
    from autopeft.trial import Fidelity, TrialResult

    sp = synthetic.space()
    promoted = {"method": "head_only", "head_only.learning_rate": 0.01}
    low = {"method": "head_only", "head_only.learning_rate": 0.04}
    runs = [(promoted, 2, 0.30), (promoted, 6, 0.80), (promoted, 6, 0.70), (low, 2, 0.50)]
    with Journal.create(tmp_path / "run", {"model": "minilm", "task": "bbc-news"}) as j:
        for config, steps, acc in runs:
            t = j.add_trial(config, Fidelity(steps=steps), seed=0, origin="bo")
            j.start(t.number)
            j.finish(t.number, TrialResult(config=config, fidelity=Fidelity(steps=steps), seed=0, status="complete",
                                           metrics={"accuracy": acc}, trainable_params=10, total_params=100))
    source = load_prior([tmp_path / "run"], sp, OBJECTIVES).sources[0]
    accuracy = dict(zip((config_key(c) for c in source.configs), source.values["accuracy"], strict=True))
    # the promoted configuration: the mean of its two 6-step results, its 2-step result left out
    assert accuracy[config_key(sp.validate(promoted, fill=False))] == pytest.approx(0.75)
    assert accuracy[config_key(sp.validate(low, fill=False))] == pytest.approx(0.50)  # only ever at 2 steps
    assert source.describe()["note"] == "model minilm, task bbc-news, 2-6 steps"
