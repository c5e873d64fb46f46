"""Kill soak: SIGKILL a real ``autopeft search`` / ``autopeft finalize`` at 10 seeded moments, resume, check.

    nice -n 10 python benchmarks/reliability/kill_soak.py [--seed 0] [--budget 12] [--out benchmarks/results]

Builds a tiny BERT, a 120-row sentiment CSV and a random-controller recipe in a temporary folder, then runs the
command line in a subprocess through ``hooked.py`` (the unchanged CLI plus phase markers: ``train``, ``score``,
``journal-<op>`` just before a COMMIT). Each kill waits for the k-th marker of its phase (k and the delay after
the marker drawn from the seed; one kill is a plain timer on a ``--workers 2`` run), sends SIGKILL, and then:

* reads the killed run (``autopeft status`` must work on it at once) and snapshots every complete trial;
* resumes (``search --resume RUN``, or ``finalize`` again), possibly into the next kill.

At the end it checks: every trial complete at any kill is still complete with the same result; search trial
count == budget, all complete, no (config, fidelity, seed) twice; finalize has exactly one complete trial per
seed; ``autopeft pareto RUN --format json`` equals the front recomputed from the journal, both with
``autopeft.study.front.front`` and from scratch with ``autopeft.pareto.pareto_mask``; no worker process of a
killed pool outlives it. Writes ``reliability.json`` and ``reliability.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import tiny  # noqa: E402

PAUSE_S = 0.6     # each marker holds its phase this long, so a kill sent on reading it lands inside the phase
SEEDS = 3         # finalize seeds

#: The 10 kills: (command, phase). ``timer`` is a plain random delay after start (on a --workers 2 run).
PLAN = [("search", "train"), ("resume", "score"), ("resume", "journal-finish"), ("resume", "train"),
        ("resume", "journal-add_trial"), ("resume", "score"), ("resume", "timer"), ("resume", "journal-start"),
        ("finalize", "train"), ("finalize", "journal-finish")]


@dataclass
class Kill:
    index: int
    command: str
    phase: str
    occurrence: int | None            # the k-th marker of the phase in that process
    delay_s: float                    # after the marker (or after start, for the timer)
    at_s: float = 0.0                 # seconds after the process started when SIGKILL was sent
    killed: bool = False
    complete_before: int = 0          # complete trials (search + finalize) in the journal right after the kill
    running_at_kill: list[int] = field(default_factory=list)
    status_after_kill: str = ""       # `autopeft status` on the killed run: exit code
    orphans: int | None = None        # pool workers still alive 10 s after the kill (timer kill only)
    resumed_by: str = ""              # the next command
    requeued: list[int] = field(default_factory=list)
    outcome: str = ""


def cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autopeft.cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=900)


def snapshot(run: Path) -> dict[int, tuple[str, str, str | None]]:
    """Every trial: number -> (phase, state, result JSON)."""
    conn = sqlite3.connect(f"file:{run / 'study.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT number, phase, state, result FROM trials").fetchall()
    finally:
        conn.close()
    return {int(n): (p, s, r) for n, p, s, r in rows}


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def run_and_kill(argv: list[str], kill: Kill | None, work: Path, env: dict[str, str]) -> tuple[int | None, str]:
    """Run the hooked CLI; with ``kill``, SIGKILL it at its moment. The exit code (None when killed), stderr."""
    events = work / "events.txt"
    events.write_text("")
    err = work / "stderr.txt"
    with err.open("w") as err_f:
        proc = subprocess.Popen([sys.executable, str(HERE / "hooked.py"), str(events), str(PAUSE_S), "--", *argv],
                                cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=err_f)
        start = time.time()
        workers: list[int] = []
        seen = 0
        while proc.poll() is None:
            time.sleep(0.05)
            if kill is None:
                continue
            if kill.phase == "timer":
                workers = sorted(set(workers) | set(children(proc.pid)))
                if time.time() - start < kill.delay_s:
                    continue
            else:
                hits = [ln for ln in events.read_text().splitlines() if ln.split()[-1] == kill.phase]
                if len(hits) < (kill.occurrence or 1):
                    continue
                if seen == 0:
                    seen = 1
                    time.sleep(kill.delay_s)
            kill.at_s = round(time.time() - start, 2)
            workers = sorted(set(workers) | set(children(proc.pid)))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kill.killed = True
            if kill.phase == "timer":
                time.sleep(10)
                kill.orphans = sum(alive(w) for w in workers)
            return None, err.read_text()
        return proc.returncode, err.read_text()


def pareto_check(run: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    import numpy as np

    from autopeft.objectives import objectives_of, to_minimize
    from autopeft.pareto import pareto_mask
    from autopeft.study.front import front
    from autopeft.study.journal import Journal

    shown = cli(["pareto", str(run), "--format", "json"], work, env)
    rows = json.loads(shown.stdout)
    cli_front = sorted(r["trial"] for r in rows)
    with Journal.open(run, lock=False) as journal:
        objectives = objectives_of(journal.meta("settings")["objectives"])
        lib_front = sorted(t.number for t in front(journal, objectives).trials)
        complete = [t for t in journal.trials() if t.state == "complete"]
    values = np.array([[t.values[o.name] for o in objectives] for t in complete], dtype=float)
    mask = pareto_mask(to_minimize(values, objectives))
    scratch, seen = [], set()
    for i in np.flatnonzero(mask):  # equal objective values: the earliest trial, as the front lists them
        key = tuple(np.round(values[i], 12))
        if key not in seen:
            seen.add(key)
            scratch.append(complete[i].number)
    values_match = all(
        abs(r[o.name] - next(t for t in complete if t.number == r["trial"]).values[o.name]) < 1e-12
        for r in rows for o in objectives)
    return {"cli_front": cli_front, "front_py": lib_front, "recomputed": sorted(scratch),
            "values_match": values_match,
            "equal": cli_front == lib_front == sorted(scratch) and values_match and shown.returncode == 0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=12)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.time()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           # one thread per process: on a shared, loaded CPU, spinning OpenMP threads cost more than they give
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    kills = []
    for i, (command, phase) in enumerate(PLAN):
        if phase == "timer":
            kills.append(Kill(i + 1, command, phase, None, round(rng.uniform(4.0, 20.0), 2)))
        else:
            kills.append(Kill(i + 1, command, phase, rng.randint(1, 2), round(rng.uniform(0.0, PAUSE_S / 2), 3)))

    with tempfile.TemporaryDirectory(prefix="autopeft-soak-") as tmp:
        work = Path(tmp)
        recipe, _, _ = tiny.setup(work / "setup", steps=6, budget=args.budget)
        run = work / "run"
        search = ["search", str(recipe), "--out", str(run)]
        resume = ["search", "--resume", str(run)]
        finalize = ["finalize", str(run), "--pick", "knee", "--seeds", str(SEEDS)]
        snapshots: list[tuple[Kill, dict[int, tuple[str, str, str | None]]]] = []
        log: list[dict[str, Any]] = []

        def record(argv: list[str], code: int | None, err: str, kill: Kill | None) -> None:
            last = err.strip().splitlines()[-1] if err.strip() else ""
            requeued = [ln for ln in err.splitlines() if ln.startswith("resuming:")]
            log.append({"command": argv[0] + (" --resume" if "--resume" in argv else ""),
                        "kill": kill.index if kill else None, "exit": code, "last_line": last[:200],
                        "resuming": requeued})

        previous: Kill | None = None
        for kill in kills:
            argv = {"search": search, "resume": resume, "finalize": finalize}[kill.command]
            if kill.phase == "timer":
                argv = [*argv, "--workers", "2"]
            if previous is not None:
                previous.resumed_by = " ".join(argv[:2] if argv[0] == "search" else argv[:1])
            code, err = run_and_kill(argv, kill, work, env)
            if previous is not None:
                previous.requeued = [int(x) for ln in err.splitlines() if ln.startswith("resuming:")
                                     for x in ln.split("trial(s) ")[1].split(" were")[0].split(", ")]
            record(argv, code, err, kill)
            if not kill.killed:
                kill.outcome = f"not reached: the process ended first (exit {code}: {err.strip()[-200:]})"
            snap = snapshot(run)
            kill.complete_before = sum(s == "complete" for _, s, _ in snap.values())
            kill.running_at_kill = sorted(n for n, (_, s, _) in snap.items() if s == "running")
            kill.status_after_kill = str(cli(["status", str(run)], work, env).returncode)
            snapshots.append((kill, snap))
            previous = kill
            if kill.command == "resume" and kills[kill.index % len(kills)].command == "finalize":
                code, err = run_and_kill(resume, None, work, env)   # finish the search before finalizing
                kill.resumed_by = "search --resume (to the budget)"
                kill.requeued = [int(x) for ln in err.splitlines() if ln.startswith("resuming:")
                                 for x in ln.split("trial(s) ")[1].split(" were")[0].split(", ")]
                record(resume, code, err, None)
                previous = None
        code, err = run_and_kill(finalize, None, work, env)
        if previous is not None:
            previous.resumed_by = "finalize (again, to the end)"
        record(finalize, code, err, None)
        final_exit = code

        final = snapshot(run)
        search_trials = {n: v for n, v in final.items() if v[0] == "search"}
        conn = sqlite3.connect(f"file:{run / 'study.db'}?mode=ro", uri=True)
        keys = conn.execute("SELECT config_key, fidelity, seed, origin, attempts, phase FROM trials").fetchall()
        conn.close()
        search_keys = [(k, f, s) for k, f, s, _, _, p in keys if p == "search"]
        final_seeds = sorted(s for _, _, s, o, _, p in keys if p == "finalize")
        finalize_states = [v[1] for v in final.values() if v[0] == "finalize"]
        lost: list[str] = []
        for kill, snap in snapshots:
            bad = [n for n, (_, s, r) in snap.items() if s == "complete" and final.get(n, ("", "", None))[1:] != (s, r)]
            lost += [f"kill {kill.index}: trial {n}" for n in bad]
            if kill.killed and not bad and kill.status_after_kill == "0" and kill.orphans in (None, 0):
                kill.outcome = "ok: nothing complete lost or changed, status read the killed run, resumed"
            elif kill.killed:
                kill.outcome = (f"FAILED: lost {bad}, status exit {kill.status_after_kill}, "
                                f"orphans {kill.orphans}")
        pareto = pareto_check(run, work, env)
        checks = {
            "search_trials": len(search_trials), "budget": args.budget,
            "search_count_equals_budget": len(search_trials) == args.budget,
            "search_all_complete": all(v[1] == "complete" for v in search_trials.values()),
            "search_duplicates": len(search_keys) - len(set(search_keys)),
            "finalize_seeds": final_seeds, "finalize_states": finalize_states,
            "finalize_one_complete_per_seed": final_seeds == list(range(SEEDS))
            and all(s == "complete" for s in finalize_states),
            "finalize_exit": final_exit,
            "trials_run_more_than_once": sum(1 for *_, a, _ in keys if a > 1),
            "lost_or_changed": lost, "pareto": pareto,
        }
        passed = sum(k.outcome.startswith("ok") for k in kills)
        ok = (passed == len(kills) and checks["search_count_equals_budget"] and checks["search_all_complete"]
              and checks["search_duplicates"] == 0 and checks["finalize_one_complete_per_seed"] and not lost
              and pareto["equal"])
    elapsed = round(time.time() - t0, 1)
    result = {"script": "benchmarks/reliability/kill_soak.py", "seed": args.seed, "budget": args.budget,
              "pause_s": PAUSE_S, "kills_ok": f"{passed}/{len(kills)}", "all_checks_pass": ok,
              "elapsed_s": elapsed, "kills": [asdict(k) for k in kills], "checks": checks, "commands": log}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reliability.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "reliability.md").write_text(markdown(result) + "\n")
    print(f"kills ok {passed}/{len(kills)}, all checks pass: {ok}, {elapsed} s")
    return 0 if ok else 1


def markdown(r: dict[str, Any]) -> str:
    c = r["checks"]
    lines = [
        "# Kill soak (`benchmarks/reliability/kill_soak.py`)", "",
        f"Seed {r['seed']}, search budget {r['budget']}, tiny BERT, random controller, in-process engine "
        f"(kill 7: `--workers 2`). Each kill is a SIGKILL; the run is then read (`autopeft status`) and resumed. "
        f"Run time {r['elapsed_s']} s.", "",
        f"**Kills survived: {r['kills_ok']}. All end checks pass: {r['all_checks_pass']}.**", "",
        "| # | command | phase killed | marker # | delay (s) | at (s) | complete before | running at kill | "
        "resumed by | re-run | outcome |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for k in r["kills"]:
        lines.append(f"| {k['index']} | {k['command']} | {k['phase']} | {k['occurrence'] or '-'} | {k['delay_s']} "
                     f"| {k['at_s']} | {k['complete_before']} | {k['running_at_kill']} | {k['resumed_by']} | "
                     f"{k['requeued']} | {k['outcome']}"
                     + (f" (pool workers alive 10 s after: {k['orphans']})" if k["orphans"] is not None else "")
                     + " |")
    p = c["pareto"]
    lines += ["", "End checks:", "",
              f"- search trials {c['search_trials']} (budget {c['budget']}), all complete: "
              f"{c['search_all_complete']}, duplicated (config, fidelity, seed): {c['search_duplicates']}",
              f"- trials run more than once (interrupted, then re-run): {c['trials_run_more_than_once']}",
              f"- finalize seeds {c['finalize_seeds']}, states {c['finalize_states']}",
              f"- complete trials lost or changed after a kill: {c['lost_or_changed'] or 'none'}",
              f"- `autopeft pareto --format json` front {p['cli_front']}, `study.front.front` {p['front_py']}, "
              f"recomputed with `pareto_mask` {p['recomputed']}: equal {p['equal']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
