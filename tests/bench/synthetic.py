"""A synthetic PEFT-Bench table over the real space file: closed-form accuracy plus per-seed noise.

The shape mimics what the default search measured on MiniLM: the head alone ~0.60, LN tuning and IA3 a few
points above, LoRA best with rank in the upper blocks, saturating. Parameter counts are MiniLM's (hidden 384,
3 classes). The high fidelity adds a few points and a per-configuration shift, so the two fidelities agree
on the ranking only roughly (Spearman ~0.8-0.9).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.bench.table import TableMeta, write_table
from autopeft.errors import ConfigError
from autopeft.objectives import get_objective
from autopeft.space import Space, load_space
from autopeft.trial import config_key

#: The objectives every table test and replay uses.
OBJECTIVES = [get_objective("accuracy"), get_objective("trainable_params")]
ROOT = Path(__file__).resolve().parents[2]
SPACE_FILE = ROOT / "spaces" / "peftbench-minilm.yaml"
LAYOUT = {"encoder": 6}
HEAD = 1155
TOTAL = 22_714_371
BLOCK_WEIGHT = {"encoder.2": 0.45, "encoder.3": 0.7, "encoder.4": 1.0, "encoder.5": 1.5}
PER_RANK = {"qv": 1536, "attention": 3072, "all_linear": 6912}  # all_linear: attention + 2 x (384 + 1536)
OTHERS = {("ia3", "attn.k+attn.v+ffn.out"): 13824, ("ia3", "attention_ffn"): 20736,
          ("ln_tuning", "encoder"): 9216, ("ln_tuning", "encoder.blocks[1/2:]"): 4608}


def space() -> Space:
    return load_space(SPACE_FILE).resolve(LAYOUT)


def _unit(*parts: Any) -> float:
    """A deterministic standard normal draw from ``parts``."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return float(np.random.default_rng(int.from_bytes(digest[:8], "little")).standard_normal())


def params(config: Mapping[str, Any]) -> int | None:
    method = config["method"]
    if method == "lora":
        total = sum(config["lora.ranks"].values())
        return None if total == 0 else HEAD + total * PER_RANK[config["lora.modules"]]
    if method == "head_only":
        return HEAD
    option = config.get("ia3.modules") or config.get("ln_tuning.layers")
    return HEAD + OTHERS[(method, option)]


def known_params(config: Mapping[str, Any]) -> float:
    """:func:`params` as a controller's known objective: a member that does not build raises, as a table says."""
    count = params(config)
    if count is None:
        raise ConfigError("does not build")
    return float(count)


def accuracy(config: Mapping[str, Any]) -> float:
    """The noise-free low-fidelity accuracy."""
    method = config["method"]
    if method == "lora":
        factor = {"qv": 1.0, "attention": 1.15, "all_linear": 1.25}[config["lora.modules"]]
        effective = factor * sum(BLOCK_WEIGHT[b] * math.log2(1 + r) for b, r in config["lora.ranks"].items())
        crowded = 0.004 * sum(1 for r in config["lora.ranks"].values() if r == 16)
        return 0.60 + 0.12 * (1 - math.exp(-effective / 4.0)) - crowded
    fast = 0.02 if float(config.get(f"{method}.learning_rate", 0.0)) > 0.02 else 0.0
    if method == "head_only":
        return 0.585 + fast
    if method == "ia3":
        return 0.63 + fast + (0.01 if config["ia3.modules"] == "attention_ffn" else 0.0)
    return 0.615 + fast + (0.008 if config["ln_tuning.layers"] == "encoder" else 0.0)


def records(sp: Space, *, low: int = 30, high: int | None = 60, seeds: Sequence[int] = (0, 1),
            noise: float = 0.008, high_every: int = 4) -> list[dict[str, Any]]:
    """Every member at ``low`` steps, every ``high_every``-th member (and the non-LoRA ones) at ``high``."""
    out: list[dict[str, Any]] = []
    for i, config in enumerate(sp.enumerate()):
        key = config_key(config)
        count = params(config)
        fidelities = [low] + ([high] if high is not None and (i % high_every == 0 or config["method"] != "lora")
                              else [])
        for steps in fidelities:
            for seed in seeds:
                row: dict[str, Any] = {"config": config, "fidelity_steps": steps, "seed": seed, "steps": steps,
                                       "train_fraction": 1.0, "total_params": TOTAL, "device": "cpu"}
                if count is None:
                    row.update(state="failed", metrics={}, total_params=None,
                               error="ConfigError: option 'lora.ranks': every rank is 0, so no block is adapted")
                    out.append(row)
                    continue
                acc = accuracy(config)
                if steps != low:
                    acc += 0.04 + 0.012 * _unit(key, "shift")
                acc += noise * _unit(key, steps, seed)
                row.update(state="complete", trainable_params=count, error=None,
                           train_seconds=round(0.21 * steps, 3), eval_seconds=2.9,
                           metrics={"accuracy": acc, "macro_f1": acc - 0.03, "ece": 0.05 + 0.1 * (0.75 - acc),
                                    "mce": 0.2, "brier": 0.6 - 0.4 * acc, "nll": 1.1 - 0.6 * acc,
                                    "temperature": 1.2, "ece_ts": 0.03})
                out.append(row)
    return out


def write(folder: Path, name: str = "synthetic", **kwargs: Any) -> Path:
    """Write the synthetic table (CSV + sidecar) into ``folder``; returns the CSV path."""
    sp = space()
    meta = TableMeta(name=name, space_text=SPACE_FILE.read_text(encoding="utf-8"),
                     space_source=str(SPACE_FILE), layout=LAYOUT, info={"synthetic": True})
    return write_table(folder / f"{name}.csv", meta, sp, records(sp, **kwargs))


def write_sharp(folder: Path, name: str = "synthetic", *, majority: float = 0.6,
                sidecar: Mapping[str, Any] | None = None, **kwargs: Any) -> Path:
    """:func:`write`, with a sidecar that states the majority-class accuracy (what the sharp reference point
    needs) and any other ``sidecar`` keys; returns the CSV path."""
    csv = write(folder, name, **kwargs)
    path = csv.with_suffix(".json")
    info = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**info, "majority_accuracy": majority, **dict(sidecar or {})}), encoding="utf-8")
    return csv


def sharp_pair(folder: Path) -> tuple[Path, Path]:
    """Two sharp tables over the same space, ``task_a`` and a noisier ``task_b`` (a warm start's source)."""
    return write_sharp(folder, "task_a"), write_sharp(folder, "task_b", noise=0.02)
