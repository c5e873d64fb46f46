"""What a search, a finalize or an export needs once per process, before any trial runs.

:func:`make_context` reads the recipe's space and task, checks the space against the model's structure
(a weight-free skeleton: no weights are loaded in the study process), resolves the reference points and
builds the exact parameter counter the controllers use as a known objective. :meth:`SearchContext.engine`
opens the engine the trials run in; only its workers load the model's weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from autopeft.study.engines import Engine, WorkerSpec, make_engine
from autopeft.study.recipe import Recipe
from autopeft.trial import config_key

if TYPE_CHECKING:
    from autopeft.runner.config import TrainingConfig
    from autopeft.space import SpaceSpec
    from autopeft.tasks import Task

__all__ = ["SearchContext", "make_context", "most_prompt_tokens", "require_weights"]


def _check_objectives(recipe: Recipe, task: Any) -> None:
    """Every objective of the recipe is one its task's trials report (a generation task has no accuracy)."""
    from autopeft.errors import ConfigError
    from autopeft.objectives import PARAMS
    from autopeft.tasks.base import REPORTED

    reported = REPORTED[task.kind]
    wrong = [o for o in recipe.search.objectives if o != PARAMS and o not in reported]
    if wrong:
        raise ConfigError(f"search.objectives: {wrong[0]!r} is not reported by the {task.kind} task {task.name!r}; "
                          f"allowed: {', '.join((*reported, PARAMS))}, e.g. objectives: "
                          f"[{task.metric or reported[0]}, {PARAMS}]")


@dataclass
class SearchContext:
    """The recipe, its task data, the space checked on the model, the references and the parameter counter."""

    recipe: Recipe
    data: Any                 # autopeft.tasks.TaskData
    graph: Any                # autopeft.model.graph.ModelGraph of the recipe's model
    space: Any                # autopeft.space.Space, resolved on that graph
    references: dict[str, dict[str, Any]]
    count: Callable[[Mapping[str, Any]], float]
    #: reference points left out for being over ``search.max_trainable_params``: name -> trainable parameters
    over_limit: dict[str, float] = field(default_factory=dict)

    @property
    def worker_spec(self) -> WorkerSpec:
        return WorkerSpec(self.recipe, self.space.spec)

    def engine(self, *, workers: int = 1, name: str | None = None, workers_per_gpu: int | None = None,
               log: TextIO | None = None, options: Mapping[str, Any] | None = None, jobs: int | None = None) -> Engine:
        """The engine the trials run in: in this process for one worker, a pool of processes for more, an
        NNI experiment for ``nni`` (``options``: see :func:`~autopeft.study.engines.make_engine`). ``jobs``: the
        most trials it will run; no more workers than that are started (each would load the model for nothing)."""
        if jobs is not None and workers > max(1, jobs):
            if log is not None:
                log.write(f"  {workers} workers asked for, {jobs} trial(s) to run: {max(1, jobs)} worker(s)\n")
            workers = max(1, jobs)
        return make_engine(name, self.worker_spec, workers=workers, workers_per_gpu=workers_per_gpu,
                           data=self.data, space=self.space, log=log, options=options)


def require_weights(model: str, task: Task | None = None, training: TrainingConfig | None = None) -> None:
    """Refuse a model whose weights cannot be had before a run is written. The space checks run on the model's
    shape, which autopeft knows for FLAN-T5 without its files; the trials need the checkpoint itself: a local
    folder, the Hub's cache, or a reachable Hub. Its config is what comes first, so it stands for the weights; its
    tokenizer is loaded too (a folder saved without one is refused here, not in the first trial), and with the
    ``task``, a seq2seq classifier's verbalizers are tokenised (two classes with the same tokens are refused)."""
    from autopeft.model.loading import load_config, load_tokenizer, model_kind
    from autopeft.runner.config import TrainingConfig
    from autopeft.runner.data import verbaliser_ids

    config = load_config(model, allow_known_shape=False)
    size = getattr(config, "vocab_size", None)
    tokenizer = load_tokenizer(model, vocab_size=size if isinstance(size, int) else None)
    if task is not None and task.kind == "classification" and model_kind(config) == "seq2seq":
        verbaliser_ids(task, tokenizer, (training or TrainingConfig()).target_max_length)


def most_prompt_tokens(spec: SpaceSpec) -> int:
    """The most virtual tokens a member of the space ``spec`` puts before its input: the largest
    ``prompt_tuning.num_virtual_tokens`` (prompt tuning's default when no dimension sets it); 0 when the space
    has no prompt tuning. They take the model's positions as input tokens do."""
    from autopeft.errors import ConfigError
    from autopeft.methods import get_method

    names = {dim.name for dim in spec.dimensions}
    if "method" not in names or not spec.dimension("method").allows("prompt_tuning"):
        return 0
    if "prompt_tuning.num_virtual_tokens" not in names:
        return int(get_method("prompt_tuning").option("num_virtual_tokens").default)
    dim = spec.dimension("prompt_tuning.num_virtual_tokens")
    values = [getattr(dim, "high", None), getattr(dim, "value", None), *getattr(dim, "choices", ())]
    counts = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if not counts:  # a dimension that takes no count has already been refused by the space's own checks
        raise ConfigError(f"dimension 'prompt_tuning.num_virtual_tokens' of space {spec.name!r} takes no count of "
                          "tokens; allowed: integers >= 1")
    return max(counts)


def make_context(recipe: Recipe) -> SearchContext:
    """Check ``recipe`` against its model and task without loading weights; see the module docstring."""
    from autopeft.errors import SpaceError
    from autopeft.methods import count_trainable
    from autopeft.methods.checks import check_space
    from autopeft.model.graph import ModelGraph
    from autopeft.model.loading import skeleton

    spec = recipe.load_space()
    data = recipe.task_data()
    _check_objectives(recipe, data.task)
    num_labels = data.task.n_classes if data.task.kind == "classification" else None
    shapes = skeleton(recipe.model, num_labels=num_labels)
    recipe.training.check_model(shapes.config, prompt_tokens=most_prompt_tokens(spec))  # before a run is written,
    # not in every trial
    graph = ModelGraph.from_model(shapes)
    try:
        check = check_space(spec, graph, recipe.model, skeleton=shapes)  # builds every reference point
    except SpaceError as exc:  # most often a recipe's space run on another model (--model): say where to look
        if exc.allowed is None:
            raise SpaceError(exc.reason, file=exc.file, line=exc.line, field=exc.field,
                             **({"value": exc.value} if exc.has_value else {}),
                             allowed=f"a space that fits model {recipe.model!r} (`autopeft spaces list` lists "
                                     f"them, `autopeft spaces check SPACE --model {recipe.model}` checks one)"
                             ) from None
        raise
    counts: dict[str, float] = {}

    def count(config: Mapping[str, Any]) -> float:
        key = config_key(config)
        if key not in counts:
            counts[key] = float(count_trainable(config, graph, shapes))
        return counts[key]

    refs: dict[str, dict[str, Any]] = {}
    over: dict[str, float] = {}
    if recipe.search.references:
        from autopeft.methods import get_method
        from autopeft.study.references import sweep_references

        refs = sweep_references(check.references, recipe.search.reference_lr_factors,
                                lambda method: float(get_method(method).default_learning_rate))
        limit = recipe.search.max_trainable_params
        if limit is not None:  # a reference over the user's limit is not a point they could choose
            over = {name: count(config) for name, config in refs.items() if count(config) > limit}
            refs = {name: config for name, config in refs.items() if name not in over}
    return SearchContext(recipe, data, graph, check.space, refs, count, over)
