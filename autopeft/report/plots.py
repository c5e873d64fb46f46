"""The report's figures (matplotlib, Agg): each function takes collected data and returns PNG bytes.

Colours are fixed per PEFT method (the same method has the same colour in every section and every report),
axes say what they show and in which unit, and labels that could collide are placed in the legend.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from autopeft.report.cells import metric_label
from autopeft.report.collect import Importance, Placement, RunData
from autopeft.study.journal import Trial
from autopeft.study.references import parse_reference_origin, tuned_references

#: method -> colour (colour-blind-safe Okabe-Ito first, then tab10); unknown methods get grey.
METHOD_COLORS = {
    "lora": "#0072B2", "dora": "#56B4E9", "ia3": "#E69F00", "ln_tuning": "#009E73", "bitfit": "#CC79A7",
    "beft": "#D55E00", "head_only": "#7f7f7f", "full": "#000000", "prompt_tuning": "#F0E442",
    "prefix_tuning": "#8c564b",
}
#: reference point name -> (marker, label)
REFERENCE_MARKERS = {
    "peft_default_lora": ("D", "peft default LoRA"), "attention_only": ("s", "attention-only"),
    "later_layers_only": ("^", "later-layers-only"), "full_finetune": ("P", "full fine-tuning"),
}
DPI = 110


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


def _count(value: float, _pos: Any = None) -> str:
    """1234 -> 1.2k, 2.3e6 -> 2.3M: tick labels people read at a glance."""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{unit}"
    return f"{value:.0f}"


def _label(name: str) -> str:
    return f"validation {metric_label(name)}"


def _reference(t: Trial) -> str | None:
    """The reference point's name (``reference:NAME`` or ``reference:NAME@lr=LR``), else None."""
    parsed = parse_reference_origin(t.origin)
    return parsed[0] if parsed is not None else None


@dataclass(frozen=True)
class ReferenceMark:
    """How one reference trial is drawn: its name's marker, large when it is the tuned point of its sweep."""

    trial: Trial
    name: str
    marker: str
    tuned: bool
    legend: str | None                        # one legend entry per reference name (on its tuned point)


def reference_marks(run: RunData, rows: Sequence[Trial]) -> list[ReferenceMark]:
    """The reference trials among ``rows``, grouped by name (``reference:NAME@lr=LR`` -> NAME): each name has
    one marker and one legend entry; the sweep's best on the score is the tuned point."""
    tuned = {t.number for t in tuned_references(rows, run.score_objective).values()}
    names = [_reference(t) for t in rows]
    marks, labelled = [], set()
    for t, name in zip(rows, names, strict=True):
        if name is None:
            continue
        marker, label = REFERENCE_MARKERS.get(name, ("X", name))
        best = t.number in tuned
        legend = None
        if best and name not in labelled:
            labelled.add(name)
            legend = f"reference: {label}{' (tuned)' if names.count(name) > 1 else ''}"
        marks.append(ReferenceMark(t, name, marker, best, legend))
    return marks


