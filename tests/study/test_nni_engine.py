"""The NNI engine: config translation and bad input (no experiment), the tuner's hand-over logic (a fake
study), and one real local NNI experiment end to end on tiny models (search, pareto, export, Ctrl-C,
resume, the web UI bound to 127.0.0.1 only)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from autopeft.errors import ConfigError, EngineError
from autopeft.study.engines.nni.settings import (
    NniSettings,
    check_port,
    experiment_config,
    experiment_dict,
    read_nni_config,
)
from autopeft.study.journal import DB_NAME, Journal
from tests.study.conftest import terminal_sigint

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "nni-remote.yaml"
TUNER = {"className": "autopeft.study.engines.nni.tuner.StudyTuner", "codeDirectory": ".", "classArgs": {}}


def _dict(settings: NniSettings, tmp_path: Path, *, workers: int = 2, per_gpu: int | None = None,
          gpus: list[str] | None = None) -> dict[str, Any]:
    (tmp_path / "nni" / "code").mkdir(parents=True, exist_ok=True)
    return experiment_dict(settings, workers=workers, workers_per_gpu=per_gpu, folder=tmp_path / "nni",
                           trial_command="{python} -m autopeft.study.engines.nni.trial", python="/opt/my py/python",
                           search_space={}, tuner={**TUNER, "codeDirectory": str(tmp_path)}, gpus=gpus, name="t")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- translation -------------------------------------------------------------------------------------------
def test_local_cpu_experiment(tmp_path: Path) -> None:
    d = _dict(NniSettings(port=8080), tmp_path, workers=3)
    assert d["trainingService"] == {"platform": "local"}
    assert d["trialConcurrency"] == 3 and d["trialGpuNumber"] == 0
    assert d["experimentWorkingDirectory"] == str(tmp_path / "nni")
    assert d["trialCodeDirectory"] == str(tmp_path / "nni" / "code")
    assert d["trialCommand"] == "'/opt/my py/python' -m autopeft.study.engines.nni.trial"
    assert "maxTrialNumber" not in d  # the study stops the experiment
    pytest.importorskip("nni")
    config = experiment_config(d)
    assert config.trial_concurrency == 3


@pytest.mark.parametrize(("workers", "per_gpu", "expected"), [(4, None, 2), (3, None, 2), (2, 3, 3), (1, None, 1)])
def test_gpus_go_to_the_local_service(tmp_path: Path, workers: int, per_gpu: int | None, expected: int) -> None:
    d = _dict(NniSettings(), tmp_path, workers=workers, per_gpu=per_gpu, gpus=["2", "5"])
    assert d["trialGpuNumber"] == 1
    assert d["trainingService"] == {"platform": "local", "useActiveGpu": True, "maxTrialNumberPerGpu": expected,
                                    "gpuIndices": "2,5"}
    pytest.importorskip("nni")
    experiment_config(d)  # NNI accepts it


def _example(tmp_path: Path) -> Path:
    key = tmp_path / "id_ed25519"
    key.write_text("not a real key\n")
    path = tmp_path / "remote.yaml"
    path.write_text(EXAMPLE.read_text().replace("~/.ssh/id_ed25519", str(key)))
    return path


def test_the_shipped_remote_example_is_accepted_by_nni(tmp_path: Path) -> None:
    pytest.importorskip("nni")
    path = _example(tmp_path)
    d = _dict(NniSettings(host="0.0.0.0", config=str(path)), tmp_path, workers=4)
    assert d["trainingService"]["platform"] == "remote"
    assert len(d["trainingService"]["machineList"]) == 2
    assert d["nniManagerIp"] == "10.0.0.1" and d["trialGpuNumber"] == 1 and d["maxTrialDuration"] == "2h"
    assert d["trialCommand"].startswith("python3 -m ")  # the machines' own interpreter, not this one
    config = experiment_config(d, str(path))
    assert config.training_service.machine_list[1].port == 2222


def test_a_remote_service_with_a_loopback_manager_is_refused(tmp_path: Path) -> None:
    path = _example(tmp_path)
    with pytest.raises(ConfigError, match=r"--nni-host 0\.0\.0\.0"):
        _dict(NniSettings(config=str(path)), tmp_path)


@pytest.mark.parametrize(("text", "names"), [
    ("- just\n- a list\n", ["must be a mapping", "trainingService"]),
    ("trainingService: {platform: local}\ntrialConcurrency: 4\n", ["'trialConcurrency'", "--workers"]),
    ("trainingService: {platform: local}\ntuner: {name: TPE}\n", ["'tuner'", "--controller"]),
    ("trainingService: {platform: local}\nfoo: 1\n", ["unknown field 'foo'", "trainingService"]),
    ("nniManagerIp: 1.2.3.4\n", ["missing field 'trainingService'"]),
    ("trainingService: {platform: slurm}\n", ["trainingService.platform", "'slurm'", "remote"]),
    ("trainingService: [local]\n", ["trainingService[0]"]),
    ("trainingService: {platform: local\n", ["not a YAML or JSON file"]),
])
def test_a_malformed_nni_config_names_file_field_and_value(tmp_path: Path, text: str, names: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        read_nni_config(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    for name in names:
        assert name in message


def test_nnis_own_checks_name_the_file(tmp_path: Path) -> None:
    pytest.importorskip("nni")
    path = tmp_path / "remote.yaml"
    path.write_text("trainingService: {platform: remote, machineList: [{host: h, user: u, sshKeyFile: /nope}]}\n")
    with pytest.raises(ConfigError, match=r"--nni-config .*remote\.yaml: NNI refused it: .*/nope"):
        experiment_config(_dict(NniSettings(host="0.0.0.0", config=str(path)), tmp_path), str(path))


def test_a_missing_nni_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--nni-config .*nope\.yaml: no such file"):
        read_nni_config(tmp_path / "nope.yaml")


def test_settings_check_themselves() -> None:
    with pytest.raises(ConfigError, match="--nni-port must be an integer from 1 to 65534, got 0"):
        NniSettings(port=0)
    with pytest.raises(ConfigError, match="--nni-host"):
        NniSettings(host=" ")
    assert NniSettings(host="0.0.0.0", port=9000).url == "http://127.0.0.1:9000"


def test_a_port_in_use_is_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"--nni-port {port} is in use.*allowed: a free port, e\.g\."):
            check_port(port)
    check_port(port)  # free again


# ---- the command line, before anything is written ----------------------------------------------------------
def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from autopeft.cli import main

    code = main(args)
    return code, capsys.readouterr().err


def test_nni_options_need_the_nni_engine(tmp_path: Path, tiny_recipe: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _cli(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--nni-port", "9000"], capsys)
    assert code == 2 and "need --engine nni" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_without_nni_installed_one_line_says_how(tmp_path: Path, tiny_recipe: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nni" else real(name, *a))
    code, err = _cli(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--engine", "nni"], capsys)
    assert code == 2 and 'pip install "autopeft[nni]"' in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_port_in_use_stops_the_search_before_it_writes(tmp_path: Path, tiny_recipe: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("nni")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, err = _cli(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--engine", "nni",
                          "--nni-port", str(port)], capsys)
    assert code == 2 and f"--nni-port {port} is in use" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_malformed_nni_config_stops_the_search_before_it_writes(tmp_path: Path, tiny_recipe: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("nni")
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainingService: {platform: local}\nsearchSpace: {}\n")
    code, err = _cli(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--engine", "nni",
                      "--nni-config", str(bad)], capsys)
    assert code == 2 and "'searchSpace'" in err and str(bad) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_finalize_refuses_the_nni_engine() -> None:
    from autopeft.study.finalize import local_engine

    with pytest.raises(ConfigError, match="finalize runs its seeds on this machine"):
        local_engine("nni", None)
    assert local_engine(None, "nni") is None and local_engine(None, "pool") == "pool"


def test_the_final_metric_dictionary() -> None:
    from autopeft.study.engines.nni.engine import _record
    from autopeft.study.engines.nni.trial import final_metrics
    from autopeft.trial import Fidelity, TrialResult

    ok = TrialResult(config={"method": "ia3"}, fidelity=Fidelity(4), seed=0, status="complete",
                     metrics={"accuracy": 0.75, "ece": 0.1, "nll": float("nan")}, trainable_params=226,
                     eval_curve=((0.5, 0.5), (1.0, 0.75)))
    d = final_metrics(ok, "accuracy")
    assert d["default"] == 0.75 and d["ece"] == 0.1 and "nll" not in d and d["trainable_params"] == 226
    assert d["failed"] == 0 and json.loads(json.dumps(d))["autopeft"]["eval_curve"] == [[0.5, 0.5], [1.0, 0.75]]
    job = type("J", (), {"number": 3, "config": {"method": "ia3"}, "fidelity": Fidelity(4), "seed": 0})()
    assert _record(job, json.loads(json.dumps(d))).to_dict() == ok.to_dict()  # type: ignore[arg-type]
    bad = TrialResult(config={}, fidelity=Fidelity(4), seed=0, status="failed", error="NaN loss")
    d = final_metrics(bad, "accuracy")
    assert d["default"] == 0.0 and d["failed"] == 1 and d["autopeft"]["error"] == "NaN loss"
    assert _record(job, {"default": 0.5}).status == "failed"  # type: ignore[arg-type]


def test_a_trials_end_that_overtakes_its_result_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """NNI may pass on a trial's end before its final metric: the result still counts; with none in the grace
    period the trial fails, saying so."""
    import autopeft.study.engines.nni.engine as mod
    from autopeft.study.engines.nni.trial import final_metrics
    from autopeft.trial import Fidelity, TrialResult

    engine = mod.NniEngine.__new__(mod.NniEngine)
    engine._finished, engine._silent, engine._given, engine._experiment = deque(), {}, {}, None
    jobs = {n: type("J", (), {"number": n, "config": {"method": "ia3"}, "fidelity": Fidelity(4), "seed": 0})()
            for n in (1, 2)}
    engine._jobs = dict(jobs)
    ok = TrialResult(config={"method": "ia3"}, fidelity=Fidelity(4), seed=0, status="complete",
                     metrics={"accuracy": 0.75}, trainable_params=226)
    engine._handle({"type": "end", "number": 1, "ok": True})
    engine._handle({"type": "end", "number": 2, "ok": True})
    engine._give_up_on_silent()
    assert not engine._finished  # both still within the grace period
    engine._handle({"type": "result", "number": 1, "value": json.loads(json.dumps(final_metrics(ok, "accuracy"))),
                    "trial_job_id": "abc"})
    assert [f.number for f in engine._finished] == [1] and engine._finished[0].result.status == "complete"
    monkeypatch.setattr(mod, "RESULT_GRACE_SECONDS", 0.0)
    engine._silent[2] = time.monotonic()
    engine._give_up_on_silent()
    assert [f.number for f in engine._finished] == [1, 2]
    assert "reported no final result within 0 s" in str(engine._finished[1].result.error)
    assert not engine._jobs and not engine._silent


# ---- the tuner's hand-over, against a fake study -----------------------------------------------------------
class FakeStudy:
    def __init__(self) -> None:
        from autopeft.study.engines.nni.bridge import Wire

        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self._wire: list[Wire] = []
        threading.Thread(target=lambda: self._wire.append(Wire(self.server.accept()[0])), daemon=True).start()
        self.seen: list[dict[str, Any]] = []

    @property
    def wire(self) -> Any:
        deadline = time.time() + 10
        while not self._wire:
            assert time.time() < deadline
            time.sleep(0.01)
        return self._wire[0]

    def expect(self, kind: str, **fields: Any) -> dict[str, Any]:
        """The first message of ``kind`` (with these ``fields``) the tuner has sent, waiting up to 10 s for it."""
        deadline = time.time() + 10
        while True:
            for message in self.wire.poll(0.1):
                self.seen.append(message)
            for i, message in enumerate(self.seen):
                if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
                    return self.seen.pop(i)
            assert time.time() < deadline, f"no {kind!r} message"


def test_the_tuner_hands_over_jobs_and_results() -> None:
    pytest.importorskip("nni")
    from autopeft.study.engines.nni.tuner import StudyTuner

    study = FakeStudy()
    tuner = StudyTuner(study.address, "secret")
    assert study.expect("hello")["token"] == "secret"
    got: list[Any] = []
    asking = threading.Thread(target=lambda: got.extend(tuner.generate_multiple_parameters([10, 11])))
    asking.start()
    time.sleep(0.3)
    assert asking.is_alive() and not got  # NNI asked first: the tuner waits for the study's choice
    study.wire.send({"type": "job", "number": 1, "params": {"autopeft_trial": 1}})
    study.wire.send({"type": "job", "number": 2, "params": {"autopeft_trial": 2}})
    asking.join(5)
    assert got == [{"autopeft_trial": 1}, {"autopeft_trial": 2}]
    assert study.expect("given", number=1) == {"type": "given", "number": 1, "parameter_id": 10}
    assert study.expect("given", number=2) == {"type": "given", "number": 2, "parameter_id": 11}
    tuner.receive_trial_result(10, {"autopeft_trial": 1}, {"default": 0.5}, trial_job_id="abc")
    assert study.expect("result") == {"type": "result", "number": 1, "value": {"default": 0.5}, "trial_job_id": "abc"}
    tuner.trial_end(11, False)
    assert study.expect("end") == {"type": "end", "number": 2, "ok": False}
    # the study has nothing more for now: NNI's request is answered with none, and a later job goes unasked
    study.wire.send({"type": "idle"})
    time.sleep(0.2)
    sent: list[tuple[int, Any]] = []
    assert tuner.generate_multiple_parameters([12], st_callback=lambda i, p: sent.append((i, p))) == []
    study.wire.send({"type": "job", "number": 5, "params": {"autopeft_trial": 5}})
    study.expect("given", number=5)
    assert [p for _, p in sent] == [{"autopeft_trial": 5}]
    # a job dropped before NNI took it is never handed over
    study.wire.send({"type": "job", "number": 6, "params": {"autopeft_trial": 6}})
    study.wire.send({"type": "drop", "number": 6})
    study.wire.send({"type": "idle"})
    time.sleep(0.3)
    assert tuner.generate_multiple_parameters([13]) == []
    study.wire.close()
    study.server.close()


# ---- a real local NNI experiment ---------------------------------------------------------------------------
def _listeners(port: int) -> list[str]:
    """The local addresses listening on ``port`` (IPv4 and IPv6), from /proc/net."""
    out = []
    for table, size in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hexport = fields[1].split(":")
            if int(hexport, 16) == port and fields[3] == "0A":  # LISTEN
                if size == 8:
                    out.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
                else:
                    raw = bytes.fromhex(address)
                    out.append(socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))))
    return out


def _trial_processes(run: Path, command: str = "") -> list[int]:
    """Pids of processes working in ``run`` (NNI's trials and tuner run in its code folder) whose command line
    holds ``command``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (str(run.resolve()) in os.readlink(proc / "cwd")
                        and command in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _search(args: list[str], home: Path, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(home)}
    with log.open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "autopeft.cli", "search", *args], stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env, preexec_fn=terminal_sigint)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the listening address")
