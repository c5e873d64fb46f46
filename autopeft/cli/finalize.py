"""``autopeft finalize`` and ``autopeft export``: what is done with a point of a finished search's front."""

from __future__ import annotations

import argparse
import math
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autopeft.cli.common import PICK_HELP
from autopeft.cli.search import add_engine_options
from autopeft.objectives import OBJECTIVES
from autopeft.study.journal import Journal

if TYPE_CHECKING:
    from autopeft.study.provenance import Moved


def configure(sub: Any) -> None:
    fi = sub.add_parser("finalize", help="re-train picked points at full fidelity over seeds; score the test split")
    fi.add_argument("run")
    fi.add_argument("--pick", default="knee", help=f"{PICK_HELP}, or front: every point of the front")
    fi.add_argument("--seeds", type=int, help="training seeds (default: the recipe's final_seeds)")
    add_engine_options(fi)
    add_moved_options(fi)
    fi.set_defaults(func=cmd_finalize)

    ex = sub.add_parser("export", help="write a picked point as a folder plain peft loads")
    ex.add_argument("run")
    ex.add_argument("--pick", default="knee", help=PICK_HELP)
    ex.add_argument("--out", required=True, help="the adapter folder to write")
    ex.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    ex.add_argument("--merge", action="store_true",
                    help="merge the adapter into the base weights: a whole transformers model that loads without "
                         "peft (not for prompt or prefix tuning)")
    add_moved_options(ex)
    ex.set_defaults(func=cmd_export)


def add_moved_options(parser: Any) -> None:
    """``--model`` and ``--data``: where a run's model folder and data file are now, if they moved."""
    parser.add_argument("--model", metavar="FOLDER", help="where the run's local model folder is now, if it moved "
                                                          "(checked to be the same model)")
    parser.add_argument("--data", metavar="FILE", help="where the run's data file is now, if it moved (checked to be "
                                                       "the same file)")


def moved(args: argparse.Namespace) -> Moved:
    """The run's moved model folder and data file, as ``--model`` and ``--data`` give them."""
    from autopeft.study.provenance import Moved

    return Moved(model=args.model, data=args.data)


