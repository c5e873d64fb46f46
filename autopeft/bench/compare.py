"""Compare search strategies on a table over many seeds, all on the same seeds.

A strategy is a controller name (``random``, ``bo``, ``bo:forest``, ``evolution``: a single-fidelity replay,
:mod:`autopeft.bench.replay`) or a multi-fidelity one (``mf:<controller>``, ``high:<controller>``:
:mod:`autopeft.bench.multifidelity`), looked up in :data:`STUDIES` by prefix. For each, the summary gives
the hypervolume ratio curve (mean and standard error over seeds), the ratio at 25 / 50 / 100 trials (mean,
standard error, median), and the trials needed to reach 95 % of the exhaustive hypervolume (median over
seeds, a seed that never gets there counting as never, and how many got there).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from autopeft.bench.multifidelity import MultiFidelity, replay_high, replay_promotion
from autopeft.bench.replay import Run, controller_spec, replay, spec_names
from autopeft.bench.table import Table
from autopeft.controllers.registry import controller_defaults
from autopeft.controllers.transfer import Prior
from autopeft.errors import ConfigError, check_seed
from autopeft.objectives import Objective

__all__ = ["CHECKPOINTS", "STUDIES", "TARGET", "Comparison", "Summary", "compare", "strategy_names",
           "strategy_options"]

FloatArray = npt.NDArray[np.float64]
CHECKPOINTS = (25, 50, 100)
TARGET = 0.95
SINGLE = "single fidelity"
MULTI = "multi-fidelity"

#: Strategy prefix -> (study, replay of a controller in that study). A name without one of these prefixes is a
#: plain controller replayed at the table's main fidelity.
STUDIES: dict[str, tuple[str, Callable[..., Run]]] = {
    "mf": (MULTI, replay_promotion),
    "high": (MULTI, replay_high),
}


#: The prefix of a warm-started bo variant (``warm:bo``): its surrogate starts from ``--warm-start``'s prior.
WARM = "warm"


def strategy_names() -> list[str]:
    """Plain controller names, ``<prefix>:<controller>`` for each multi-fidelity prefix, then ``warm:<bo>``."""
    plain = spec_names()
    return (plain + [f"{prefix}:{name}" for prefix in STUDIES for name in plain]
            + [f"{WARM}:{name}" for name in plain if name == "bo" or name.startswith("bo:")])


@dataclass(frozen=True)
class Summary:
    """One strategy over seeds: ``ratios[s, k]`` is seed s's hypervolume ratio after k + 1 units of cost."""

    strategy: str
    study: str
    seeds: tuple[int, ...]
    ratios: FloatArray
    seconds: float = 0.0
    runs: tuple[Run, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.ratios.ndim != 2 or self.ratios.shape[0] != len(self.seeds) or not len(self.seeds):
            raise ValueError(f"ratios must be (seeds, budget) with one row per seed, got {self.ratios.shape} "
                             f"for {len(self.seeds)} seeds")

    @property
    def budget(self) -> int:
        return int(self.ratios.shape[1])

    @property
    def mean(self) -> FloatArray:
        return np.asarray(self.ratios.mean(axis=0), dtype=float)

    @property
    def se(self) -> FloatArray:
        """Standard error of the mean over seeds (0 with one seed)."""
        n = self.ratios.shape[0]
        if n < 2:
            return np.zeros(self.budget)
        return np.asarray(self.ratios.std(axis=0, ddof=1) / math.sqrt(n), dtype=float)

    def at(self, k: int) -> tuple[float, float, float] | None:
        """(mean, standard error, median) of the ratio after ``k`` units; ``None`` beyond the budget."""
        if not 1 <= k <= self.budget:
            return None
        column = self.ratios[:, k - 1]
        return float(self.mean[k - 1]), float(self.se[k - 1]), float(np.median(column))

    def to_target(self, target: float = TARGET) -> tuple[float | None, int, list[int | None]]:
        """(median units to reach ``target``, or None when most seeds never do; seeds that did; per seed)."""
        per_seed: list[int | None] = []
        for row in self.ratios:
            hit = np.flatnonzero(row >= target - 1e-12)
            per_seed.append(int(hit[0]) + 1 if hit.size else None)
        reached = sum(1 for v in per_seed if v is not None)
        median = float(np.median([math.inf if v is None else v for v in per_seed]))
        return (median if math.isfinite(median) else None), reached, per_seed

    def to_dict(self, target: float = TARGET) -> dict[str, Any]:
        median, reached, per_seed = self.to_target(target)
        at = {}
        for k in CHECKPOINTS:
            value = self.at(k)
            if value is not None:
                at[str(k)] = {"mean": value[0], "se": value[1], "median": value[2]}
        return {"strategy": self.strategy, "study": self.study, "seeds": list(self.seeds), "budget": self.budget,
                "seconds": round(self.seconds, 2), "mean": self.mean.round(6).tolist(),
                "se": self.se.round(6).tolist(), "at": at,
                "to_target": {"target": target, "median": median, "reached": reached, "per_seed": per_seed},
                "final": self.ratios[:, -1].round(6).tolist(), "curves": self.ratios.round(6).tolist()}


@dataclass(frozen=True)
class Comparison:
    """Every strategy's summary plus what the ratios are measured against."""

    table: Table
    objectives: tuple[Objective, ...]
    summaries: tuple[Summary, ...]
    multi: MultiFidelity | None = None
    target: float = TARGET
    #: where the hypervolumes are measured from (:mod:`autopeft.bench.reference`)
    reference: str = "stated"

    def summary(self, strategy: str) -> Summary:
        for s in self.summaries:
            if s.strategy == strategy:
                return s
        raise ConfigError(f"no strategy {strategy!r} in this comparison; allowed: "
                          f"{', '.join(s.strategy for s in self.summaries)}")

    def single_info(self) -> dict[str, Any]:
        from autopeft.bench.reference import reference_for

        steps = self.table.main_fidelity
        front, _, hv = self.table.front(steps, self.objectives,
                                        reference=reference_for(self.table, self.objectives, self.reference))
        return {"fidelity_steps": steps, "configurations": len(self.table.configs(steps)),
                "unbuildable": len(self.table.unbuildable(steps)), "front_size": len(front), "hypervolume": hv}

    def multi_info(self) -> dict[str, Any] | None:
        mf = self.multi
        if mf is None:
            return None
        rho = mf.correlation()
        return {"low_steps": mf.low, "high_steps": mf.high, "paired": len(mf.paired), "cost_ratio": mf.cost,
                "hypervolume": mf.exhaustive, "spearman_accuracy": None if math.isnan(rho) else rho}

    def paired(self) -> list[dict[str, Any]]:
        """The first strategy of each study against every other one of that study, paired by seed, each at the end
        of its own budget: ahead / tied / behind and the paired tests (:mod:`autopeft.bench.paired`). Empty for a
        study with one strategy or with fewer than two common seeds."""
        from autopeft.bench.paired import paired_comparison

        out = []
        for study in (SINGLE, MULTI):
            rows = [s for s in self.summaries if s.study == study]
            for other in rows[1:]:
                first = rows[0]
                common = [seed for seed in first.seeds if seed in other.seeds]
                if len(common) < 2:
                    continue
                a = first.ratios[[first.seeds.index(seed) for seed in common], -1]
                b = other.ratios[[other.seeds.index(seed) for seed in common], -1]
                out.append({"study": study, "strategy": first.strategy, "budget": first.budget,
                            "against": other.strategy, "against_budget": other.budget,
                            **paired_comparison(a, b).as_dict()})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table.source, "name": self.table.name, "space": self.table.space.spec.name,
                "objectives": [o.name for o in self.objectives], "target": self.target, "reference": self.reference,
                "single": self.single_info(), "multi_fidelity": self.multi_info(),
                "strategies": [s.to_dict(self.target) for s in self.summaries], "paired": self.paired()}

    def text(self) -> str:
        single = self.single_info()
        lines = [f"table {self.table.name!r} ({self.table.source}), space {self.table.space.spec.name!r}, "
                 f"objectives {', '.join(o.name for o in self.objectives)}, {self.reference} reference point"]
        groups = [(SINGLE, [s for s in self.summaries if s.study == SINGLE]),
                  (MULTI, [s for s in self.summaries if s.study == MULTI])]
        for study, rows in groups:
            if not rows:
                continue
            if study == SINGLE:
                extra = f" (+{single['unbuildable']} that do not build)" if single["unbuildable"] else ""
                lines.append(f"{SINGLE} at {single['fidelity_steps']} steps: {single['configurations']} "
                             f"configurations{extra}; exhaustive front {single['front_size']} points, "
                             f"hypervolume {single['hypervolume']:.4f}; units: trials")
            else:
                info = self.multi_info() or {}
                rho = info.get("spearman_accuracy")
                lines.append(f"{MULTI}: target {info['high_steps']} steps on the {info['paired']} configurations "
                             f"with rows at {info['low_steps']} and {info['high_steps']} steps (hypervolume "
                             f"{info['hypervolume']:.4f}); units: {info['low_steps']}-step trials, a "
                             f"{info['high_steps']}-step trial costs {info['cost_ratio']:.2f}; Spearman rho of "
                             f"accuracy, {info['low_steps']} vs {info['high_steps']} steps: "
                             f"{'n/a' if rho is None else f'{rho:.3f}'}")
            lines.append(self._rows(rows))
            lines += self._paired_text(study)
        return "\n".join(lines)

    def _paired_text(self, study: str) -> list[str]:
        from autopeft.bench.paired import PairedComparison

        rows = [r for r in self.paired() if r["study"] == study]
        if not rows:
            return []
        first = rows[0]
        lines = [f"paired by seed, {first['strategy']} after {first['budget']} against each after its own budget:"]
        for r in rows:
            c = PairedComparison.from_dict(r)
            lines.append(f"  {r['against']} after {r['against_budget']}: ahead on {c.ahead}, tied on {c.tied}, "
                         f"behind on {c.behind} of {c.seeds} seeds ({c.p_text()})")
        return lines

    def _rows(self, rows: Sequence[Summary]) -> str:
        # a budget between the checkpoints (or below them) gets its own column, the ratio at the search's end
        final = any(s.budget not in CHECKPOINTS and s.budget < CHECKPOINTS[-1] for s in rows)
        head = ["strategy", "seeds", "budget", *(f"@{k} mean ± se" for k in CHECKPOINTS),
                *(["at budget mean ± se"] if final else []), "median @50", f"to {self.target:.0%}: median (seeds)",
                "seconds"]
        body = []
        for s in rows:
            cells = [s.strategy, str(len(s.seeds)), str(s.budget)]
            for k in [*CHECKPOINTS, *([s.budget] if final else [])]:
                value = s.at(k)
                cells.append("-" if value is None else f"{value[0]:.3f} ± {value[1]:.3f}")
            at50 = s.at(50)
            cells.append("-" if at50 is None else f"{at50[2]:.3f}")
            median, reached, _ = s.to_target(self.target)
            cells.append(f"{'never' if median is None else f'{median:g}'} ({reached}/{len(s.seeds)})")
            cells.append(f"{s.seconds:.1f}")
            body.append(cells)
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                         for r in [head, *body])


