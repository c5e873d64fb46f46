"""What is done with a finished search's front: pick a point, finalize it on the test split, export it.

These work on the journal, so nothing recorded is trained again; ``finalize`` journals its own trials
(phase ``finalize``) and saves their weights under ``runs/NAME/finalized/``, which ``export_pick`` prefers.
"""

from __future__ import annotations

import math
import shutil
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from autopeft.errors import AutopeftError, ConfigError, check_count
from autopeft.objectives import OBJECTIVES, PARAMS, Objective, objectives_of, score_objective
from autopeft.study.classes import finalized_groups
from autopeft.study.context import make_context, require_weights
from autopeft.study.engines import Finished, Job
from autopeft.study.front import front, front_trials
from autopeft.study.journal import Journal, Trial
from autopeft.study.loop import LoopState, Planned, run_loop
from autopeft.study.provenance import Moved, check_model_folder, check_task_file, run_recipe
from autopeft.study.recipe import Recipe
from autopeft.study.rungs import top_steps
from autopeft.trial import TrialResult, describe, jsonable

FINAL_DIR = "finalized"


class _NothingMore:
    """A scheduler with nothing to add: finalize journals its seeds first, so the loop runs what is waiting."""

    def next(self, state: LoopState) -> Planned | None:
        return None

    def finished(self, trial: Trial, state: LoopState) -> None:
        return None


NOTHING_MORE = _NothingMore()


def pick(journal: Journal, spec: str, objectives: Sequence[Objective]) -> Trial:
    """``knee`` | ``best`` | ``max-params:N`` | ``trial:ID`` -> one trial of the front (or any trial by id)."""
    if not isinstance(spec, str):
        raise ConfigError(f"--pick must be text, got {spec!r}; allowed: knee, best, max-params:N, trial:ID")
    f = front(journal, objectives)
    names = [o.name for o in objectives]
    if spec.startswith("trial:"):
        try:
            number = int(spec.split(":", 1)[1])
        except ValueError:
            raise ConfigError(f"--pick {spec!r}: the trial id must be an integer") from None
        if number not in {t.number for t in journal.trials(phase=None)}:
            numbers = [t.number for t in journal.trials()]
            span = f"1 to {max(numbers)}" if numbers else "none yet"
            raise ConfigError(f"--pick {spec!r}: no trial {number} in {journal.folder}; allowed: a search trial's "
                              f"id ({span}; `autopeft pareto {journal.folder}` lists the front)")
        trial = journal.trial(number)
        if trial.phase != "search":
            source = trial.origin.partition(":")[2]
            raise ConfigError(f"--pick {spec!r}: trial {number} is a {trial.phase} seed of trial {source}, not a "
                              f"trial of the search; allowed: a search trial's id, such as trial:{source}")
        if trial.state != "complete":
            raise ConfigError(f"--pick {spec!r}: trial {number} is {trial.state}, not complete; allowed: a complete "
                              f"trial's id (`autopeft pareto {journal.folder} --all` lists them)")
        return trial
    if not f.trials:
        complete = [t for t in front_trials(journal) if t.state == "complete"]
        if not complete:
            top = top_steps(journal.recipe)
            rung = "" if top is None else f" at the top rung ({top} steps)"
            raise ConfigError(f"--pick {spec!r}: the run has no complete trial{rung} yet, so its front is empty")
        raise ConfigError(f"--pick {spec!r}: the front is empty: none of the run's {len(complete)} complete trials "
                          f"reports every objective ({', '.join(names)}); they report "
                          f"{', '.join(sorted(complete[-1].values))}")
    if spec == "knee":
        return f.trials[f.knee or 0]
    score = score_objective(objectives)
    col = names.index(score.name)
    better = f.values[:, col] if score.direction == "max" else -f.values[:, col]  # larger is better
    if spec == "best":
        return f.trials[int(np.argmax(better))]
    if spec.startswith("max-params:"):
        try:
            limit = float(spec.split(":", 1)[1].replace("_", "").replace(",", ""))
        except ValueError:
            limit = math.nan
        if not math.isfinite(limit) or limit < 1:
            raise ConfigError(f"--pick {spec!r}: N must be a number of parameters >= 1 (such as max-params:50000)")
        p_col = names.index(PARAMS)
        ok = [i for i in range(len(f.trials)) if f.values[i, p_col] <= limit]
        if not ok:
            smallest = int(f.values[:, p_col].min())
            raise ConfigError(f"--pick {spec!r} names nothing on the front: its smallest point trains "
                              f"{smallest:,} parameters; allowed: max-params:N with N >= {smallest}")
        return f.trials[max(ok, key=lambda i: better[i])]
    raise ConfigError(f"--pick {spec!r} is not allowed; allowed: knee, best, max-params:N, trial:ID")


