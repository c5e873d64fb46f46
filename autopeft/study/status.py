"""A run's state in a few lines: trials by state, the front, the best point and the knee, what is running, ETA.

What ``autopeft status RUN`` prints and :meth:`autopeft.Study.status` returns; it reads the journal only.
"""

from __future__ import annotations

import math
import shlex
import statistics
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autopeft.objectives import PARAMS, Objective, objectives_of, score_objective
from autopeft.study.classes import at_chance, run_chance
from autopeft.study.front import front
from autopeft.study.journal import Journal, Trial
from autopeft.study.rungs import top_steps
from autopeft.tasks.splits import describe_splits
from autopeft.trial import describe

__all__ = ["chance_lines", "next_text", "status_text", "warm_start_lines"]


def status_text(folder: Path) -> str:
    """The status of the run in ``folder``, a few lines (see the module docstring)."""
    with Journal.open(folder, lock=False) as opened, opened.snapshot() as journal:
        settings = journal.meta("settings")
        objectives = objectives_of(journal.meta("settings")["objectives"])
        counts = journal.counts()
        trials = journal.trials()
        f = front(journal, objectives)
        durations = [t.finished - t.started for t in trials if t.finished and t.started]
        remaining = max(0, settings["budget"] - len(trials))
        now, holder = time.time(), Journal.holder(folder)
        running = [t for t in trials if t.state == "running"]
        ended = None if holder or running else journal.meta("ended_early")  # the space had no more to give
        to_run = 0 if ended else remaining + (0 if holder else len(running))  # interrupted trials run again
        engine = journal.meta("engine") or {}
        workers = max(1, int(engine.get("workers", 1)))
        eta = statistics.median(durations) * to_run / workers if durations and to_run else 0.0
        names = [o.name for o in objectives]
        top = top_steps(journal.recipe)
        rung = f" (the top rung's, {top} steps)" if top else ""
        score = score_objective(objectives)
        worst = ", ".join(f"{o.name} {o.worst:g}" for o in objectives if o.worst is not None)
        lines = [f"run {folder}: recipe {journal.recipe.get('name')}, controller {settings['controller']}, "
                 f"budget {settings['budget']}, seed {settings['seed']}",
                 "trials: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
                 f"data: {describe_splits(journal.recipe.get('data') or {}, journal.meta('data'))}",
                 *warm_start_lines(journal.meta("warm_start") or [], journal.meta("warm_start_trials")),
                 f"front{rung}: {len(f.trials)} point{'' if len(f.trials) == 1 else 's'}, "
                 f"hypervolume {f.hypervolume:.4f} "
                 f"(reference: {worst}, trainable params = the full model, log10)",
                 *rung_lines(trials, top)]
        lines += chance_lines(trials, score)
        if f.trials and f.hypervolume <= 0.0:
            lines.append(f"no trial scored better than the reference's {score.name} ({score.worst:g}), so the front "
                         "has no volume: nothing learned the task at this fidelity; give the trials more training "
                         "(the recipe's fidelity.steps) or check the task's labels")
        if f.trials:
            col = names.index(score.name)
            sign = 1.0 if score.direction == "max" else -1.0
            best = max(range(len(f.trials)), key=lambda i: sign * f.values[i, col])
            t = f.trials[best]
            lines.append(f"best validation {score.label} {f.values[best, col]:.4f}: trial {t.number} "
                         f"({int(t.values[PARAMS]):,} params) {describe(t.config)}")
        if f.knee is not None:
            k = f.trials[f.knee]
            lines.append(f"knee: trial {k.number} {score.name} {k.values.get(score.name, math.nan):.4f} "
                         f"params {int(k.values[PARAMS]):,}")
        for t in running:
            minutes = (now - (t.started or now)) / 60
            lines.append(f"running trial {t.number} for {minutes:.1f} min: " if holder else
                         f"interrupted trial {t.number} (started {minutes:.1f} min ago): ")
            lines[-1] += f"{t.origin} {describe(t.config)}"
        if ended:
            lines.append(ended)
        elif not holder and (running or remaining):
            again = " (the interrupted trials run again)" if running else ""
            lines.append(f"no process is running this search, and {remaining} trial(s) of its budget are left; "
                         f"`autopeft search --resume {folder}` continues it{again}")
        total_time = sum(durations)
        where = f" ({engine.get('name')}, {workers} worker{'s' if workers > 1 else ''})" if engine else ""
        eta_text = f"{eta / 60:.1f} min" if durations or not to_run else "unknown until a trial ends"
        lines.append(f"trial time so far {total_time / 60:.1f} min{where}; ETA {eta_text} for {to_run} more")
        failed = [t for t in trials if t.state == "failed"]
        lines += [f"failed trial {t.number}: {t.error}" for t in failed[:5]]
        lines += finalize_lines(journal.trials(phase="finalize"), folder, live=bool(holder))
        return "\n".join(lines)


