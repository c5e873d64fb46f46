"""Analysis: the seed-to-seed noise of a PEFT-Bench table against the gaps between its best configurations.

    python benchmarks/seed_noise.py          # the MiniLM table; writes benchmarks/results/seed_noise.{json,md}

Nothing is trained or replayed; everything comes from the table's rows at its main (low) fidelity:

- the seed noise: the standard deviation of one training seed's accuracy, from the configurations that have
  all ``k`` training seeds, as the residual of a two-way layout (configuration plus seed, :func:`seed_sd`; with
  two seeds, ``sd(acc_seed0 - acc_seed1) / sqrt(2)``), over every configuration and over LoRA on q,v or
  attention alone; and the standard error of a ``k``-seed mean (``sd / sqrt(k)``);
- the most accurate configurations by seed mean, and the spread of the top ``--top``;
- the share of the exhaustive front's hypervolume that only its most accurate point holds (the hypervolume
  lost when that configuration is left out of the table);
- how a GP surrogate fit on every configuration with one seed's accuracy ranks the configuration with the best
  seed mean (1 = first), once per seed;
- with ``--group-by COLUMNS`` (dimension columns of the table, such as ``lora.modules,lora.ranks[encoder.5]``),
  per group of method and values in those columns: its configurations, the seed noise within it, the spread
  (sd) of its seed means against their standard error, and the correlation of the seeds over its
  configurations (the mean over pairs of seeds). Where the spread is no larger than the standard error and the
  seeds do not correlate, which of the group's configurations has the best seed mean is decided by the seeds,
  and no search can learn it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autopeft.bench.recorded import recorded_command, shown_path, write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def seed_sd(acc: np.ndarray) -> float:
    """One seed's sd of accuracy from ``acc`` (a row per configuration, a column per seed): the residual of the
    two-way layout configuration + seed, ``sum(residual ** 2) / ((n - 1) * (k - 1))``. With two seeds this is
    ``sd(acc[:, 0] - acc[:, 1]) / sqrt(2)``."""
    residual = acc - acc.mean(axis=1, keepdims=True) - acc.mean(axis=0, keepdims=True) + acc.mean()
    n, k = acc.shape
    return float(np.sqrt((residual ** 2).sum() / ((n - 1) * (k - 1))))


def seed_correlation(acc: np.ndarray) -> float:
    """The correlation of two seeds' accuracies over the configurations, averaged over every pair of seeds."""
    matrix = np.corrcoef(acc.T)
    return float(matrix[np.triu_indices(acc.shape[1], 1)].mean())


def group_noise(acc: np.ndarray, labels: Sequence[str], smallest: int = 3) -> dict[str, dict[str, float]]:
    """Per group of at least ``smallest`` configurations (rows of ``acc``, one column per seed): the seed sd,
    the sd of the seed means, the standard error of a mean and the correlation of the seeds."""
    out = {}
    for label in sorted(set(labels)):
        rows = acc[[i for i, g in enumerate(labels) if g == label]]
        if len(rows) < smallest:
            continue
        sd = seed_sd(rows)
        out[label] = {"configurations": len(rows), "seed_sd": sd, "sd_of_means": float(rows.mean(axis=1).std(ddof=1)),
                      "se_of_mean": sd / np.sqrt(rows.shape[1]), "best_mean": float(rows.mean(axis=1).max()),
                      "seed_correlation": seed_correlation(rows)}
    return out


def analyse(table_path: str, top: int, group_by: Sequence[str] = ()) -> dict[str, Any]:
    from autopeft.bench.table import TableError, load_table, objectives_from
    from autopeft.bench.table.cells import group_label, unknown_column
    from autopeft.controllers.surrogate import make_surrogate
    from autopeft.trial import describe

    table = load_table(table_path)
    problem = unknown_column(table.space, group_by)
    if problem:
        raise TableError(f"--group-by {problem}")
    objectives = objectives_from(["accuracy", "trainable_params"])
    fidelity = table.main_fidelity
    seeded = [(dict(config), {r.seed: r.metrics["accuracy"] for r in table.entry(config, fidelity).rows if r.ok})
              for config in table.configs(fidelity)]
    seeds = max((tuple(sorted(rows)) for _, rows in seeded), key=len)  # every seed the table trains with
    if len(seeds) < 2:
        raise TableError(f"{table_path}: no configuration has two or more training seeds; allowed: a table built "
                         "with several seeds")
    configs = [config for config, rows in seeded if tuple(sorted(rows)) == seeds]
    acc = np.array([[rows[s] for s in seeds] for _, rows in seeded if tuple(sorted(rows)) == seeds])
    k = len(seeds)
    lora = np.array([c.get("method") == "lora" and c.get("lora.modules") in ("qv", "attention") for c in configs])
    sd_all = seed_sd(acc)
    sd_lora = seed_sd(acc[lora])
    means = acc.mean(axis=1)
    order = np.argsort(-means, kind="stable")
    best = int(order[0])
    hv_all = table.hypervolume(configs, fidelity, objectives)
    without = [c for i, c in enumerate(configs) if i != best]
    share = 1.0 - table.hypervolume(without, fidelity, objectives) / hv_all
    x = table.space.encode_many(configs)
    gp_rank = {}
    for column, seed in enumerate(seeds):
        model = make_surrogate("gp", seed=0).fit(x, acc[:, column])
        predicted = model.predict(x)
        gp_rank[str(seed)] = int(np.sum(predicted > predicted[best])) + 1
    return {
        "table": shown_path(table_path, ROOT),
        "fidelity_steps": fidelity, "configurations": len(configs), "seeds": list(seeds),
        "seed_sd_all": sd_all, "seed_sd_lora_qv_attention": sd_lora,
        "lora_qv_attention_configurations": int(lora.sum()),
        f"se_of_{k}_seed_mean_all": sd_all / np.sqrt(k), f"se_of_{k}_seed_mean_lora_qv_attention": sd_lora / np.sqrt(k),
        "top": [{"configuration": describe(configs[i], width=200), "seed_mean": float(means[i]),
                 "seeds": [float(v) for v in acc[i]]} for i in order[:top]],
        "top_spread": float(means[order[0]] - means[order[top - 1]]),
        "best_hypervolume_share": float(share),
        "gp_rank_of_best": gp_rank,
        **({"group_by": list(group_by),
            "groups": group_noise(acc, [group_label(table.space, c, group_by) for c in configs])} if group_by else {}),
    }


