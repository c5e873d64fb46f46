"""Recipes (``search/*.yaml``): what a trial or a search runs — model, task, space, data, fidelity, training.

::

    name: default
    model: minilm                         # alias, local folder (relative to this file first) or Hub id
    task: tweets-sentiment                # a registered task, or a file:
                                          # {file: data.csv, text_fields: [text], label_field: label}
    space: ../spaces/minilm-layers.yaml   # relative to this file
    data: {seed: 0, n_train: 1000, n_validation: 500, n_test: 1000}
    fidelity: {steps: 60, train_fraction: 1.0}
    training: {batch_size: 16, max_length: 64}
    seed: 0

Every problem is a one-line :class:`RecipeError` naming the file, line, field and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from autopeft.errors import MAX_SEED, AutopeftError, RecipeError, SpaceError
from autopeft.runner.config import TrainingConfig
from autopeft.space.yaml_fields import Fields, load_yaml
from autopeft.study.rungs import AshaConfig
from autopeft.trial import Fidelity

TOP_FIELDS = ("name", "description", "model", "task", "space", "data", "fidelity", "training", "seed", "search")
SEARCH_FIELDS = ("budget", "controller", "objectives", "references", "reference_lr_factors", "max_trainable_params",
                 "final_fidelity",
                 "workers", "workers_per_gpu", "engine",
                 "final_seeds", "controller_options", "scheduler", "prune")
DATA_FIELDS = ("seed", "n_train", "n_validation", "n_test", "official_splits", "split_names")
FILE_TASK_FIELDS = ("file", "text_fields", "label_field", "label_names", "kind", "template", "verbalizers", "name",
                    "metric", "split_field")
HUB_TASK_FIELDS = ("hub", "config", "text_fields", "label_field", "label_names", "kind", "template", "verbalizers",
                   "name", "metric")


@dataclass(frozen=True)
class DataConfig:
    """How the task's rows are split: the split seed, the split sizes (``None`` = the task's default), and
    whether a Hub task keeps its dataset's own splits (``official_splits``; the sizes then cap them), and more names
    for the splits (``split_names``: MNLI's ``validation_matched`` -> ``validation``)."""

    seed: int = 0
    n_train: int | None = None
    n_validation: int | None = None
    n_test: int | None = None
    official_splits: bool = False
    split_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchConfig:
    """A recipe's ``search:`` section: what ``autopeft search`` does when the command line does not say."""

    budget: int = 50                                    # trials, reference points included
    controller: str = "bo"
    objectives: tuple[str, ...] = ("accuracy", "trainable_params")
    references: bool = True                             # evaluate the space's reference points first
    reference_lr_factors: tuple[float, ...] = (1.0, 4.0, 16.0)  # x the method's default learning rate
    max_trainable_params: int | None = None             # a constraint on every proposal
    final_fidelity: Fidelity | None = None              # finalize re-trains here (default: 4x the search steps)
    final_seeds: int = 3
    controller_options: Mapping[str, Any] = field(default_factory=dict)
    workers: int = 1                                    # trials at once (1: in the study's process)
    workers_per_gpu: int | None = None                  # at most this many workers share one GPU
    engine: str | None = None                           # where trials run (default: by workers)
    scheduler: AshaConfig | None = None                 # multi-fidelity (ASHA); None: every trial at fidelity
    prune: bool = False                                 # stop a trial whose partial score cannot reach the front


@dataclass(frozen=True)
class Recipe:
    source: str
    name: str
    model: str
    task: str | Mapping[str, Any]
    space: str
    data: DataConfig = field(default_factory=DataConfig)
    fidelity: Fidelity = field(default_factory=lambda: Fidelity(steps=60))
    training: TrainingConfig = field(default_factory=TrainingConfig)
    seed: int = 0
    description: str | None = None
    text: str = ""
    search: SearchConfig = field(default_factory=SearchConfig)
    space_text: str = ""      # the space file's text, once read (a journaled run never re-reads the file)
    #: what the command line changed (model, task, data), so that a run's commands can be shown again
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def final_fidelity(self) -> Fidelity:
        return self.search.final_fidelity or Fidelity(steps=4 * self.fidelity.steps)

    @property
    def task_name(self) -> str:
        if isinstance(self.task, str):
            return self.task
        if "hub" in self.task:
            from autopeft.tasks.adhoc import hub_task_name

            return str(self.task.get("name") or hub_task_name(str(self.task["hub"]), self.task.get("config")))
        return str(self.task.get("name") or Path(str(self.task["file"])).stem)

    def load_space(self) -> Any:
        from autopeft.space import load_space, parse_space

        return parse_space(self.space_text, self.space) if self.space_text else load_space(self.space)

    def with_space_text(self) -> Recipe:
        """The recipe holding its space file's text (read now), so it no longer needs the file."""
        return self if self.space_text else replace(self, space_text=self.load_space().text)

    def load_task(self) -> Any:
        from autopeft.tasks import get_task, task_from_file, task_from_hub

        if isinstance(self.task, str):
            task = get_task(self.task)
        else:
            spec = dict(self.task)
            if "file" in spec:  # a file's split column is read when the task is made: its names go with it
                return self._own_splits(task_from_file(spec.pop("file"), **spec,
                                                       split_names=dict(self.data.split_names)))
            task = task_from_hub(spec.pop("hub"), **spec)
        return self._own_splits(task).with_split_names(dict(self.data.split_names))

    def _own_splits(self, task: Any) -> Any:
        return task.with_source_splits() if self.data.official_splits else task

    def task_data(self) -> Any:
        from autopeft.tasks import load_task_data

        return load_task_data(self.load_task(), seed=self.data.seed, n_train=self.data.n_train,
                              n_validation=self.data.n_validation, n_test=self.data.n_test)

    def to_dict(self) -> dict[str, Any]:
        """Everything the recipe is, resolved (overrides included): :func:`recipe_from_dict` rebuilds it."""
        return {
            "name": self.name, "model": self.model, "description": self.description,
            "task": self.task if isinstance(self.task, str) else dict(self.task),
            "space": self.space, "data": vars(self.data), "fidelity": self.fidelity.to_dict(),
            "training": self.training.to_dict(), "seed": self.seed, "source": self.source,
            "text": self.text, "space_text": self.space_text, "overrides": dict(self.overrides),
            "search": {"budget": self.search.budget, "controller": self.search.controller,
                       "objectives": list(self.search.objectives), "references": self.search.references,
                       "reference_lr_factors": list(self.search.reference_lr_factors),
                       "max_trainable_params": self.search.max_trainable_params,
                       "final_fidelity": self.final_fidelity.to_dict(), "final_seeds": self.search.final_seeds,
                       "controller_options": dict(self.search.controller_options),
                       "workers": self.search.workers, "workers_per_gpu": self.search.workers_per_gpu,
                       "engine": self.search.engine,
                       "scheduler": self.search.scheduler.to_dict() if self.search.scheduler else None,
                       "prune": self.search.prune},
        }


def _int(f: Fields, key: str, *, low: int, default: int | None, high: int | None = None) -> int | None:
    if key not in f.data or f.data[key] is None:
        return default
    value = f.data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise f.error(key, "bad value", value=value,
                      allowed=f"an integer >= {low}" if high is None else f"an integer from {low} to {high}")
    return value


def _resolve_path(raw: str, base: Path) -> str:
    """A space path relative to the recipe file; else to the working directory; else a shipped space name."""
    from autopeft.paths import find_space

    return find_space(raw, base=base)


def _resolve_model(raw: str, base: Path) -> str:
    """A model folder relative to the recipe file, as the space and a data file are; else ``raw`` as it is (a
    folder relative to the working directory, an alias or a Hub id)."""
    return str(base / raw) if raw and not Path(raw).is_absolute() and (base / raw).is_dir() else raw


def parse_recipe(text: str, source: str = "<recipe>", base: Path | None = None) -> Recipe:
    """Parse recipe ``text``; relative paths resolve against ``base`` (the recipe's folder)."""
    base = base if base is not None else Path.cwd()
    try:
        return _parse(text, source, base)
    except SpaceError as exc:  # the YAML helpers raise SpaceError; here it is a recipe's problem
        raise RecipeError(str(exc)) from None


def _parse(text: str, source: str, base: Path) -> Recipe:
    data = load_yaml(text, source)
    if not isinstance(data, Mapping):
        raise SpaceError("a recipe must be a mapping with model, task and space", file=source, line=1,
                         allowed="model: ..., task: ..., space: ...")
    top = Fields(data, source)
    top.check_keys(TOP_FIELDS, required=("model", "task", "space"), what=" in a recipe")
    model = _resolve_model(top.string("model", required=True) or "", base)
    task_raw = data["task"]
    task: str | dict[str, Any]
    if isinstance(task_raw, str) and task_raw.strip():
        task = task_raw
    elif isinstance(task_raw, Mapping) and "hub" in task_raw:
        Fields(task_raw, source, "task").check_keys(HUB_TASK_FIELDS, required=("hub", "text_fields", "label_field"),
                                                    what=" of a Hub task")
        task = dict(task_raw)
        if isinstance(task["text_fields"], str):
            task["text_fields"] = [task["text_fields"]]
    elif isinstance(task_raw, Mapping):
        tf = Fields(task_raw, source, "task")
        tf.check_keys(FILE_TASK_FIELDS, required=("file", "text_fields", "label_field"), what=" of a file task")
        task = dict(task_raw)
        path = Path(str(task["file"]))
        task["file"] = str(path if path.is_absolute() else base / path)
        if isinstance(task["text_fields"], str):
            task["text_fields"] = [task["text_fields"]]
    else:
        raise top.error("task", "bad task", value=task_raw,
                        allowed="a task name, {file: ..., text_fields: [...], label_field: ...} or {hub: ..., "
                                "config: ..., text_fields: [...], label_field: ...}")
    space = _resolve_path(top.string("space", required=True) or "", base)

    df = Fields(data.get("data") or {}, source, "data")
    if not isinstance(df.data, Mapping):
        raise top.error("data", "must be a mapping", value=df.data, allowed=", ".join(DATA_FIELDS))
    df.check_keys(DATA_FIELDS)
    data_config = DataConfig(seed=_int(df, "seed", low=0, default=0, high=MAX_SEED) or 0,
                             n_train=_int(df, "n_train", low=1, default=None),
                             n_validation=_int(df, "n_validation", low=1, default=None),
                             n_test=_int(df, "n_test", low=1, default=None),
                             official_splits=_flag(df, df.data, "official_splits"),
                             split_names=_split_names(df, df.data.get("split_names")))

    ff = Fields(data.get("fidelity") or {}, source, "fidelity")
    ff.check_keys(("steps", "train_fraction"))
    try:
        fidelity = Fidelity(steps=ff.data.get("steps", 60), train_fraction=ff.data.get("train_fraction", 1.0))
    except AutopeftError as exc:
        raise top.error("fidelity", str(exc), allowed="steps >= 1, train_fraction in (0, 1]") from None

    training_raw = data.get("training") or {}
    if not isinstance(training_raw, Mapping):
        raise top.error("training", "must be a mapping", value=training_raw, allowed="training settings")
    try:
        training = TrainingConfig.from_dict(dict(training_raw))
    except AutopeftError as exc:
        raise top.error("training", str(exc)) from None
    seed = _int(top, "seed", low=0, default=0, high=MAX_SEED) or 0
    name = top.string("name") or Path(source).stem
    return Recipe(source=source, name=name, model=model, task=task, space=space, data=data_config,
                  fidelity=fidelity, training=training, seed=seed, description=top.string("description"), text=text,
                  search=_parse_search(top, source, fidelity.steps))


def _parse_search(top: Fields, source: str, steps: int) -> SearchConfig:
    raw = top.get("search") or {}
    if not isinstance(raw, Mapping):
        raise top.error("search", "must be a mapping", value=raw, allowed=", ".join(SEARCH_FIELDS))
    f = Fields(raw, source, "search")
    f.check_keys(SEARCH_FIELDS)
    objectives = raw.get("objectives", ["accuracy", "trainable_params"])
    if (not isinstance(objectives, list) or not objectives or not all(isinstance(o, str) for o in objectives)
            or len(set(objectives)) != len(objectives)):
        raise f.error("objectives", "must be a list of distinct objective names", value=objectives,
                      allowed="e.g. [accuracy, trainable_params] or [accuracy, trainable_params, ece]")
    references = raw.get("references", True)
    if not isinstance(references, bool):
        raise f.error("references", "must be true or false", value=references, allowed="true, false")
    factors = raw.get("reference_lr_factors", [1.0, 4.0, 16.0])
    if (not isinstance(factors, list) or not factors
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x < 1e4 for x in factors)
            or len(set(factors)) != len(factors)):
        raise f.error("reference_lr_factors", "must be a list of distinct positive numbers", value=factors,
                      allowed="e.g. [1, 4, 16] (x each reference method's default learning rate; [1]: no sweep)")
    controller = raw.get("controller", "bo")
    if not isinstance(controller, str):
        raise f.error("controller", "must be a controller name", value=controller, allowed="bo, random, evolution")
    options = raw.get("controller_options") or {}
    if not isinstance(options, Mapping):
        raise f.error("controller_options", "must be a mapping", value=options, allowed="options of the controller")
    final = None
    if raw.get("final_fidelity") is not None:
        ff = raw["final_fidelity"]
        try:
            final = Fidelity(steps=ff.get("steps", 0), train_fraction=ff.get("train_fraction", 1.0))
        except (AutopeftError, AttributeError) as exc:
            raise f.error("final_fidelity", str(exc), allowed="{steps: N, train_fraction: F}") from None
    return SearchConfig(budget=_int(f, "budget", low=1, default=50) or 50, controller=controller,
                        objectives=tuple(objectives), references=references,
                        reference_lr_factors=tuple(float(x) for x in factors),
                        max_trainable_params=_int(f, "max_trainable_params", low=1, default=None),
                        final_fidelity=final, final_seeds=_int(f, "final_seeds", low=1, default=3) or 3,
                        controller_options=dict(options), workers=_int(f, "workers", low=1, default=1) or 1,
                        workers_per_gpu=_int(f, "workers_per_gpu", low=1, default=None),
                        engine=_name(f, raw, "engine"), scheduler=_scheduler(f, raw, steps),
                        prune=_flag(f, raw, "prune"))