def strategy_options(name: str) -> dict[str, Any]:
    """The options the controller behind strategy ``name`` runs with: its defaults, then its spec's (``bo:forest``),
    a warm start's ``prior`` left out. What a kept replay depends on besides the table, budget, seed and prior:
    a replay kept under other options is not today's (``benchmarks/search_efficiency.py`` checks this)."""
    prefix, _, rest = name.partition(":")
    try:
        spec = controller_spec(rest if prefix == WARM or prefix in STUDIES else name)
    except ConfigError:
        raise ConfigError(f"unknown strategy {name!r}; allowed: {', '.join(strategy_names())}") from None
    options = {**controller_defaults(spec.controller), **spec.options}
    options.pop("prior", None)
    return options


def _strategy(name: str, table: Table, objectives: Sequence[Objective],
              multi: Callable[[], MultiFidelity], reference: str = "stated",
              prior: Prior | None = None) -> tuple[str, Callable[[int, int], Run]]:
    prefix, _, rest = name.partition(":")
    if prefix == WARM:
        spec = controller_spec(rest)
        if spec.controller != "bo":
            raise ConfigError(f"strategy {name!r}: a warm start needs a bo controller (bo, bo:gp, bo:forest), "
                              f"got {rest!r}")
        if prior is None:
            raise ConfigError(f"strategy {name!r} needs --warm-start TABLE (the earlier table it starts from)")
        warm = spec.warm(prior, name)
        return SINGLE, lambda budget, seed: replay(table, warm, budget=budget, seed=seed, objectives=objectives,
                                                   reference=reference)
    if prefix in STUDIES:
        study, fn = STUDIES[prefix]
        controller_spec(rest)  # an unknown controller fails here, before any replay
        mf = multi()
        return study, lambda budget, seed: fn(mf, rest, budget=budget, seed=seed)
    try:
        controller_spec(name)
    except ConfigError:
        raise ConfigError(f"unknown strategy {name!r}; allowed: {', '.join(strategy_names())}") from None
    return SINGLE, lambda budget, seed: replay(table, name, budget=budget, seed=seed, objectives=objectives,
                                               reference=reference)


