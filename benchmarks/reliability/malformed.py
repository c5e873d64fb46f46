"""Malformed inputs through the real command line: each should give one line naming the file, field or value
and what is allowed, exit 2, no traceback, and nothing written.

    python benchmarks/reliability/malformed.py [--only ID ...] [--jobs N] [--out benchmarks/results]

Builds a tiny BERT, a sentiment CSV, a valid recipe (``tiny.py``) and a finished run with three trials (written
through the journal, no training) in a temporary folder, then runs every case of ``malformed_cases.py`` as
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import tiny  # noqa: E402
from malformed_cases import DROP, DROP_FILES, Case, cases, model_copy, recipe_text  # noqa: E402


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
                model_copy(folder / Path(name).parent, base, Path(name).name, content.decode())
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
