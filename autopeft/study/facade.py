"""The Python API: a :class:`Study` to create or load, optimise, read as DataFrames, finalize and export.

In the style of Optuna's ``create_study`` / ``optimize`` and peft's ``get_peft_model``::

    import autopeft

    study = autopeft.create_study("search/default.yaml", out="runs/demo", budget=20)
    study.optimize(workers=2, callbacks=[lambda study, trial: print(trial.number, trial.state)])
    study.front_dataframe()                  # the Pareto front, validation split
    study.finalize(pick="knee", seeds=3)     # re-train over seeds, score the test split
    study.export(pick="knee", out="adapters/knee")   # PeftModel.from_pretrained(base, "adapters/knee")

    study = autopeft.load_study("runs/demo")          # any run folder, made by the CLI or by code

A study *is* its run folder: every method reads or writes the journal there, so the CLI (``autopeft status
runs/demo``) and this API see the same thing, and a study created here resumes with ``autopeft search --resume``.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from autopeft.errors import ConfigError, RecipeError
from autopeft.objectives import objectives_of, score_objective
from autopeft.study.classes import at_chance, run_chance
from autopeft.study.front import Front, front
from autopeft.study.journal import Journal, Trial
from autopeft.study.overrides import apply_overrides
from autopeft.study.provenance import Moved
from autopeft.study.recipe import Recipe, load_recipe, parse_recipe, with_task

if TYPE_CHECKING:
    import pandas as pd

    from autopeft.study.search import PriorLoader

__all__ = ["Study", "StudyCallback", "create_study", "load_study", "make_recipe"]

#: ``callback(study, trial)``, called with every trial as it is journaled finished (as in Optuna).
StudyCallback = Callable[["Study", Trial], None]
#: The journal's phases: the search's trials, and the seeds ``finalize`` re-trained.
PHASES = ("search", "finalize")


def make_recipe(fields: Mapping[str, Any], *, base: str | Path = ".", name: str = "in-code") -> Recipe:
    """A recipe built in code from the fields a recipe file has (``model``, ``task``, ``space``, ...).

    It is written out as YAML and parsed like a file (same checks, same one-line errors), and that text is
    what the journal keeps, so a study made from it resumes like any other. Relative paths (the space, a
    data file) resolve against ``base``.

    >>> make_recipe({"model": "minilm", "task": "tweets-sentiment", "space": "minilm-layers"}).model
    'minilm'
    """
    import yaml

    if not isinstance(fields, Mapping):
        raise ConfigError(f"a recipe built in code must be a mapping of recipe fields, got {type(fields).__name__}")
    data = {"name": name, **dict(fields)}
    folder = Path(base).resolve()
    source = str(folder / f"{data['name']}.yaml")  # no such file: a name for the journal, resolved against base
    try:
        return parse_recipe(yaml.safe_dump(data, sort_keys=False), source, folder)
    except RecipeError as exc:  # say where the fields came from, not a line of the YAML they were written as
        text = re.sub(rf"^{re.escape(source)}(:\d+)?: ", "", str(exc), count=1)
        raise RecipeError(f"recipe fields given in code: {text}") from None


def _as_recipe(recipe: str | Path | Recipe | Mapping[str, Any]) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, Mapping):
        return make_recipe(recipe)
    if not isinstance(recipe, (str, Path)):
        raise ConfigError(f"recipe must be a recipe file, a Recipe or a mapping of recipe fields, got "
                          f"{type(recipe).__name__}; allowed: e.g. 'search/default.yaml' or {{'model': ..., "
                          "'task': ..., 'space': ...}")
    return load_recipe(recipe)


def create_study(recipe: str | Path | Recipe | Mapping[str, Any], out: str | Path | None = None, *,
                 budget: int | None = None, controller: str | None = None, seed: int | None = None,
                 task: str | None = None, warm_start: str | Path | Sequence[str | Path] = (),
                 load_prior: PriorLoader | None = None, model: str | None = None) -> Study:
    """A new study: ``recipe`` is a recipe file, a :class:`Recipe`, or a mapping of recipe fields
    (:func:`make_recipe`). The recipe is checked against its model and written to ``out`` (default:
    ``runs/<name>-<time>``); no trial runs until :meth:`Study.optimize`. ``warm_start``: earlier runs or
    PEFT-Bench tables ``bo`` starts from, as ``--warm-start``; ``load_prior`` reads them (``autopeft.create_study``
    passes :func:`autopeft.bench.warm_start.load_prior`, a floor above this one). ``model`` and ``task`` run the
    recipe on another model or registered task, as ``--model`` and ``--task``."""
    from autopeft.study.search import default_out, start_search

    rec = _as_recipe(recipe)
    if model is not None:
        if not isinstance(model, str):
            raise ConfigError(f"model must be a model name, folder or Hub id (a string), got {model!r}")
        rec = apply_overrides(rec, model=model)
    if task is not None:
        rec = with_task(rec, task)
    folder = Path(out) if out is not None else default_out(rec.name)
    sources = [warm_start] if isinstance(warm_start, (str, Path)) else list(warm_start)
    journal, _, _, _ = start_search(rec, folder, budget=budget, controller=controller, seed=seed,
                                    warm_start=[str(w) for w in sources], load_prior=load_prior)
    journal.close()
    return Study(folder, load_prior=load_prior)


def load_study(folder: str | Path, *, load_prior: PriorLoader | None = None, model: str | None = None,
               data: str | None = None) -> Study:
    """The study in run folder ``folder`` (made by ``autopeft search`` or :func:`create_study`); ``load_prior``
    as for :func:`create_study`, for a warm-started study to go on; ``model`` and ``data``: where the run's local
    model folder and data file are now, if they moved (as ``--model`` and ``--data`` with ``search --resume``,
    ``finalize`` and ``export``; each checked to be the same one)."""
    moved = Moved(model=model, data=data)
    with Journal.open(folder, lock=False):
        pass  # a folder that is not a run is a one-line JournalError here
    return Study(Path(folder), load_prior=load_prior, moved=moved)


class Study:
    """One search run, by its folder; see the module docstring."""

    def __init__(self, folder: str | Path, *, load_prior: PriorLoader | None = None,
                 moved: Moved | None = None) -> None:
        self.folder = Path(folder)
        self._load_prior = load_prior
        self._moved = moved

    def __repr__(self) -> str:
        return f"Study({str(self.folder)!r})"

    # ---- reading ----------------------------------------------------------------------------------------
    def _read(self) -> Journal:
        return Journal.open(self.folder, lock=False)

    @property
    def settings(self) -> dict[str, Any]:
        """Budget, controller, seed and objectives."""
        with self._read() as journal:
            return dict(journal.meta("settings") or {})

    @property
    def recipe(self) -> Recipe:
        """The recipe the study runs, as its journal keeps it."""
        from autopeft.study.provenance import run_recipe

        with self._read() as journal:
            return run_recipe(journal, self._moved)

    @property
    def trials(self) -> list[Trial]:
        """Every search trial (immutable records), in number order."""
        with self._read() as journal:
            return journal.trials()

    @property
    def front(self) -> Front:
        """The Pareto front of the complete trials (validation split)."""
        with self._read() as journal:
            return front(journal, objectives_of(journal.meta("settings")["objectives"]))

    @property
    def knee(self) -> Trial | None:
        f = self.front
        return f.trials[f.knee] if f.knee is not None else None

    def status(self) -> str:
        """What ``autopeft status`` prints."""
        from autopeft.study.status import status_text

        return status_text(self.folder)

    def trials_dataframe(self, *, phase: str = "search") -> pd.DataFrame:
        """One row per trial: state, origin, method, parameter counts, every metric, whether it is on the front
        (and the knee), whether it scores no better than always predicting the validation split's majority class
        (``at_chance``; ``None`` where the run has no chance level), fidelity, seed, seconds, error and the
        configuration."""
        import pandas as pd

        if phase not in PHASES:
            raise ConfigError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
        with self._read() as journal:
            trials = journal.trials(phase=phase)
            objectives = objectives_of(journal.meta("settings")["objectives"])
            f = front(journal, objectives)
            score = score_objective(objectives).name
            chance = run_chance(journal.trials(), score)
        on_front = {t.number for t in f.trials}
        knee = f.trials[f.knee].number if f.knee is not None else None
        return pd.DataFrame([{**_row(t, on_front, knee), "at_chance": at_chance(t.values.get(score), chance)}
                             for t in trials])

    def front_dataframe(self) -> pd.DataFrame:
        """The front's rows of :meth:`trials_dataframe`, by trainable parameters."""
        frame = self.trials_dataframe()
        if frame.empty:
            return frame
        return frame[frame["on_front"]].sort_values("trainable_params").reset_index(drop=True)

    # ---- doing ------------------------------------------------------------------------------------------
    def optimize(self, budget: int | None = None, *, workers: int | None = None, engine: str | None = None,
                 workers_per_gpu: int | None = None, callbacks: Sequence[StudyCallback] = (),
                 stream: TextIO | None = None) -> Study:
        """Run trials until the study has ``budget`` in all (reference points included; default: the budget
        it was created with), ``workers`` at once; ``callback(study, trial)`` after each. Resumes an
        interrupted study: its interrupted trials run again, nothing completed does."""
        from autopeft.study.search import run_search

        check_callbacks(callbacks)

        def each(trial: Trial) -> None:
            for callback in callbacks:
                callback(self, trial)

        run_search(None, self.folder, budget=budget, resume=True, stream=stream or sys.stderr, workers=workers,
                   engine=engine, workers_per_gpu=workers_per_gpu, callbacks=(each,), load_prior=self._load_prior,
                   moved=self._moved)
        return self

    def finalize(self, pick: str = "knee", *, seeds: int | None = None, workers: int | None = None,
                 stream: TextIO | None = None) -> pd.DataFrame:
        """Re-train the picked point (``knee``, ``best``, ``max-params:N``, ``trial:ID``, or ``front``: every front
        point) over ``seeds`` seeds at the final fidelity and score the test split; the finalize table (mean and
        std per metric)."""
        import pandas as pd

        from autopeft.study.finalize import finalize, finalize_table

        finalize(self.folder, pick, seeds=seeds, stream=stream, workers=workers, moved=self._moved)
        with self._read() as journal:
            return pd.DataFrame(finalize_table(journal))

    def per_class_dataframe(self) -> pd.DataFrame:
        """The finalized points' test scores per class: precision, recall and F1 mean and std over seeds, the
        class's test examples, and the confusion matrix's row summed over seeds (``predicted <class>``)."""
        import pandas as pd

        from autopeft.study.classes import class_names, per_class_table

        with self._read() as journal:
            return pd.DataFrame(per_class_table(journal, class_names(journal.recipe)))

    def export(self, pick: str = "knee", *, out: str | Path, overwrite: bool = False, merge: bool = False) -> Path:
        """Write the picked point as a folder plain ``peft`` loads (finalized weights when there are); with
        ``merge``, as a whole ``transformers`` model with the adapter merged into its weights."""
        from autopeft.study.finalize import export_pick

        if not isinstance(merge, bool):
            raise ConfigError(f"merge must be True or False, got {merge!r}")
        return export_pick(self.folder, pick, Path(out), overwrite=overwrite, merge=merge, moved=self._moved)