def picks(journal: Journal, spec: str, objectives: Sequence[Objective]) -> list[Trial]:
    """What finalize re-trains: ``front``, every point of the front (cheapest first), else the one :func:`pick`
    names. Re-training the whole front shows which points hold up at the final fidelity before one is chosen."""
    if spec != "front":
        return [pick(journal, spec, objectives)]
    f = front(journal, objectives)
    if not f.trials:
        pick(journal, spec, objectives)  # the one-line error of any pick of an empty front, naming --pick front
    return list(f.trials)


def local_engine(given: str | None, recipes: str | None) -> str | None:
    """The engine finalize uses: its few seeds run on this machine (an NNI run's recipe falls back to the
    default local engine; ``--engine nni`` is refused in one line)."""
    if given == "nni":
        raise ConfigError("finalize runs its seeds on this machine; allowed: --engine inprocess or pool "
                          "(a search run with --engine nni is finalized locally)")
    name = given or recipes
    return None if name == "nni" else name


def finalize(folder: Path, spec: str, *, seeds: int | None = None, stream: TextIO | None = None,
             workers: int | None = None, engine: str | None = None, workers_per_gpu: int | None = None,
             moved: Moved | None = None) -> list[Trial]:
    """Re-train the picked trial (``front``: every front point) at the recipe's final fidelity over ``seeds``
    seeds, scoring the test split.

    Each seed is a journaled trial (phase ``finalize``), its adapter saved under ``finalized/``; the seeds
    run through the same engine as a search (``workers > 1``: in parallel). A finalize that was interrupted
    continues where it stopped. ``spec`` and ``seeds`` are checked on a read-only view before the run is
    locked, so a bad one changes nothing in the run folder, its ``.lock`` included.
    """
    stream = stream or sys.stderr
    for name, value in (("--seeds", seeds), ("--workers", workers), ("--workers-per-gpu", workers_per_gpu)):
        check_count(name, value)
    with Journal.open(folder, lock=False) as opened, opened.snapshot() as view:
        picks(view, spec, objectives_of(view.meta("settings")["objectives"]))
    journal = Journal.open(folder)
    try:
        recipe = run_recipe(journal, moved)
        check_model_folder(recipe, journal.meta("provenance"))
        require_weights(recipe.model)  # before a seed is added to the journal
        objectives = objectives_of(journal.meta("settings")["objectives"])
        chosen = {f"finalize:{t.number}": t for t in picks(journal, spec, objectives)}
        score = score_objective(objectives).name
        n = seeds if seeds is not None else recipe.search.final_seeds  # both checked >= 1 already
        ctx = make_context(recipe)
        requeued = journal.requeue_interrupted("finalize")
        if requeued:
            stream.write(f"resuming: finalize trial(s) {', '.join(map(str, requeued))} were interrupted and run "
                         "again\n")
        for origin, source in chosen.items():
            have = {t.seed for t in journal.trials(phase="finalize") if t.origin == origin}
            for s in range(n):
                if s not in have:
                    journal.add_trial(source.config, recipe.final_fidelity, seed=s, origin=origin, phase="finalize")
        final_dir = journal.folder / FINAL_DIR

        def job(trial: Trial) -> Job:
            source = chosen[trial.origin]
            target = final_dir / f"trial-{source.number}-seed-{trial.seed}"
            return Job(trial.number, trial.config, trial.fidelity, trial.seed,
                       in_space=not source.origin.startswith("reference:"), test=True, save_to=str(target))

        def report(trial: Trial, done: Finished, state: LoopState) -> None:
            stream.write(f"finalize trial {chosen[trial.origin].number} seed {trial.seed}: {trial.state} "
                         f"{_test_summary(trial.result, score)}\n")

        runner = ctx.engine(workers=workers or recipe.search.workers, name=local_engine(engine, recipe.search.engine),
                            workers_per_gpu=workers_per_gpu or recipe.search.workers_per_gpu, log=stream,
                            jobs=sum(1 for t in journal.trials(phase="finalize", states=("waiting",))
                                     if t.origin in chosen))
        try:
            run_loop(journal, runner, NOTHING_MORE, make_job=job, phase="finalize", on_finish=report,
                     resume=lambda t: t.origin in chosen)
        finally:
            runner.close()
        mine = [t for t in journal.trials(phase="finalize") if t.origin in chosen]
        return sorted(mine, key=lambda t: (list(chosen).index(t.origin), t.seed))
    finally:
        journal.close()


