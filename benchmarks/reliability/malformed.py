"""Malformed inputs through the real command line: each should give one line naming the file, field or value
and what is allowed, exit 2, no traceback, and nothing written.

    python benchmarks/reliability/malformed.py [--only ID ...] [--jobs N] [--out benchmarks/results]

Builds a tiny BERT, a sentiment CSV, a valid recipe (``tiny.py``) and a finished run with three trials (written
through the journal, no training) in a temporary folder, then runs every case of :data:`CASES` as
``python -m autopeft.cli ...`` in a subprocess there, and records the exit code, stderr's last line, whether a
traceback appeared and which files appeared or changed. Writes ``malformed.md`` and ``malformed.json``.
``tests/test_malformed_inputs.py`` runs the same cases in-process through ``autopeft.cli.main.main``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import tiny  # noqa: E402

CONFIG = '{"method": "ia3"}'
TRIAL = ["trial", "--recipe", "tiny.yaml", "--config", CONFIG, "--steps", "1"]


@dataclass(frozen=True)
class Case:
    id: str
    kind: str                                   # recipe, space, config, pick, data, model, cli
    what: str                                   # the malformed input, in words
    argv: list[str]                             # run in the case folder; RUN is a finished run, OUT a new folder
    files: tuple[tuple[str, bytes], ...] = ()   # written into the case folder first
    names: str = ""                             # what the error line must name (a file, field or value)
    accept: bool = False                        # not an error: it must run (exit 0, no traceback)


def recipe_text(**changes: str | None) -> str:
    """The valid tiny recipe (``tiny.yaml`` in the base folder) with top-level lines replaced or removed."""
    lines = (Path("tiny.yaml").read_text() if Path("tiny.yaml").exists() else "").splitlines()
    out = []
    for line in lines:
        key = line.split(":", 1)[0]
        if key in changes:
            if changes[key] is not None:
                out.append(f"{key}: {changes[key]}")
            continue
        out.append(line)
    extra = [f"{k}: {v}" for k, v in changes.items()
             if v is not None and not any(ln.startswith(f"{k}:") for ln in lines)]
    return "\n".join(out + extra) + "\n"


def _recipe(name: str, text: str | bytes) -> tuple[tuple[str, bytes], ...]:
    return ((name, text if isinstance(text, bytes) else text.encode()),)


SEARCH = ["search", "bad.yaml", "--out", "OUT", "--budget", "1"]
SPACE_HEAD = "name: bad\ndimensions:\n"


def space_case(id: str, what: str, body: str, names: str) -> Case:
    return Case(id, "space", what, ["spaces", "check", "space-bad.yaml", "--model", "MODEL"],
                (("space-bad.yaml", (SPACE_HEAD + body).encode()),), names)


def data_case(id: str, what: str, name: str, content: bytes, names: str, *, search: bool = False,
              label: str = "label", accept: bool = False, data: str | None = None) -> Case:
    flags = ["--data", data or name, "--text-fields", "text", "--label-field", label]
    argv = (["search", "tiny.yaml", "--out", "OUT", "--budget", "1", *flags] if search else [*TRIAL, *flags])
    return Case(id, "data", what, argv, ((name, content),), names, accept)


def _csv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


GOOD_ROWS = [f"the movie was {'good' if i % 2 else 'bad'},{'positive' if i % 2 else 'negative'}" for i in range(40)]


#: a case file of one of these names makes its folder a copy of the tiny BERT: without the weights whose names start
#: with the file's content, or without the files it names
DROP = ".drop-weights"
DROP_FILES = ".drop-files"


def _model_copy(folder: Path, base: Path, directive: str, content: str) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(base / "tiny-bert", folder, dirs_exist_ok=True)
    if directive == DROP_FILES:
        for name in content.split():
            (folder / name).unlink()
        return
    state = load_file(str(folder / "model.safetensors"))
    save_file({k: v for k, v in state.items() if not k.startswith(content)}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})


def cases() -> list[Case]:
    """Every malformed input (recipe texts are made from the base recipe when the case runs)."""
    return [
        # ---- recipes ------------------------------------------------------------------------------------
        Case("recipe-missing-model", "recipe", "no `model:`", SEARCH, _recipe("bad.yaml", "@model=None"), "model"),
        Case("recipe-missing-task", "recipe", "no `task:`", SEARCH, _recipe("bad.yaml", "@task=None"), "task"),
        Case("recipe-unknown-key", "recipe", "an unknown top-level key `modle:`", SEARCH,
             _recipe("bad.yaml", "@modle=tiny-bert"), "modle"),
        Case("recipe-bad-yaml", "recipe", "YAML that does not parse (`name: [unclosed`)", SEARCH,
             _recipe("bad.yaml", "name: [unclosed\nmodel: x\n"), "bad.yaml"),
        Case("recipe-not-mapping", "recipe", "a YAML list instead of a mapping", SEARCH,
             _recipe("bad.yaml", "- a\n- b\n"), "bad.yaml"),
        Case("recipe-empty", "recipe", "an empty file", SEARCH, _recipe("bad.yaml", ""), "bad.yaml"),
        Case("recipe-missing-file", "recipe", "a recipe path that does not exist",
             ["search", "nope.yaml", "--out", "OUT"], (), "nope.yaml"),
        Case("recipe-non-utf8", "recipe", "bytes that are not UTF-8", SEARCH,
             _recipe("bad.yaml", b"name: \xff\xfe\x00bad\n"), "bad.yaml"),
        Case("recipe-steps-type", "recipe", "`fidelity: {steps: many}`", SEARCH,
             _recipe("bad.yaml", "@fidelity={steps: many}"), "steps"),
        Case("recipe-steps-negative", "recipe", "`fidelity: {steps: -5}`", SEARCH,
             _recipe("bad.yaml", "@fidelity={steps: -5}"), "steps"),
        Case("recipe-negative-budget", "recipe", "`search.budget: -3`", SEARCH[:-2],
             _recipe("bad.yaml", "@search={budget: -3, controller: random}"), "budget"),
        Case("recipe-bad-objective", "recipe", "`objectives: [accuracy, speed]`", SEARCH,
             _recipe("bad.yaml", "@search={budget: 2, controller: random, objectives: [accuracy, speed]}"), "speed"),
        Case("recipe-bad-controller", "recipe", "`controller: genetic`", SEARCH,
             _recipe("bad.yaml", "@search={budget: 2, controller: genetic}"), "genetic"),
        Case("recipe-bad-engine", "recipe", "`search.engine: cloud`", SEARCH,
             _recipe("bad.yaml", "@search={budget: 2, controller: random, engine: cloud}"), "cloud"),
        Case("recipe-space-missing", "recipe", "`space: nope.yaml` (no such file)", SEARCH,
             _recipe("bad.yaml", "@space=nope.yaml"), "nope.yaml"),
        Case("recipe-batch-size-zero", "recipe", "`training: {batch_size: 0}`", SEARCH,
             _recipe("bad.yaml", "@training={batch_size: 0}"), "batch_size"),
        Case("recipe-data-string", "recipe", "`data: lots` (a string, not a mapping)", SEARCH,
             _recipe("bad.yaml", "@data=lots"), "data"),
        Case("recipe-model-missing-folder", "recipe", "`model: ./no-such-model`", SEARCH,
             _recipe("bad.yaml", "@model=./no-such-model"), "no-such-model"),
        # ---- spaces -------------------------------------------------------------------------------------
        space_case("space-unknown-method", "a method choice `magic`",
                   "  - {name: method, type: categorical, choices: [lora, magic]}\n", "magic"),
        space_case("space-rank-not-int", "per-layer rank choices `[two]`",
                   "  - {name: method, type: categorical, choices: [lora]}\n"
                   "  - {name: lora.ranks, type: per_layer, layers: encoder, choices: [two], when: {method: lora}}\n",
                   "two"),
        space_case("space-low-above-high", "a float with low 0.1 > high 0.01",
                   "  - {name: method, type: categorical, choices: [ia3]}\n"
                   "  - {name: ia3.learning_rate, type: float, low: 0.1, high: 0.01, when: {method: ia3}}\n", "low"),
        space_case("space-unknown-type", "a dimension of type `gaussian`",
                   "  - {name: method, type: gaussian, choices: [ia3]}\n", "gaussian"),
        space_case("space-selector-out-of-range", "layers `encoder.blocks[9:]` on a 3-block model",
                   "  - {name: method, type: categorical, choices: [lora]}\n"
                   "  - {name: lora.ranks, type: per_layer, layers: 'encoder.blocks[9:]', choices: [0, 2], "
                   "when: {method: lora}}\n", "blocks[9:]"),
        space_case("space-no-dimensions", "`dimensions: 5`", "", "dimensions"),
        # ---- --config for autopeft trial -------------------------------------------------------------------
        Case("config-not-json", "config", "`--config '{method: lora'`",
             ["trial", "--recipe", "tiny.yaml", "--config", "{method: lora", "--steps", "1"], (), "--config"),
        Case("config-not-object", "config", "`--config '[1, 2]'`",
             ["trial", "--recipe", "tiny.yaml", "--config", "[1, 2]", "--steps", "1"], (), "--config"),
        Case("config-unknown-method", "config", "`{\"method\": \"magic\"}`",
             ["trial", "--recipe", "tiny.yaml", "--config", '{"method": "magic"}', "--steps", "1"], (), "magic"),
        Case("config-negative-lr", "config", "`{\"method\": \"ia3\", \"ia3.learning_rate\": -1}`",
             ["trial", "--recipe", "tiny.yaml", "--config", '{"method": "ia3", "ia3.learning_rate": -1}', "--steps",
              "1"], (), "-1"),
        Case("config-unknown-option", "config", "`{\"method\": \"ia3\", \"ia3.rank\": 4}`",
             ["trial", "--recipe", "tiny.yaml", "--config", '{"method": "ia3", "ia3.rank": 4}', "--steps", "1"], (),
             "ia3.rank"),
        Case("config-missing-json-file", "config", "`--config nope.json` (no such file)",
             ["trial", "--recipe", "tiny.yaml", "--config", "nope.json", "--steps", "1"], (), "nope.json"),
        Case("trial-steps-zero", "cli", "`trial --steps 0`",
             ["trial", "--recipe", "tiny.yaml", "--config", CONFIG, "--steps", "0"], (), "steps"),
        Case("trial-fraction-two", "cli", "`trial --train-fraction 2`",
             ["trial", "--recipe", "tiny.yaml", "--config", CONFIG, "--train-fraction", "2"], (), "2"),
        # ---- --pick ---------------------------------------------------------------------------------------
        Case("pick-unknown", "pick", "`finalize --pick best-ish`", ["finalize", "RUN", "--pick", "best-ish"], (),
             "best-ish"),
        Case("pick-missing-trial", "pick", "`finalize --pick trial:99` (no such trial)",
             ["finalize", "RUN", "--pick", "trial:99"], (), "99"),
        Case("pick-max-params-nan", "pick", "`export --pick max-params:abc`",
             ["export", "RUN", "--pick", "max-params:abc", "--out", "OUT"], (), "abc"),
        Case("pick-max-params-too-small", "pick", "`finalize --pick max-params:1` (no trial that small)",
             ["finalize", "RUN", "--pick", "max-params:1"], (), "max-params"),
        # ---- data files ----------------------------------------------------------------------------------
        data_case("data-missing-column", "a CSV without the label column", "d.csv", _csv(["text", "a", "b"]),
                  "label"),
        data_case("data-empty-file", "an empty CSV (0 bytes)", "d.csv", b"", "d.csv"),
        data_case("data-header-only", "a CSV with a header and no rows", "d.csv", _csv(["text,label"]), "d.csv"),
        data_case("data-one-class", "a label column with one class", "d.csv",
                  _csv(["text,label", *[f"row {i},positive" for i in range(40)]]), "label"),
        data_case("data-non-utf8", "a CSV with bytes that are not UTF-8", "d.csv",
                  b"text,label\n" + b"\xff\xfe bad,positive\n" * 20 + b"good,negative\n" * 20, "d.csv"),
        data_case("data-huge-field", "a CSV with a 2 MB text field (valid: truncated to max_length, must run)",
                  "d.csv", _csv(["text,label", "x" * 2_000_000 + ",positive", *GOOD_ROWS]), "", accept=True),
        data_case("data-bad-jsonl", "a JSONL file with a line that is not JSON", "d.jsonl",
                  b'{"text": "good", "label": "positive"}\n{not json\n', "d.jsonl"),
        data_case("data-missing-file", "`--data nope.csv` (no such file)", "unused.csv", b"", "nope.csv",
                  data="nope.csv"),
        data_case("data-unknown-suffix", "`--data d.xlsx` (not a known format)", "d.xlsx", b"x", "d.xlsx"),
        data_case("search-data-missing-column", "`search --data` with a CSV without the label column", "d.csv",
                  _csv(["text", "a", "b"]), "label", search=True),
        data_case("search-data-wrong-label-field", "`search --data d.csv --label-field y` (no column y)", "d.csv",
                  _csv(["text,label", *GOOD_ROWS]), "'y'", search=True, label="y"),
        data_case("data-semicolon-csv", "a spreadsheet's `;`-separated CSV (read as one column)", "d.csv",
                  _csv([row.replace(",", ";") for row in ["text,label", *GOOD_ROWS]]), "';'-separated", search=True),
        data_case("data-nested-text", "a JSONL whose text field holds a mapping in one row", "d.jsonl",
                  b'{"text": "good", "label": "positive"}\n{"text": {"en": "bad"}, "label": "negative"}\n' * 20,
                  "row 2", search=True),
        # ---- models -----------------------------------------------------------------------------------
        Case("model-lacks-a-layer", "model", "`search --model` of a checkpoint that lacks one layer's weights",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--model", "lacking"],
             ((f"lacking/{DROP}", b"encoder.layer.1.output.dense."),), "bert.encoder.layer.1.output.dense"),
        Case("model-no-tokenizer", "model", "`search --model` of a folder saved without its tokenizer",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--model", "weights-only"],
             ((f"weights-only/{DROP_FILES}", b"tokenizer.json tokenizer_config.json"),), "no tokenizer files"),
        # ---- command-line arguments --------------------------------------------------------------------
        Case("cli-unknown-argument", "cli", "`search --recipe tiny.yaml` (the recipe is positional)",
             ["search", "--recipe", "tiny.yaml", "--out", "OUT"], (), "autopeft search --help"),
        Case("cli-workers-0", "cli", "`search --workers 0`",
             ["search", "tiny.yaml", "--out", "OUT", "--workers", "0"], (), "--workers"),
        Case("cli-workers-two", "cli", "`search --workers two`",
             ["search", "tiny.yaml", "--out", "OUT", "--workers", "two"], (), "two"),
        Case("cli-engine-cloud", "cli", "`search --engine cloud`",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--engine", "cloud"], (), "cloud"),
        Case("cli-inprocess-workers-2", "cli", "`search --engine inprocess --workers 2`",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--engine", "inprocess", "--workers", "2"], (),
             "inprocess"),
        Case("cli-dry-run-workers-0", "cli", "`search --dry-run --workers 0`",
             ["search", "tiny.yaml", "--dry-run", "--workers", "0"], (), "--workers"),
        Case("cli-budget-0", "cli", "`search --budget 0`", ["search", "tiny.yaml", "--out", "OUT", "--budget", "0"],
             (), "--budget"),
        Case("cli-controller-unknown", "cli", "`search --controller genetic`",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--controller", "genetic"], (), "genetic"),
        Case("cli-finalize-workers-0", "cli", "`finalize --workers 0`", ["finalize", "RUN", "--workers", "0"], (),
             "--workers"),
        Case("cli-finalize-seeds-0", "cli", "`finalize --seeds 0`", ["finalize", "RUN", "--seeds", "0"], (),
             "--seeds"),
        Case("cli-resume-not-a-run", "cli", "`search --resume` of an empty folder",
             ["search", "--resume", "empty-folder"], (("empty-folder/.keep", b""),), "empty-folder"),
        Case("cli-resume-a-file", "cli", "`search --resume` of a file", ["search", "--resume", "tiny.yaml"], (),
             "tiny.yaml"),
        Case("cli-status-missing", "cli", "`status` of a folder that does not exist", ["status", "no-run"], (),
             "no-run"),
        Case("cli-pareto-format", "cli", "`pareto --format xml`", ["pareto", "RUN", "--format", "xml"], (), "xml"),
        Case("cli-out-is-a-file", "cli", "`search --out` naming an existing file",
             ["search", "tiny.yaml", "--out", "tiny.yaml", "--budget", "1"], (), "tiny.yaml"),
    ]


# ---- the base folder: model, data, recipe, a finished run --------------------------------------------------
def build_base(folder: Path, env: dict[str, str] | None = None) -> Path:
    """Tiny model, data and recipe in ``folder``, and ``run/``: a finished 3-trial search (a real one)."""
    tiny.setup(folder, steps=2, budget=3)
    proc = subprocess.run([sys.executable, "-m", "autopeft.cli", "search", "tiny.yaml", "--out", "run"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"the base search failed: {proc.stderr[-2000:]}")
    return folder


def prepare(case: Case, base: Path) -> tuple[Path, list[str]]:
    """The case folder (the base's files linked in) with the case's files, and its argv."""
    folder = base / "cases" / case.id
    folder.mkdir(parents=True)
    for name in ("tiny.yaml", "space.yaml", "tiny-bert", "data", "run"):
        (folder / name).symlink_to(base / name)
    cwd = Path.cwd()
    os.chdir(base)
    try:
        for name, content in case.files:
            if Path(name).name in (DROP, DROP_FILES):
                _model_copy(folder / Path(name).parent, base, Path(name).name, content.decode())
                continue
            text = content
            if content.startswith(b"@"):  # "@key=value" edits of the base recipe
                key, value = content[1:].decode().split("=", 1)
                text = recipe_text(**{key: None if value == "None" else value}).encode()
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(text)
    finally:
        os.chdir(cwd)
    argv = [{"OUT": "out", "RUN": "run", "MODEL": "tiny-bert"}.get(a, a) for a in case.argv]
    return folder, argv


def state(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (following the run link) and its digest; SQLite's ``-wal``/``-shm`` and the
    run's ``.lock`` (which holds the pid of the last process that opened the run to write) are left out."""
    out = {}
    for p in sorted(folder.rglob("*")) + sorted((folder / "run").glob("*")):
        if p.is_file() and not p.name.endswith(("-wal", "-shm", ".lock")):
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def judge(case: Case, code: int, err: str, before: dict[str, str], after: dict[str, str],
          base: Path) -> dict[str, Any]:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    error_lines = [ln for ln in lines if ln.startswith("autopeft: error:")]
    written = sorted(k for k in after if before.get(k) != after[k])
    last = last.replace(str(base), "<tmp>")
    if case.accept:
        verdict = {"exit_0": code == 0, "no_traceback": "Traceback" not in err, "nothing_written": not written}
    else:
        verdict = {
            "exit_2": code == 2, "one_line": len(error_lines) == 1 and last.startswith("autopeft: error:"),
            "no_traceback": "Traceback" not in err, "names_it": case.names.lower() in last.lower(),
            "nothing_written": not written,
        }
    return {"id": case.id, "kind": case.kind, "input": case.what, "command": "autopeft " + " ".join(case_argv(case)),
            "exit": code, "last_line": last[:300], "traceback": "Traceback" in err, "written": written,
            "expected": "runs" if case.accept else "one-line error", "names_it": verdict.get("names_it", True),
            "ok": all(verdict.values())}


def case_argv(case: Case) -> list[str]:
    return [{"OUT": "out", "RUN": "run", "MODEL": "tiny-bert"}.get(a, a) for a in case.argv]


def run_case(case: Case, folder: Path, argv: list[str], base: Path, env: dict[str, str]) -> dict[str, Any]:
    """One prepared case through ``python -m autopeft.cli`` in a subprocess."""
    before = state(folder)
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "autopeft.cli", *argv], cwd=folder, env=env, text=True,
                          capture_output=True, timeout=900, errors="replace")
    out = judge(case, proc.returncode, proc.stderr, before, state(folder), base)
    out["seconds"] = round(time.time() - t0, 1)
    return out