def check_callbacks(callbacks: Any) -> None:
    """A list of functions each taking ``(study, trial)``, checked before any trial runs (a wrong one would
    otherwise raise only after the first trial)."""
    if callable(callbacks) or isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise ConfigError(f"callbacks must be a list of functions taking (study, trial), got {callbacks!r}")
    for callback in callbacks:
        if not callable(callback):
            raise ConfigError(f"callback {callback!r} is not callable; allowed: functions taking (study, trial)")
        try:
            inspect.signature(callback).bind(None, None)
        except TypeError:
            raise ConfigError(f"callback {getattr(callback, '__qualname__', callback)!r} cannot be called with "
                              "(study, trial); allowed: functions taking (study, trial)") from None
        except ValueError:  # no signature to read (some builtins): trust it
            pass


def _row(t: Trial, on_front: set[int], knee: int | None) -> dict[str, Any]:
    r = t.result
    row: dict[str, Any] = {
        "number": t.number, "state": t.state, "origin": t.origin, "method": t.config.get("method"),
        "trainable_params": r.trainable_params if r else None, "total_params": r.total_params if r else None}
    row.update(dict(r.metrics) if r and t.state == "complete" else {})
    if r and r.test_metrics:
        row.update({f"test_{k}": v for k, v in r.test_metrics.items()})
    row.update({"on_front": t.number in on_front, "knee": t.number == knee, "steps": t.fidelity.steps,
                "seed": t.seed, "seconds": (t.finished - t.started) if t.finished and t.started else math.nan,
                "error": t.error, "config": t.config})
    return row