def cmd_finalize(args: argparse.Namespace) -> int:
    from autopeft.study.finalize import finalize

    finalize(Path(args.run), args.pick, seeds=args.seeds, workers=args.workers, engine=args.engine,
             workers_per_gpu=args.workers_per_gpu, moved=moved(args))
    print(finalize_text(Path(args.run)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from autopeft.study.card import AUTO_CLASSES
    from autopeft.study.export import read_manifest
    from autopeft.study.finalize import export_pick

    path = export_pick(Path(args.run), args.pick, Path(args.out), overwrite=args.overwrite, merge=args.merge,
                       moved=moved(args))
    manifest = read_manifest(path)
    if manifest.get("peft_adapter"):
        print(f"exported to {path} (load with PeftModel.from_pretrained(base, {str(path)!r}))")
    else:  # merged, or head_only and full fine-tuning, which save a whole model, not an adapter
        auto = AUTO_CLASSES.get(str(manifest.get("model_kind")), "AutoModel")
        what = (f"its {manifest.get('method')} adapter merged into the base weights" if manifest.get("merged")
                else f"{manifest.get('method')} trains no adapter")
        print(f"exported to {path}: a whole model ({what}); load with {auto}.from_pretrained({str(path)!r})")
    classes = classes_line(manifest)
    if classes:
        print(classes)
    if manifest.get("inputs"):
        print(f"on new rows: autopeft predict {shlex.quote(str(path))} --data FILE.csv (inputs made as in training)")
    note = (manifest.get("source") or {}).get("note")
    if note:
        print(f"note: {note}")
    return 0


def classes_line(manifest: dict[str, Any]) -> str | None:
    """Which output is which class, from an export's manifest (a seq2seq model answers with the class's word);
    ``None`` for a generation task.

    >>> classes_line({"labels": ["neg", "pos"], "verbalizers": ["bad", "good"]})
    "classes, in output order: 0 neg, 1 pos; the model answers with the words 'bad', 'good'"
    """
    labels, words = manifest.get("labels") or [], manifest.get("verbalizers") or []
    if not labels:
        return None
    answers = f"; the model answers with the words {', '.join(map(repr, words))}" if words else ""
    return "classes, in output order: " + ", ".join(f"{i} {name}" for i, name in enumerate(labels)) + answers


def lost_line(trial: int, row: dict[str, Any]) -> str:
    """The seeds on which a finalized trial lost a class (none of its test examples predicted as it).

    >>> lost_line(45, {"class": "positive", "lost_on_seeds": [0]})
    'trial 45 lost positive on seed 0: none of its test examples was predicted as positive'
    """
    seeds = row["lost_on_seeds"]
    return (f"trial {trial} lost {row['class']} on seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}: none "
            f"of its test examples was predicted as {row['class']}")


def finalize_text(folder: Path) -> str:
    from autopeft.objectives import objectives_of, score_objective
    from autopeft.study.classes import class_names, finalized_groups, per_class_table, run_chance
    from autopeft.study.finalize import finalize_table, finalized_weights, held_up_note

    with Journal.open(folder, lock=False) as opened, opened.snapshot() as journal:
        rows = finalize_table(journal)
        classes = per_class_table(journal, class_names(journal.recipe))
        score_of = score_objective(objectives_of(journal.meta("settings")["objectives"]))
        exported = {int(origin.split(":")[1]): finalized_weights(folder, int(origin.split(":")[1]),
                                                                  {t.seed: t for t in seeds}, score_of)
                    for origin, seeds in finalized_groups(journal)}
        chance = run_chance((t for _, seeds in finalized_groups(journal) for t in seeds), score_of.name, "test")
    if not rows:
        return "no finalized trial yet (run `autopeft finalize RUN --pick knee`)"
    score = rows[0]["score"]
    short = (OBJECTIVES[score].label if score in OBJECTIVES else score)[:8]
    lines = [f"test split, mean ± std over seeds (validation {score}: in the search at its steps, and after "
             "the finalize's training)",
             f"{'trial':>5} {'params':>12} {'seeds':>5} {'steps':>5} {'val@steps':>13} {'val final':>15} "
             f"{'test ' + short:>15} {'test ECE':>15} {'test NLL':>15}  configuration"]
    for r in rows:
        def pm(key: str, r: dict[str, Any] = r) -> str:
            return f"{r[f'{key}_mean']:.4f}±{r[f'{key}_std']:.4f}" if f"{key}_mean" in r else "-"

        val = f"{math.nan if r['validation_score_search'] is None else r['validation_score_search']:.4f}"
        val += f"@{r['validation_steps_search']}"
        lines.append(f"{r['trial']:>5} {r['trainable_params'] or 0:>12,} {r['seeds']:>5} {r['steps']:>5} "
                     f"{val:>13} {pm('validation_score_final'):>15} {pm('test_' + score):>15} "
                     f"{pm('test_ece'):>15} {pm('test_nll'):>15}  {r['origin']}: {r['config'][:80]}")
    if chance is not None:
        lines.append(f"chance on the test split: {score} {chance:.4f} (always predicting its majority class)")
    for trial in dict.fromkeys(c["trial"] for c in classes):
        mine = [c for c in classes if c["trial"] == trial]
        seeds = mine[0]["seeds"]
        lines.append(f"trial {trial}, test F1 per class (mean over {seeds} seed{'s' * (seeds != 1)}): "
                     + ", ".join(f"{c['class']} " + ("- (no test example)" if c["f1_mean"] is None
                                                       else f"{c['f1_mean']:.4f}") for c in mine))
        lines += [lost_line(trial, c) for c in mine if c["lost_on_seeds"]]
    held = held_up_note(rows, score, OBJECTIVES[score].label if score in OBJECTIVES else score)
    lines += [held] if held else []
    lines += [f"`autopeft export --pick trial:{trial}` takes the weights {chosen[2]}"
              for trial, chosen in exported.items() if chosen is not None]
    return "\n".join(lines)