def pareto_plot(run: RunData) -> bytes:
    """Trainable parameters (log x) against the score: every trial by method, the front joined, references
    marked, the knee labelled."""
    fig, ax = plt.subplots(figsize=(7.6, 4.6))
    rows = [t for t in run.comparable if run.score in t.values and "trainable_params" in t.values]
    lower = [t for t in run.complete if t not in rows and run.score in t.values and "trainable_params" in t.values]
    if lower:  # a multi-fidelity run's lower rungs: shorter trainings, drawn faint, never on the front
        ax.scatter([t.values["trainable_params"] for t in lower], [t.values[run.score] for t in lower], s=14,
                   marker="x", color="#aaaaaa", lw=0.8, zorder=1, label="lower rung (fewer steps)")
    methods = sorted({str(t.config.get("method")) for t in rows}, key=lambda m: list(METHOD_COLORS).index(m)
                     if m in METHOD_COLORS else 99)
    for m in methods:
        pts = [t for t in rows if str(t.config.get("method")) == m and _reference(t) is None]
        if pts:
            ax.scatter([t.values["trainable_params"] for t in pts], [t.values[run.score] for t in pts], s=26,
                       color=METHOD_COLORS.get(m, "#999999"), alpha=0.75, edgecolor="none", label=m, zorder=3)
    f = run.front
    if f.trials:
        xs = [t.values["trainable_params"] for t in f.trials]
        ys = [t.values[run.score] for t in f.trials]
        ax.step(xs, ys, where="post", color="#333333", lw=1.2, zorder=2, label="Pareto front")
        ax.scatter(xs, ys, s=60, facecolor="none", edgecolor="#333333", lw=1.1, zorder=4)
    for mark in reference_marks(run, rows):
        t = mark.trial
        ax.scatter([t.values["trainable_params"]], [t.values[run.score]], marker=mark.marker,
                   s=70 if mark.tuned else 26, zorder=5 if mark.tuned else 4, alpha=1.0 if mark.tuned else 0.55,
                   edgecolor="black", lw=0.9 if mark.tuned else 0.5,
                   color=METHOD_COLORS.get(str(t.config.get("method")), "#999999"), label=mark.legend)
    if run.chance is not None:  # what a model that learned nothing scores: the knee is above it
        ax.axhline(run.chance, color="#777777", ls=":", lw=1.0, zorder=1,
                   label=f"chance ({run.chance:.3f}): always the majority class")
    knee = run.knee
    if knee is not None:
        x, y = knee.values["trainable_params"], knee.values[run.score]
        ax.scatter([x], [y], marker="*", s=220, color="#D55E00", edgecolor="black", lw=0.8, zorder=6)
        # the label sits in the lower right (the dominated corner, where points are fewest), an arrow to the star
        ax.annotate(f"knee: trial {knee.number}\n{_count(x)} params, {y:.3f}", (x, y), xytext=(0.97, 0.05),
                    textcoords="axes fraction", ha="right", va="bottom", fontsize=8.5,
                    arrowprops={"arrowstyle": "->", "color": "#444", "lw": 0.8, "shrinkB": 8},
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "#bbbbbb"}, zorder=7)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_count))
    ax.set_xlabel("trainable parameters (log scale)")
    ax.set_ylabel(_label(run.score))
    ax.grid(True, which="major", alpha=0.3)
    top = f" at the top rung ({run.top_steps} steps)" if run.top_steps is not None else ""
    ax.set_title(f"{run.task} on {run.model}: {len(rows)} completed trials{top}, {len(f.trials)} on the front",
                 fontsize=10)
    ax.legend(fontsize=7.5, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _png(fig)


def hypervolume_plot(run: RunData, baselines: Sequence[RunData] = ()) -> bytes:
    """Hypervolume of the front after each trial; other runs (random search) on the same axes."""
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    for r, color, style in [(run, "#0072B2", "-"), *[(b, "#7f7f7f", "--") for b in baselines]]:
        if not r.hv_curve:
            continue
        ys = [hv for _, hv in r.hv_curve]
        ax.step(range(1, len(ys) + 1), ys, where="post", color=color, ls=style, lw=1.6,
                label=f"{r.settings.get('controller', '?')} ({r.folder.name})")
    ax.set_xlabel("trial number (reference points first)")
    ax.set_ylabel(f"hypervolume\n({run.score_label} x log10 params saved)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("front hypervolume against trials (higher is better)", fontsize=10)
    return _png(fig)


def reliability_plot(panels: Sequence[tuple[str, Trial]]) -> bytes | None:
    """Reliability diagram per (title, trial): accuracy per confidence bin against the diagonal."""
    usable = [(title, t) for title, t in panels if t.result is not None and t.result.reliability]
    if not usable:
        return None
    fig, axes = plt.subplots(1, len(usable), figsize=(3.9 * len(usable), 3.9), squeeze=False)
    for ax, (title, t) in zip(axes[0], usable, strict=True):
        rel: Any = t.result.reliability if t.result else {}
        edges = np.asarray(rel["edges"], dtype=float)
        acc = np.array([np.nan if v is None else v for v in rel["accuracy"]], dtype=float)
        conf = np.array([np.nan if v is None else v for v in rel["confidence"]], dtype=float)
        counts = np.asarray(rel["counts"], dtype=float)
        centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        filled = counts > 0
        ax.bar(centers[filled], acc[filled], width=width[filled] * 0.92, color="#0072B2", alpha=0.85,
               label="accuracy in bin")
        ax.scatter(centers[filled], conf[filled], marker="_", s=160, lw=2.2, color="#D55E00", zorder=4,
                   label="mean confidence in bin")
        for c, frac in zip(centers[filled], counts[filled] / counts.sum(), strict=True):
            ax.text(c, 0.015, f"{frac:.0%}" if frac >= 0.005 else "<1%", ha="center", va="bottom", fontsize=6,
                    color="white", rotation=90)
        ax.plot([0, 1], [0, 1], color="black", lw=1, ls="--", label="perfect calibration")
        m = t.values
        ax.set_title(f"{title}: trial {t.number}\nECE {m.get('ece', math.nan):.3f}, "
                     f"acc {m.get('accuracy', math.nan):.3f}", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (max probability)")
        ax.set_ylabel("accuracy")
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.08))
    fig.suptitle("reliability, validation split, before temperature scaling (white: share of examples per bin)",
                 fontsize=9, y=1.02)
    return _png(fig)


def heatmap_plot(p: Placement) -> bytes:
    """Per stack (encoder, decoder): how often the front adapts each (module, block), with the median rank."""
    stacks = list(p.stacks)
    widths = [max(p.stacks[s], 1) for s in stacks]
    fig, axes = plt.subplots(1, len(stacks), figsize=(1.6 + 0.62 * sum(widths) + 1.2 * len(stacks), 3.9),
                             squeeze=False, gridspec_kw={"width_ratios": widths})
    image = None
    for ax, stack in zip(axes[0], stacks, strict=True):
        share = p.share[stack]
        image = ax.imshow(share, vmin=0, vmax=1, cmap="Blues", aspect="auto")
        for i in range(share.shape[0]):
            for j in range(share.shape[1]):
                if share[i, j] <= 0:
                    continue
                lo, hi = p.rank_range[stack][i, j]
                text = (f"{share[i, j]:.0%}" if math.isnan(lo) else
                        f"r{lo:.0f}" if lo == hi else f"r{lo:.0f}-{hi:.0f}")
                ax.text(j, i, text, ha="center", va="center", fontsize=7.5,
                        color="white" if share[i, j] > 0.55 else "black")
        ax.set_xticks(range(share.shape[1]), [str(b) for b in range(share.shape[1])])
        ax.set_yticks(range(len(p.roles)), p.roles)
        ax.set_xlabel(f"{stack} block")
        ax.set_title(f"{stack} ({p.configs} front configurations)", fontsize=9.5)
    if image is not None:
        bar = fig.colorbar(image, ax=list(axes[0]), fraction=0.05, pad=0.02)
        bar.set_label("share of front configurations adapting it")
    return _png(fig)


def importance_plot(imp: Importance, score: str = "accuracy", top: int = 16) -> bytes:
    """The top dimensions by their share of the held-out permutation importance for ``score`` (a label)."""
    order = np.argsort(imp.values)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(6.8, 0.28 * len(order) + 1.3))
    ax.barh([imp.names[i] for i in order], [imp.values[i] for i in order], color="#009E73")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_xlabel(f"share of held-out permutation importance for {score} "
                  f"({imp.folds}-fold CV R$^2$ = {imp.r2:.2f}, {imp.observations} trials)")
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    return _png(fig)