def _test_summary(result: TrialResult | None, score: str) -> str:
    """The run's score objective on the test split, then accuracy, ECE and NLL where the trial has them, and the
    score on validation (what the search saw, at these steps).

    >>> from types import SimpleNamespace
    >>> seed = SimpleNamespace(metrics={"accuracy": 0.62}, test_metrics={"accuracy": 0.6, "nll": 0.9})
    >>> _test_summary(seed, "accuracy")  # type: ignore[arg-type]
    'test accuracy 0.6000 nll 0.9000; validation accuracy 0.6200'
    """
    if result is None or result.test_metrics is None:
        return result.error or "" if result else ""
    keys = dict.fromkeys((score, "accuracy", "ece", "nll"))
    test = " ".join(f"{k} {result.test_metrics[k]:.4f}" for k in keys if k in result.test_metrics)
    validation = f"; validation {score} {result.metrics[score]:.4f}" if score in result.metrics else ""
    return f"test {test}{validation}"


#: Test metrics the finalize table summarises: every registered objective but the parameter count, then the
#: calibration metrics that are not objectives. A new objective is summarised with no change here.
TEST_METRICS: tuple[str, ...] = (*(name for name in OBJECTIVES if name != PARAMS), "ece_ts", "mce")


def finalize_table(journal: Journal) -> list[dict[str, Any]]:
    """Per finalized trial: test mean ± std over seeds of each metric (``test_<metric>_mean`` / ``_std``), with
    the run's score objective (``score``) and its validation value in the search (``validation_score_search``, at
    ``validation_steps_search`` training steps: a multi-fidelity run's lower-rung trial was scored at its rung),
    and the same on validation after the finalize's training (``validation_score_final_mean`` / ``_std``, over the
    seeds: whether the longer training held up, seen without the test split)."""
    score = score_objective(objectives_of(journal.meta("settings")["objectives"])).name
    rows = []
    for origin, trials in finalized_groups(journal):
        source = journal.trial(int(origin.split(":")[1]))
        row: dict[str, Any] = {"trial": source.number, "origin": source.origin, "config": describe(source.config, 200),
                               "trainable_params": trials[0].result.trainable_params if trials[0].result else None,
                               "seeds": len(trials), "steps": trials[0].fidelity.steps,
                               "score": score, "validation_score_search": source.values.get(score),
                               "validation_steps_search": source.fidelity.steps}
        finals = [t.result.metrics[score] for t in trials if t.result and score in t.result.metrics]
        if finals:
            row["validation_score_final_mean"] = statistics.fmean(finals)
            row["validation_score_final_std"] = statistics.stdev(finals) if len(finals) > 1 else 0.0
        for key in TEST_METRICS:
            vals = [t.result.test_metrics[key] for t in trials
                    if t.result and t.result.test_metrics and key in t.result.test_metrics]
            if vals:
                row[f"test_{key}_mean"] = statistics.fmean(vals)
                row[f"test_{key}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        rows.append(row)
    return rows


def held_up_note(rows: list[dict[str, Any]], score: str, label: str) -> str:
    """Which finalized point scores best on validation after the finalize's training, and which score worse there
    than in the search ("" with fewer than two finalized points).

    >>> note = held_up_note([{"trial": 11, "validation_score_search": 0.722, "validation_score_final_mean": 0.737,
    ...                       "validation_score_final_std": 0.014},
    ...                      {"trial": 45, "validation_score_search": 0.72, "validation_score_final_mean": 0.681,
    ...                       "validation_score_final_std": 0.056}], "accuracy", "accuracy")
    >>> note.split(". ")[0].split(", ")[1]
    'trial 11 scores the best validation accuracy of the 2 finalized points (0.7370 ± 0.0140)'
    >>> note.split(". ")[1].split(":")[0]
    'Trial 45 (0.7200 → 0.6810) scores worse there than in the search'
    """
    finals = [r for r in rows if r.get("validation_score_final_mean") is not None]
    if len(finals) < 2:
        return ""
    sign = -1.0 if score in OBJECTIVES and OBJECTIVES[score].direction == "min" else 1.0
    top = max(finals, key=lambda r: (sign * r["validation_score_final_mean"], -r["trial"]))
    text = (f"After the finalize's training, trial {top['trial']} scores the best validation {label} of the "
            f"{len(finals)} finalized points ({top['validation_score_final_mean']:.4f} ± "
            f"{top['validation_score_final_std']:.4f}).")
    fell = [r for r in finals if r.get("validation_score_search") is not None
            and sign * (r["validation_score_final_mean"] - r["validation_score_search"]) < 0]
    if fell:
        which = ", ".join(f"{r['trial']} ({r['validation_score_search']:.4f} → {r['validation_score_final_mean']:.4f})"
                          for r in fell)
        text += (f" Trial{'s' * (len(fell) > 1)} {which} score{'s' * (len(fell) == 1)} worse there than in the "
                 "search: the learning rate or the steps it was searched at may not suit the final fidelity.")
    return text


def finalized_weights(folder: Path, number: int, finals: Mapping[int, Trial],
                      score: Objective) -> tuple[int, Path, str] | None:
    """The finalized seed of trial ``number`` whose saved weights an export takes, with the folder and the reason
    given in the manifest: the seed with the best validation ``score`` among those journaled complete (the
    validation split picks it, never test; a tie goes to the lower seed), else the lowest seed saved. ``None`` when
    no weights were saved. A seed can lose a class at the final fidelity (a learning rate that held for the
    search's steps may not hold for finalize's), so the first seed is not taken blindly."""
    saved: dict[int, Path] = {}
    for path in (folder / FINAL_DIR).glob(f"trial-{number}-seed-*"):
        tail = path.name.rsplit("-", 1)[1]
        if tail.isdigit():
            saved[int(tail)] = path
    if not saved:
        return None
    scored = {seed: float(t.result.metrics[score.name]) for seed, t in finals.items()
              if seed in saved and t.result is not None and score.name in t.result.metrics}
    if not scored:
        seed = min(saved)
        return seed, saved[seed], f"finalized ({saved[seed].name})"
    sign = 1.0 if score.direction == "max" else -1.0
    seed = min(scored, key=lambda s: (-sign * scored[s], s))
    if len(scored) == 1:
        return seed, saved[seed], f"finalized ({saved[seed].name})"
    return seed, saved[seed], (f"finalized ({saved[seed].name}: the best validation {score.name} of "
                               f"{len(scored)} finalized seeds, {scored[seed]:.4f})")


def export_pick(folder: Path, spec: str, out: Path, *, overwrite: bool = False, merge: bool = False,
                moved: Moved | None = None) -> Path:
    """Export the picked trial: its finalized weights when they exist (the seed with the best validation score,
    :func:`finalized_weights`), else re-trained as searched; with ``merge``, its adapter merged into the base
    weights (:mod:`autopeft.study.merge`)."""
    target = _export_pick(folder, spec, out, overwrite=overwrite, merge=merge, moved=moved)
    if merge:
        from autopeft.study.merge import merge_export

        merge_export(target, pick=spec)
    return target


def _export_pick(folder: Path, spec: str, out: Path, *, overwrite: bool, merge: bool, moved: Moved | None) -> Path:
    from autopeft.study.base_model import anchor_base
    from autopeft.study.export import check_export_folder, read_manifest, write_card, write_manifest

    journal = Journal.open(folder, lock=False)
    try:
        stored = journal.meta("provenance")
        recipe, top = run_recipe(journal, moved, check_data=False), top_steps(journal.recipe)
        check_model_folder(recipe, stored)
        require_weights(recipe.model)  # before a seed is added to the journal
        objectives = objectives_of(journal.meta("settings")["objectives"])
        chosen = pick(journal, spec, objectives)
        if merge:  # before anything is trained or written
            from autopeft.model.loading import load_config, model_kind
            from autopeft.study.merge import check_mergeable

            check_mergeable(str(chosen.config.get("method")), model_kind(load_config(recipe.model)))
        finals = {t.seed: t for t in journal.trials(phase="finalize", states=("complete",))
                  if t.origin == f"finalize:{chosen.number}"}
        final = finalized_weights(journal.folder, chosen.number, finals, score_objective(objectives))
        if final is None:  # finalized weights are copied; re-training the trial reads the data file
            check_task_file(recipe, stored)
    finally:
        journal.close()
    target = check_export_folder(out, overwrite=overwrite)
    if final is not None:
        seed, path, why = final
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(path, target)
        manifest = anchor_base(target, read_manifest(target), recipe.model)
        manifest["source"] = {"run": str(folder), "trial": chosen.number, "weights": why}
        if "inputs" not in manifest:  # weights a finalize saved before exports recorded their inputs
            manifest.update(recipe_inputs(recipe))
        weights = finals.get(seed)
        if weights is not None and weights.result is not None:  # these weights' own scores at the final fidelity
            manifest["metrics"] = jsonable(dict(weights.result.metrics))
            manifest["test_metrics"] = jsonable(dict(weights.result.test_metrics or {}))
        write_manifest(target, manifest)
        write_card(target, run=folder, trial=chosen.number, pick=spec)
        return target
    ctx = make_context(recipe)
    runner = ctx.engine(workers=1)
    try:
        runner.submit(Job(0, chosen.config, chosen.fidelity, chosen.seed,
                          in_space=not chosen.origin.startswith("reference:"), save_to=str(target)))
        result = runner.wait().result
    finally:
        runner.close()
    if not result.ok:
        raise ConfigError(f"re-training trial {chosen.number} for export failed: {result.error}")
    manifest = read_manifest(target)
    manifest["metrics"] = jsonable(dict(result.metrics))
    steps = chosen.fidelity.steps
    manifest["source"] = {"run": str(folder), "trial": chosen.number,
                          "weights": f"re-trained as searched ({steps} training steps, seed {chosen.seed})"}
    if top is not None and steps < top:
        manifest["source"]["note"] = (f"trial {chosen.number} ran at the {steps}-step rung of a multi-fidelity "
                                      f"search, so these weights have {steps} training steps where the front's have "
                                      f"{top}; `autopeft finalize --pick trial:{chosen.number}` re-trains it at the "
                                      "final fidelity first")
    write_manifest(target, manifest)
    write_card(target, run=folder, trial=chosen.number, pick=spec)
    return target


def recipe_inputs(recipe: Recipe) -> dict[str, Any]:
    """How the recipe's trials made the model's inputs (:func:`autopeft.study.export.input_record`); ``{}`` when its
    task or model cannot be read now (``autopeft predict`` then says the folder lacks them)."""
    from autopeft.model.loading import load_config, model_kind
    from autopeft.study.export import input_record

    try:
        config = load_config(recipe.model)
        return input_record(recipe.load_task(), recipe.training, config, model_kind(config))
    except AutopeftError:
        return {}


__all__ = ["FINAL_DIR", "TEST_METRICS", "export_pick", "finalize", "finalize_table", "finalized_weights", "pick"]