def run_in_process(case: Case, folder: Path, argv: list[str], base: Path) -> dict[str, Any]:
    """One prepared case through ``autopeft.cli.main.main`` in this process (stderr captured; an exception that
    escapes ``main`` is recorded as a traceback, as the console script would print it)."""
    import contextlib
    import io
    import traceback

    from autopeft.cli.main import main as cli_main

    before = state(folder)
    err = io.StringIO()
    cwd = Path.cwd()
    t0 = time.time()
    os.chdir(folder)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli_main(argv)
            except SystemExit as exc:
                code = int(exc.code or 0)
            except Exception:
                err.write(traceback.format_exc())
                code = 1
    finally:
        os.chdir(cwd)
    out = judge(case, code, err.getvalue(), before, state(folder), base)
    out["seconds"] = round(time.time() - t0, 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="case ids")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    ap.add_argument("--in-process", action="store_true",
                    help="run the cases through autopeft.cli.main.main in this process (fast on a loaded machine) "
                         "instead of one `python -m autopeft.cli` subprocess each")
    args = ap.parse_args()
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    chosen = [c for c in cases() if not args.only or c.id in args.only]
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="autopeft-malformed-") as tmp:
        base = build_base(Path(tmp).resolve(), env)
        prepared = [(case, *prepare(case, base)) for case in chosen]  # sequential: prepare changes directory
        if args.in_process:
            os.environ.update({k: v for k, v in env.items() if k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")})
            results = [run_in_process(c, f, a, base) for c, f, a in prepared]
        else:
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                results = list(pool.map(lambda p: run_case(p[0], p[1], p[2], base, env), prepared))
        for r in results:
            print(f"{'ok  ' if r['ok'] else 'FAIL'} {r['id']}: exit {r['exit']} {r['last_line'][:150]}")
    passed = sum(r["ok"] for r in results)
    mode = "in-process (autopeft.cli.main.main)" if args.in_process else "subprocess (python -m autopeft.cli)"
    summary = {"script": "benchmarks/reliability/malformed.py", "mode": mode, "cases": len(results), "ok": passed,
               "elapsed_s": round(time.time() - t0, 1), "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.only:
        (args.out / "malformed.json").write_text(json.dumps(summary, indent=2) + "\n")
        (args.out / "malformed.md").write_text(markdown(summary) + "\n")
    print(f"{passed}/{len(results)} give one line naming the input, exit 2, no traceback, nothing written")
    return 0 if passed == len(results) else 1


def markdown(s: dict[str, Any]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["# Malformed inputs (`benchmarks/reliability/malformed.py`)", "",
             f"{s['ok']}/{s['cases']} cases give one line naming the file, field or value (`autopeft: error: ...`), "
             f"exit 2, no traceback and nothing written (the one valid input must run). Mode: {s['mode']}. "
             f"Run time {s['elapsed_s']} s.", "",
             "| # | kind | input | exit | traceback | written | names it | stderr's last line | ok |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(s["results"], 1):
        lines.append(f"| {i} | {r['kind']} | {cell(r['input'])} | {r['exit']} | {'yes' if r['traceback'] else 'no'} | "
                     f"{cell(', '.join(r['written'])) or '-'} | {'yes' if r['names_it'] else 'no'} | "
                     f"{cell(r['last_line'][:200])} | {'ok' if r['ok'] else '**no**'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
