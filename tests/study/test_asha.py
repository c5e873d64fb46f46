"""Multi-fidelity search (ASHA): the rungs, promotion by Pareto rank against brute force, the scheduler on the
study loop (quotas, each promotion once, the controller fed from the bottom rung only, resumable), and the
front read from the top rung."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from autopeft.controllers import get_controller
from autopeft.errors import ConfigError, RecipeError
from autopeft.objectives import to_minimize
from autopeft.space import Space, parse_space
from autopeft.study.asha import PROMOTE, Asha, promotion_order
from autopeft.study.front import front
from autopeft.study.journal import Journal
from autopeft.study.loop import run_loop, search_job
from autopeft.study.rungs import AshaConfig, top_steps
from autopeft.trial import config_key
from tests.study.test_loop import OBJECTIVES, SPACE, FakeEngine, params


@pytest.mark.parametrize(("low", "high", "eta", "steps"), [
    (20, 60, 3, [20, 60]), (10, 60, 3, [10, 30, 60]), (10, 80, 2, [10, 20, 40, 80]), (10, 100, 3, [10, 30, 90, 100]),
])
def test_rungs_grow_by_eta_up_to_the_top(low: int, high: int, eta: int, steps: list[int]) -> None:
    config = AshaConfig(min_steps=low, max_steps=high, eta=eta)
    assert [r.steps for r in config.rungs(0.5)] == steps
    assert {r.train_fraction for r in config.rungs(0.5)} == {0.5}
    assert top_steps({"search": {"scheduler": config.to_dict()}}) == high
    assert top_steps({"search": {"scheduler": None}}) is None


@pytest.mark.parametrize(("raw", "message"), [
    ({"min_steps": 20, "max_steps": 20}, "max_steps (20) must be above min_steps (20)"),
    ({"min_steps": 20, "eta": 1}, "eta must be an integer >= 2, got 1"),
    ({"min_steps": 0}, "min_steps must be an integer >= 1, got 0"),
    ({"min_steps": 5, "type": "hyperband"}, "'hyperband' is not a scheduler; allowed: asha"),
    ({"type": "hyperband"}, "'hyperband' is not a scheduler; allowed: asha"),  # the type first, then its fields
    ({"min_steps": 5, "rungs": 3}, "unknown field 'rungs'"),
    ({"max_steps": 60}, "min_steps is missing"),
    ([20, 60], "must be a mapping"),
])
def test_bad_scheduler_settings_name_the_field(raw: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AshaConfig.from_mapping(raw, 60)


def test_a_recipe_with_a_bad_scheduler_is_refused_with_its_line(tmp_path: object) -> None:
    from pathlib import Path

    from autopeft.study.recipe import load_recipe

    folder = Path(str(tmp_path))
    (folder / "r.yaml").write_text("name: r\nmodel: minilm\ntask: tweets-sentiment\nspace: s.yaml\n"
                                   "search:\n  scheduler: {type: asha, min_steps: 90}\n")
    with pytest.raises(RecipeError, match="max_steps \\(60\\) must be above min_steps \\(90\\)") as info:
        load_recipe(folder / "r.yaml")
    assert str(info.value).count("allowed:") == 1


def brute_ranks(points: np.ndarray) -> list[int]:
    """Pareto rank of each point by peeling non-dominated layers by hand."""
    left, rank, out = set(range(len(points))), 0, [0] * len(points)
    while left:
        layer = {i for i in left if not any(np.all(points[j] <= points[i]) and np.any(points[j] < points[i])
                                            for j in left if j != i)}
        for i in layer:
            out[i] = rank
        left -= layer
        rank += 1
    return out


@pytest.mark.parametrize("seed", range(5))
def test_promotion_order_is_by_pareto_rank_then_spread(seed: int) -> None:
    points = np.random.default_rng(seed).integers(0, 6, size=(25, 2)).astype(float)
    order = promotion_order(points)
    assert sorted(order) == list(range(25))
    ranks = brute_ranks(points)
    assert [ranks[i] for i in order] == sorted(ranks)  # every point of rank r before any of rank r + 1
    first = [i for i in order if ranks[i] == 0]
    extremes = {int(np.argmin(points[first, 0])), int(np.argmin(points[first, 1]))}
    assert {order.index(first[e]) for e in extremes} <= {0, 1} or len(first) <= 2  # the ends of the front first


def run_asha(budget: int, slots: int = 1, journal: Journal | None = None, config: AshaConfig | None = None,
             controller: str = "random", space: Space = SPACE) -> Journal:
    journal = journal or Journal.in_memory({"search": {"scheduler": (config or CONFIG).to_dict()}})
    ctl = get_controller(controller, space, OBJECTIVES, seed=3, known={"trainable_params": params})
    asha = Asha(ctl, OBJECTIVES, budget=budget, config=config or CONFIG, train_fraction=1.0, seed=0, origin=controller,
                references={"base": {"method": "ia3"}})
    run_loop(journal, FakeEngine(slots), asha, make_job=search_job)
    return journal


CONFIG = AshaConfig(min_steps=2, max_steps=18, eta=3)  # rungs 2, 6, 18


@pytest.mark.parametrize("slots", [1, 3])
def test_each_rung_promotes_its_top_third_once(slots: int) -> None:
    journal = run_asha(40, slots)
    trials = journal.trials()
    assert len(trials) == 40
    assert trials[0].origin == "reference:base" and trials[0].fidelity.steps == 18  # baselines at the top rung
    searched = [t for t in trials if not t.origin.startswith("reference:")]
    by_rung = {s: [t for t in searched if t.fidelity.steps == s] for s in (2, 6, 18)}
    assert all(t.origin == "random" for t in by_rung[2])
    assert all(t.origin == f"{PROMOTE}random" for t in by_rung[6] + by_rung[18])
    for low, high in ((2, 6), (6, 18)):
        keys = [config_key(t.config) for t in by_rung[high]]
        assert len(keys) == len(set(keys))  # promoted once
        assert set(keys) <= {config_key(t.config) for t in by_rung[low]}  # from the rung below
    assert by_rung[6] and by_rung[18]
    if slots > 1:
        return
    for t in by_rung[6] + by_rung[18]:  # one at a time: each promotion was in the top third of its rung then
        low = 2 if t.fidelity.steps == 6 else 6
        before = [b for b in by_rung[low] if b.number < t.number]
        points = to_minimize([[b.values["accuracy"], params(b.config)] for b in before], OBJECTIVES)
        top = [config_key(before[i].config) for i in promotion_order(points)[:len(before) // 3]]
        assert config_key(t.config) in top


def test_the_front_is_the_top_rungs() -> None:
    journal = run_asha(30)
    f = front(journal, OBJECTIVES)
    assert f.trials and all(t.fidelity.steps == 18 for t in f.trials)


def test_the_controller_learns_from_the_bottom_rung_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from autopeft.controllers.random_search import RandomSearch

    seen: list[int] = []
    real = RandomSearch.propose

    def spy(self: RandomSearch, history: list[object], n: int = 1, pending: object = ()) -> list[dict[str, object]]:
        seen.append(len(history))
        return real(self, history, n, pending=pending)  # type: ignore[arg-type]

    monkeypatch.setattr(RandomSearch, "propose", spy)
    journal = run_asha(25)
    bottom = [t for t in journal.trials() if t.fidelity.steps == 2]
    assert seen == list(range(len(bottom)))  # each proposal saw exactly the bottom-rung results before it


def test_a_resumed_asha_search_continues_where_it_stopped() -> None:
    whole = run_asha(30)
    part = run_asha(12)
    resumed = run_asha(30, journal=part)
    assert [(config_key(t.config), t.fidelity.steps) for t in resumed.trials()] == [
        (config_key(t.config), t.fidelity.steps) for t in whole.trials()]


def test_a_space_smaller_than_the_budget_promotes_everything_it_tried() -> None:
    """Three members and a budget of 12: each is tried at the bottom rung, then, with nothing new to propose,
    the budget left promotes all of them up to the top rung (the front) instead of leaving it empty."""
    small = parse_space("name: small\ndimensions:\n  - {name: method, type: categorical, choices: [lora, ia3]}\n"
                        "  - {name: lora.r, type: categorical, choices: [1, 2], when: {method: lora}}\n").resolve({})
    journal = run_asha(12, space=small)
    trials = journal.trials()
    searched = [t for t in trials if not t.origin.startswith("reference:")]
    assert len(trials) == 1 + 3 * 3  # the reference, then every member at each of the three rungs: 10 of 12
    for steps in (2, 6, 18):
        assert len({config_key(t.config) for t in searched if t.fidelity.steps == steps}) == 3
    top = [t for t in front(journal, OBJECTIVES).trials if not t.origin.startswith("reference:")]
    assert top and all(t.fidelity.steps == 18 for t in top)


def test_every_budget_split_is_valid() -> None:
    for budget, eta in itertools.product((5, 9, 17), (2, 3)):
        journal = run_asha(budget, config=AshaConfig(min_steps=2, max_steps=8, eta=eta))
        assert len(journal.trials()) == budget


def test_a_real_asha_search_reports_its_rungs(tmp_path: object, tiny_bert_dir: object, sentiment_csv: object,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A tiny model end to end: the search journals its rungs, status, pareto and finalize read the top rung."""
    from pathlib import Path

    from autopeft.cli.main import main
    from tests.study.conftest import write_recipe

    folder = Path(str(tmp_path))
    recipe = write_recipe(folder, Path(str(tiny_bert_dir)), Path(str(sentiment_csv)), steps=6, budget=9)
    recipe.write_text(recipe.read_text().replace(
        "final_seeds: 2}", "final_seeds: 2,\n          scheduler: {type: asha, min_steps: 2, eta: 3}}"))
    run = folder / "run"
    assert main(["search", str(recipe), "--out", str(run)]) == 0
    out = capsys.readouterr()
    assert "multi-fidelity (ASHA): rungs 2, 6 steps, eta 3" in out.err
    # each trial's lines say its rung (the front's best is the top rung's alone)
    assert " @2 steps ..." in out.err and " @2 steps | acc " in out.err and " @6 steps | acc " in out.err
    assert "front (the top rung's, 6 steps)" in out.out and "trials per rung: 2 steps:" in out.out
    with Journal.open(run, lock=False) as j:
        steps = sorted(t.fidelity.steps for t in j.trials())
    assert steps.count(6) >= 3 and steps.count(2) >= 3  # the references and the promotions at 6
    assert main(["pareto", str(run)]) == 0
    assert "(validation split, 6 training steps)" in capsys.readouterr().out
    assert main(["pareto", str(run), "--all"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["trial", "steps", "params"] and "steps column" in table[-1]
    with Journal.open(run, lock=False) as j:
        low = next(t for t in j.trials() if t.fidelity.steps == 2 and t.state == "complete")
    assert table[1 + low.number].split()[:2] == [str(low.number), "2"]
    # a lower-rung trial exported before any finalize: trained as it was searched, and the export says so
    assert main(["export", str(run), "--pick", f"trial:{low.number}", "--out", str(folder / "low")]) == 0
    said = capsys.readouterr()
    assert f"note: trial {low.number} ran at the 2-step rung" in said.out and "the front's have 6" in said.out
    assert said.err == ""  # no progress bar or log line from saving
    source = json.loads((folder / "low" / "autopeft.json").read_text())["source"]
    assert source["weights"] == "re-trained as searched (2 training steps, seed 0)" and "2-step rung" in source["note"]
    assert main(["finalize", str(run), "--seeds", "1"]) == 0
    capsys.readouterr()
    # a lower-rung trial finalized: its search figure is labelled with the steps it ran at
    assert main(["finalize", str(run), "--seeds", "1", "--pick", f"trial:{low.number}"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows[str(low.number)][4] == f"{low.values['accuracy']:.4f}@2"