def test_a_real_local_nni_experiment_end_to_end(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("nni")
    from autopeft.cli import main
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=4, budget=4)
    run, home, port = tmp_path / "run", tmp_path / "home", _free_port()
    home.mkdir()
    # 1. a search of 4 trials, 2 at a time; while it runs, the manager listens on 127.0.0.1 only
    proc = _search([str(recipe), "--out", str(run), "--engine", "nni", "--workers", "2", "--nni-port", str(port)],
                   home, tmp_path / "search.log")
    addresses: set[str] = set()
    while proc.poll() is None:
        addresses.update(_listeners(port))
        time.sleep(0.2)
    out = proc.stdout.read() if proc.stdout else ""
    log = (tmp_path / "search.log").read_text()
    assert proc.returncode == 0, log
    assert addresses == {"127.0.0.1"}, addresses
    assert f"web UI http://127.0.0.1:{port}" in log and "complete 4" in out
    assert not _listeners(port) and not _trial_processes(run)  # nothing left running
    with Journal.open(run, lock=False) as j:
        trials = j.trials()
        assert [t.state for t in trials] == ["complete"] * 4
        for t in trials:
            assert t.result is not None
            assert {"accuracy", "macro_f1", "ece", "brier", "nll"} <= set(t.result.metrics)
            assert t.result.trainable_params and t.result.eval_curve
        first = [(t.number, t.finished) for t in trials]
        experiments = j.meta("nni_experiments")
    assert len(experiments) == 1 and (run / "nni" / experiments[0]["experiment"] / "log").is_dir()
    assert not (home / "nni-experiments" / experiments[0]["experiment"]).exists()  # NNI's files are in the run
    # 2. pareto and export work on it unchanged
    assert main(["pareto", str(run)]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert main(["export", str(run), "--out", str(tmp_path / "adapter")]) == 0
    exported = {p.name for p in (tmp_path / "adapter").iterdir()}
    assert "README.md" in exported and exported & {"adapter_config.json", "config.json"}, exported
    # 3. a resume to 6 trials, interrupted by Ctrl-C while a trial runs: exit 130, everything stopped
    proc = _search(["--resume", str(run), "--budget", "6", "--engine", "nni", "--nni-port", str(port)],
                   home, tmp_path / "resume.log")
    deadline = time.time() + 90
    while "running 5/6" not in (tmp_path / "resume.log").read_text():
        assert time.time() < deadline and proc.poll() is None, (tmp_path / "resume.log").read_text()
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130, (tmp_path / "resume.log").read_text()
    time.sleep(0.5)
    assert not _listeners(port) and not _trial_processes(run)
    # 4. resumed again: the interrupted trial runs again, nothing completed is lost or re-run
    proc = _search(["--resume", str(run), "--engine", "nni", "--nni-port", str(port)], home,
                   tmp_path / "resume2.log")
    assert proc.wait(timeout=120) == 0, (tmp_path / "resume2.log").read_text()
    with Journal.open(run, lock=False) as j:
        trials = j.trials()
        assert [t.state for t in trials] == ["complete"] * 6
        assert [(t.number, t.finished) for t in trials[:4]] == first
        assert len(j.meta("nni_experiments")) == 3
    assert (run / DB_NAME).is_file()


def test_engine_errors_are_one_line() -> None:
    from autopeft.study.engines import make_engine

    with pytest.raises(EngineError, match="unknown engine 'nnii'; allowed: inprocess, nni, pool"):
        make_engine("nnii", None, workers=1)  # type: ignore[arg-type]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the listening address")
def test_a_killed_study_takes_its_nni_experiment_with_it(tmp_path: Path, tiny_bert_dir: Path,
                                                         sentiment_csv: Path) -> None:
    """kill -9 of the study: the tuner sees the study gone and stops the experiment (manager and trials)."""
    pytest.importorskip("nni")
    from tests.study.conftest import write_recipe

    recipe = write_recipe(tmp_path, tiny_bert_dir, sentiment_csv, steps=400, budget=3)
    run, home, port = tmp_path / "run", tmp_path / "home", _free_port()
    home.mkdir()
    proc = _search([str(recipe), "--out", str(run), "--engine", "nni", "--nni-port", str(port)], home,
                   tmp_path / "search.log")
    deadline = time.time() + 90
    while not _trial_processes(run, "autopeft.study.engines.nni.trial"):  # an NNI trial is training
        assert time.time() < deadline and proc.poll() is None, (tmp_path / "search.log").read_text()
        time.sleep(0.1)
    time.sleep(1.0)
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.time() + 30
    while _listeners(port) or _trial_processes(run):
        assert time.time() < deadline, f"left running: {_listeners(port)} {_trial_processes(run)}"
        time.sleep(0.2)
    with Journal.open(run, lock=False) as j:
        assert j.counts()["running"] >= 1  # left for --resume to run again


def test_a_trial_that_ends_without_a_result_comes_back_failed_with_its_log(tmp_path: Path) -> None:
    """NNI saw the trial end (killed, out of memory, over maxTrialDuration) and no result came: a failed record
    naming the NNI trial and the last line of its stderr, never an exception; a late message is ignored."""
    from collections import deque

    from autopeft.study.engines.base import Job
    from autopeft.study.engines.nni.engine import NniEngine
    from autopeft.trial import Fidelity

    (tmp_path / "stderr").write_text("loading\nRuntimeError: CUDA out of memory\n")
    trial = type("T", (), {"trialJobId": "Ab12x", "status": "FAILED", "stderrPath": f"file://{tmp_path}/stderr",
                           "hyperParameters": []})()
    engine = NniEngine.__new__(NniEngine)
    engine._jobs, engine._finished = {7: Job(7, {"method": "ia3"}, Fidelity(4), 0)}, deque()
    engine._silent = {}
    engine._experiment = type("E", (), {"id": "exp1", "list_trial_jobs": lambda self: []})()
    engine._trial_job = lambda number: trial  # type: ignore[method-assign]
    engine._handle({"type": "end", "number": 7, "ok": False})
    done = engine._finished.popleft()
    assert done.number == 7 and done.result.status == "failed" and not engine._jobs
    assert "NNI trial Ab12x (exp1) ended FAILED without a result" in (done.result.error or "")
    assert "RuntimeError: CUDA out of memory" in (done.result.error or "")
    engine._handle({"type": "result", "number": 7, "value": {"default": 1.0}})  # too late: ignored
    assert not engine._finished


def test_an_unknown_nni_tuner_lists_the_allowed_ones(tmp_path: Path, tiny_recipe: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _cli(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--controller", "nni:SMAC"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "unknown NNI tuner 'nni:SMAC'; allowed: nni:Anneal, nni:Evolution, nni:Random, nni:TPE" in err
    assert not (tmp_path / "run").exists()


def test_a_recipe_can_ask_for_the_nni_engine(tmp_path: Path, tiny_recipe: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``search.engine: nni`` in a recipe is the NNI engine: its checks (here: the port) run before anything."""
    pytest.importorskip("nni")
    text = tiny_recipe.read_text().replace("search: {", "search: {engine: nni, ")
    tiny_recipe.write_text(text)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, err = _cli(["search", str(tiny_recipe), "--out", str(tmp_path / "run"), "--nni-port", str(port)],
                         capsys)
    assert code == 2 and f"--nni-port {port} is in use" in err
    assert not (tmp_path / "run").exists()


def test_a_manager_that_will_not_stop_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """close() never hangs: an experiment whose stop() blocks has its manager killed after STOP_SECONDS."""
    import io

    import autopeft.study.engines.nni.engine as mod

    killed: list[bool] = []
    release = threading.Event()

    class Stuck:
        id = "stuck1"
        _proc = type("P", (), {"kill": lambda self: killed.append(True)})()

        def stop(self) -> None:
            release.wait(60)

    monkeypatch.setattr(mod, "STOP_SECONDS", 0.3)
    engine = mod.NniEngine.__new__(mod.NniEngine)
    engine.folder, engine.log = tmp_path / "nni", io.StringIO()
    stdout = sys.stdout
    t0 = time.monotonic()
    try:
        engine._stop(Stuck())
        # the stuck stop() is still running, and this process's stdout is its own again
        assert sys.stdout is stdout
    finally:
        release.set()
    assert time.monotonic() - t0 < 5 and killed == [True]
    assert "did not stop within 0 s and was killed" in engine.log.getvalue()
    assert str(tmp_path / "nni" / "stuck1" / "log") in engine.log.getvalue()