def next_text(folder: Path, moved: Sequence[str] = ()) -> str:
    """The line a finished search ends with: the commands that come next (finalize the front, export a point,
    report), or, where the front is empty, why there is nothing to finalize and how to look and go on. ``moved``:
    the ``--model``/``--data`` arguments a moved run was resumed with, which finalize and export need too."""
    with Journal.open(folder, lock=False) as opened, opened.snapshot() as journal:
        f = front(journal, objectives_of(journal.meta("settings")["objectives"]))
        failed = journal.counts().get("failed", 0)
        top = top_steps(journal.recipe)
    where = shlex.quote(str(folder))
    given = "".join(f" {shlex.quote(a)}" for a in moved)
    if not f.trials:
        rung = f" at the top rung ({top} steps)" if top else ""
        errors = f"; the first failed trials' errors are listed above ({failed} failed)" if failed else ""
        return (f"next: no trial completed{rung}, so the front is empty and there is nothing to finalize or export"
                f"{errors}; `autopeft pareto {where} --all` lists every trial with its state and error, and "
                f"`autopeft search --resume {where} --budget N{given}` runs more trials (N in all)")
    return (f"next: `autopeft finalize {where} --pick front{given}` re-trains every front point at the final "
            f"fidelity (--pick knee: the knee alone) and scores the test split; then `autopeft export {where} --pick "
            f"trial:ID --out DIR{given}` and `autopeft report {where} --out DIR`")


def finalize_lines(seeds: Sequence[Trial], folder: Path, *, live: bool) -> list[str]:
    """The finalized points' seeds by state, and how to go on with a finalize that was stopped (``live``: a
    process holds the run now)."""
    groups: dict[int, list[Trial]] = {}
    for t in seeds:
        groups.setdefault(int(t.origin.partition(":")[2]), []).append(t)
    if not groups:
        return []
    parts = [f"trial {n}: " + ", ".join(f"{count} {state}" for state, count in Counter(t.state for t in mine).items())
             for n, mine in groups.items()]
    lines = ["finalize (seeds by state): " + "; ".join(parts)]
    stopped = [n for n, mine in groups.items() if any(t.state in ("waiting", "running") for t in mine)]
    if stopped and not live:
        lines.append(f"finalize of trial(s) {', '.join(map(str, stopped))} was stopped; `autopeft finalize {folder} "
                     f"--pick trial:{stopped[0]}` goes on (or --pick front, for the whole front)")
    return lines


def chance_lines(trials: Sequence[Trial], score: Objective) -> list[str]:
    """The complete trials that score no better than always predicting the validation split's majority class
    (:func:`~autopeft.study.classes.run_chance`): they learned nothing at their setting (a learning rate too
    small or too large, too few steps). None for a score without a chance level, or records without confusion
    matrices."""
    done = [t for t in trials if t.state == "complete" and score.name in t.values]
    chance = run_chance(done, score.name)
    if chance is None:
        return []
    at = [t.number for t in done if at_chance(t.values[score.name], chance)]
    if not at:
        return []
    shown = ", ".join(map(str, at[:12])) + (f" and {len(at) - 12} more" if len(at) > 12 else "")
    return [f"at chance: {len(at)} of {len(done)} complete trials score {score.name} {chance:.4f} or less, what "
            f"always predicting the validation split's majority class scores (trial{'s' if len(at) > 1 else ''} "
            f"{shown}); they learned nothing at their learning rate and steps"]


def _left_out(source: Mapping[str, object]) -> str:
    """How many of a warm start's observations were left out, and how many of those were reference points."""
    dropped, references = source.get("dropped") or 0, source.get("dropped_references") or 0
    if not dropped:
        return "none left out"
    of = f" ({'all' if references == dropped else references} of them its reference points)" if references else ""
    return f"{dropped} more left out, not in this space{of}"


def warm_start_lines(sources: list[dict[str, object]], guided: int | None = None) -> list[str]:
    """What a warm start transferred, one line per source, then how many trials its prior guided (``status``
    and the report; ``guided`` is ``None`` for runs journaled before it was recorded)."""
    lines = [f"warm start: {s.get('observations')} observations from {s.get('kind')} {s.get('source')} "
             f"({s.get('note') or 'no note'}; {_left_out(s)}; not counted in the budget)" for s in sources]
    if sources and guided is not None:
        lines.append(f"warm start: the prior guides the first {guided} trial(s) (bo option prior_trials); "
                     f"after them bo fits this search's own observations alone")
    return lines


def rung_lines(trials: list[Trial], top: int | None) -> list[str]:
    """A multi-fidelity search's trials per rung and their training cost in top-rung trials (none otherwise)."""
    if top is None:
        return []
    steps = sorted({t.fidelity.steps for t in trials})
    per = ", ".join(f"{s} steps: {sum(1 for t in trials if t.fidelity.steps == s)}" for s in steps)
    cost = sum(t.fidelity.steps / top for t in trials)
    return [f"trials per rung: {per or 'none yet'}; training cost {cost:.1f} top-rung trials"]


def wall_seconds(sessions: Sequence[Mapping[str, Any]], trials: Sequence[Trial], started: float | None) -> float:
    """How long the run's searches ran, leaving out the time it sat stopped between a stop and a ``--resume``:
    each session (``meta("sessions")``, :func:`autopeft.study.search.session`) from its start to its end, or,
    for one that was killed, to the last trial that finished before the next began. Trials that finished before
    the first recorded session (all of a run journaled before sessions were recorded) count from ``started`` to
    the last of them."""
    stamps = sorted(t.finished for t in trials if t.finished)
    begin = started if started else min((t.created for t in trials), default=0.0)
    first = float(sessions[0]["start"]) if sessions else math.inf
    before = [s for s in stamps if s < first]  # all of an old run; what a run did before it was upgraded
    total = (before[-1] - begin) if before else 0.0
    for i, one in enumerate(sessions):
        start = float(one["start"])
        end = one.get("end")
        if end is None:  # killed: until its last finished trial
            upto = float(sessions[i + 1]["start"]) if i + 1 < len(sessions) else math.inf
            end = max((s for s in stamps if start <= s < upto), default=start)
        total += float(end) - start
    return total