def markdown(data: dict[str, Any], command: str) -> str:
    top, seeds = data["top"], data["seeds"]
    k = len(seeds)
    lines = [
        "# Seed noise of a PEFT-Bench table (generated by benchmarks/seed_noise.py)", "",
        f"`{command}` on `{data['table']}`, {data['configurations']} configurations with "
        + ("both training seeds" if k == 2 else f"all {k} training seeds ({', '.join(map(str, seeds))})") + " at "
        f"{data['fidelity_steps']} steps.", "",
        "| quantity | value |", "|---|---|",
        f"| seed-to-seed sd of accuracy, every configuration | {data['seed_sd_all']:.4f} |",
        f"| the same, LoRA on q,v or attention ({data['lora_qv_attention_configurations']} configurations) | "
        f"{data['seed_sd_lora_qv_attention']:.4f} |",
        f"| standard error of a {k}-seed mean (every configuration; LoRA q,v / attention) | "
        f"{data[f'se_of_{k}_seed_mean_all']:.4f}; {data[f'se_of_{k}_seed_mean_lora_qv_attention']:.4f} |",
        f"| spread of the {len(top)} best seed means | {data['top_spread']:.4f} "
        f"({top[-1]['seed_mean']:.4f}-{top[0]['seed_mean']:.4f}) |",
        f"| hypervolume held only by the most accurate configuration | {100 * data['best_hypervolume_share']:.2f} % |",
        "| rank of the best seed mean under a GP fit on every configuration with "
        + "; ".join(f"seed {s}" for s in seeds) + " | "
        + "; ".join(str(data["gp_rank_of_best"][str(s)]) for s in seeds) + " |", "",
        "| rank | seed mean | seeds | configuration |", "|---|---|---|---|",
    ]
    lines += [f"| {i} | {t['seed_mean']:.4f} | {' / '.join(f'{v:.3f}' for v in t['seeds'])} | {t['configuration']} |"
              for i, t in enumerate(top, 1)]
    if data.get("groups"):
        columns = ", ".join(f"`{c}`" for c in data["group_by"])
        lines += ["", f"Groups of method and {columns} (at least 3 configurations):", "",
                  "| group | configurations | best seed mean | seed sd | sd of seed means | se of a seed mean | "
                  "correlation of the seeds |", "|---|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {g} | {v['configurations']} | {v['best_mean']:.4f} | {v['seed_sd']:.4f} | {v['sd_of_means']:.4f} "
                  f"| {v['se_of_mean']:.4f} | {v['seed_correlation']:.3f} |" for g, v in data["groups"].items()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default=str(HERE / "peftbench" / "minilm-tweets.csv"), help="a PEFT-Bench CSV")
    p.add_argument("--top", type=int, default=8, help="how many of the best configurations to list (default 8)")
    p.add_argument("--group-by", default="", metavar="COLUMNS",
                   help="comma-separated dimension columns: the noise within each group (default: none)")
    p.add_argument("--out", default=str(HERE / "results"), help="folder for seed_noise.{json,md}")
    args = p.parse_args(argv)
    if args.top < 2:
        p.error(f"--top must be >= 2, got {args.top}")
    from autopeft.errors import AutopeftError

    try:
        data = analyse(args.table, args.top, [c.strip() for c in args.group_by.split(",")] if args.group_by else [])
    except AutopeftError as exc:
        print(f"seed_noise.py: error: {exc}", file=sys.stderr)
        return 2
    command = recorded_command("benchmarks/seed_noise.py", argv if argv is not None else sys.argv[1:],
                               ("--table", "--out"), ROOT)
    text = markdown(data, command)
    write_results(Path(args.out) / "seed_noise", {"command": command, **data}, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
