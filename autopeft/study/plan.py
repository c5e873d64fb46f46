"""``autopeft search --dry-run``: what a search would do, checked as a real start checks it, nothing written.

A search on this CPU takes tens of minutes to hours; a file with a class missing from validation, a budget the
reference points fill, or a split column that marks no test row is better seen before than after. The plan runs
every check a new search runs (:func:`autopeft.study.search.check_search`: the recipe, the space on the model's
weight-free skeleton, the data and its splits, the weights being here, the controller and a warm start; and
:func:`autopeft.study.search.check_placement`: the engine and its workers) and says what the search would
train: where the trials run, the splits, the notes the search would print, the reference points with their
trainable parameters, and how the budget divides between them and the controller's proposals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autopeft.study.recipe import Recipe

__all__ = ["plan_text"]


def plan_text(recipe: Recipe, *, budget: int | None = None, controller: str | None = None, seed: int | None = None,
              warm_start: Sequence[str] = (), load_prior: Any = None, engine: str | None = None,
              workers: int | None = None, workers_per_gpu: int | None = None, nni: Any = None) -> str:
    """The dry run's text (see the module docstring); a one-line error where the search would refuse to start.
    ``engine``, ``workers``, ``workers_per_gpu`` and ``nni``: where the trials would run, checked as a start
    checks them (:func:`autopeft.study.search.check_placement`)."""
    from autopeft.controllers.cover import roots
    from autopeft.objectives import PARAMS
    from autopeft.study.search import check_placement, check_search, references_note
    from autopeft.study.status import warm_start_lines
    from autopeft.tasks.splits import describe_splits

    engine_name, n_workers = check_placement(recipe, engine=engine, workers=workers, workers_per_gpu=workers_per_gpu,
                                             nni=nni)
    recipe, ctx, settings, prior, ctl = check_search(recipe, budget=budget, controller=controller, seed=seed,
                                                     warm_start=warm_start, load_prior=load_prior)
    n_budget, refs = int(settings["budget"]), list(ctx.references)
    search = recipe.search
    lines = ["dry run: every check a search makes before it starts passed; nothing was trained or written",
             f"recipe {recipe.name}: model {recipe.model}, task {ctx.data.task.name} ({ctx.data.task.kind}), space "
             f"{ctx.space.spec.name} "
             f"({len(ctx.space.dimensions)} dimensions"
             + "".join(f"; {name}: {', '.join(map(str, choices))}" for name, choices in roots(ctx.space)) + ")",
             f"data: {describe_splits({}, ctx.data.summary())}",
             *(f"note: {note}" for note in ctx.data.notes()),
             f"objectives: {', '.join(settings['objectives'])}; controller {settings['controller']}, seed "
             f"{settings['seed']}; {recipe.fidelity.steps} steps a trial, then finalize at "
             f"{recipe.final_fidelity.steps} steps over {search.final_seeds} seeds",
             f"trials run on engine {engine_name}, {n_workers} at a time"]
    if refs:
        lines.append(f"reference points ({len(refs)}, trained first):")
        lines += [f"  {name}: {_count(ctx, config)} {PARAMS.replace('_', ' ')}"
                  for name, config in ctx.references.items()]
    if ctx.over_limit:
        lines.append("left out, over search.max_trainable_params: " + ", ".join(ctx.over_limit))
    proposals = max(0, n_budget - len(refs))
    lines.append(f"budget {n_budget}: {min(n_budget, len(refs))} reference point(s), then {proposals} proposal(s) "
                 f"by {settings['controller']}")
    if len(refs) >= n_budget and refs:
        lines.append(references_note(refs, n_budget, settings["controller"]))
    if prior is not None:
        lines += warm_start_lines(prior.describe(), ctl.prior_span)
    return "\n".join(lines)


def _count(ctx: Any, config: Any) -> str:
    from autopeft.errors import AutopeftError

    try:
        return f"{int(ctx.count(config)):,}"
    except AutopeftError:  # a count the skeleton cannot give is shown as unknown, not a failed plan
        return "unknown"