def compare(table: Table, strategies: Sequence[str], *, budget: int, seeds: int, objectives: Sequence[Objective],
            seed_start: int = 0, budgets: Mapping[str, int] | None = None,
            progress: Callable[[str], None] | None = None, reference: str = "stated",
            prior: Prior | None = None) -> Comparison:
    """Replay every strategy on seeds ``seed_start .. seed_start + seeds - 1``; ``budgets`` overrides per name;
    ratios are measured from ``reference`` (``stated`` or ``sharp``, :mod:`autopeft.bench.reference`);
    ``warm:<bo variant>`` strategies start from ``prior`` (:mod:`autopeft.bench.warm_start`)."""
    from autopeft.bench.reference import reference_for

    table.check_objectives(objectives)
    reference_for(table, objectives, reference)  # an unknown kind, or no sharp point for this table, fails here
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds must be an integer >= 1, got {seeds!r}")
    check_seed("--seed-start", seed_start)
    if not strategies:
        raise ConfigError(f"no controller given; allowed: {', '.join(strategy_names())}")
    cache: dict[str, MultiFidelity] = {}

    def multi() -> MultiFidelity:
        if "mf" not in cache:
            cache["mf"] = MultiFidelity(table, objectives, reference=reference)
        return cache["mf"]

    plans = [(name, *_strategy(name, table, objectives, multi, reference, prior))
             for name in dict.fromkeys(strategies)]
    summaries = []
    seed_list = tuple(range(seed_start, seed_start + seeds))
    for name, study, run in plans:
        n = (budgets or {}).get(name, budget)
        start = time.perf_counter()
        runs = []
        for seed in seed_list:
            runs.append(run(n, seed))
            if progress is not None:
                progress(f"{name} seed {seed}: ratio {runs[-1].ratio[-1]:.4f} after {n}")
        ratios = np.vstack([r.ratio for r in runs])
        summaries.append(Summary(name, study, seed_list, ratios, time.perf_counter() - start, tuple(runs)))
    return Comparison(table, tuple(objectives), tuple(summaries), cache.get("mf"), reference=reference)