def _split_names(f: Fields, raw: Any) -> dict[str, str]:
    """``data.split_names``: a mapping of more split names to train, validation or test (checked with the task)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise f.error("split_names", "must map split names to train, validation or test", value=raw,
                      allowed="e.g. {validation_matched: validation, validation_mismatched: test}")
    return {str(k): v for k, v in raw.items()}


def _flag(f: Fields, raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise f.error(key, "must be true or false", value=value, allowed="true, false")
    return value


def _scheduler(f: Fields, raw: Mapping[str, Any], steps: int) -> AshaConfig | None:
    if raw.get("scheduler") is None:
        return None
    try:
        return AshaConfig.from_mapping(raw["scheduler"], steps)
    except AutopeftError as exc:
        text = str(exc)  # most of its messages already say what is allowed
        allowed = None if "allowed:" in text else "{type: asha, min_steps: N, max_steps: M, eta: 3}"
        raise f.error("scheduler", text, allowed=allowed) from None


def _name(f: Fields, raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise f.error(key, "must be a name", value=value, allowed="e.g. inprocess, pool")
    return value



def with_task(recipe: Recipe, task: str) -> Recipe:
    """``recipe`` on another registered task (``autopeft search --task``); the name gets the task appended."""
    from autopeft.tasks import get_task

    get_task(task)  # raises TaskError naming the registered tasks
    if task == recipe.task:
        return recipe
    return replace(recipe, task=task, name=f"{recipe.name}-{task}", overrides={**recipe.overrides, "task": task})


def recipe_from_dict(d: Mapping[str, Any]) -> Recipe:
    """The recipe :meth:`Recipe.to_dict` wrote (a journal's), without reading the recipe or space file."""
    try:
        srch = dict(d.get("search") or {})
        final = srch.get("final_fidelity")
        search = SearchConfig(
            budget=int(srch.get("budget", 50)), controller=str(srch.get("controller", "bo")),
            objectives=tuple(srch.get("objectives", ("accuracy", "trainable_params"))),
            references=bool(srch.get("references", True)),
            reference_lr_factors=tuple(float(x) for x in srch.get("reference_lr_factors", (1.0,))),
            max_trainable_params=srch.get("max_trainable_params"),
            final_fidelity=Fidelity(**final) if final else None, final_seeds=int(srch.get("final_seeds", 3)),
            controller_options=dict(srch.get("controller_options") or {}), workers=int(srch.get("workers", 1)),
            workers_per_gpu=srch.get("workers_per_gpu"), engine=srch.get("engine"),
            scheduler=AshaConfig(**srch["scheduler"]) if srch.get("scheduler") else None,
            prune=bool(srch.get("prune", False)))
        return Recipe(source=str(d["source"]), name=str(d["name"]), model=str(d["model"]), task=d["task"],
                      space=str(d["space"]), data=DataConfig(**d["data"]), fidelity=Fidelity(**d["fidelity"]),
                      training=TrainingConfig.from_dict(dict(d["training"])), seed=int(d["seed"]),
                      description=d.get("description"), text=str(d.get("text", "")), search=search,
                      space_text=str(d.get("space_text", "")), overrides=dict(d.get("overrides") or {}))
    except (KeyError, TypeError, ValueError, AutopeftError) as exc:
        raise RecipeError(f"the run's journaled recipe cannot be read ({type(exc).__name__}: {exc}); "
                          "allowed: a journal written by autopeft") from None


def stored_recipe(stored: Mapping[str, Any]) -> Recipe:
    """The recipe a journal recorded: resolved, with its space text (journals from autopeft 0.x before
    self-contained runs kept only the recipe text and the folder it was in: those are re-parsed)."""
    if stored.get("space_text"):
        return recipe_from_dict(stored)
    missing = [key for key in ("text", "source", "base") if key not in stored]
    if missing:
        raise RecipeError(f"the run's journaled recipe lacks {', '.join(missing)}; allowed: a journal written by "
                          "autopeft search")
    recipe = parse_recipe(stored["text"], stored["source"], Path(stored["base"]))
    task = stored.get("overrides", {}).get("task")
    return with_task(recipe, task) if task else recipe


def load_recipe(path: str | Path) -> Recipe:
    """Read and parse a recipe file."""
    file = Path(path)
    if not file.is_file():
        raise RecipeError(f"{path}: no such recipe file; allowed: a YAML recipe such as search/default.yaml")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read the recipe: {exc}") from None
    return parse_recipe(text, str(path), file.resolve().parent)
