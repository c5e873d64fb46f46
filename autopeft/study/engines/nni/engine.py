"""The NNI engine itself: start an NNI experiment whose tuner is the study, hand it jobs, collect results.

See :mod:`autopeft.study.engines.nni` for the design. The lifecycle, as for every engine:

- start: write the trial code folder (``RUN/nni/code``), listen for the tuner on a local socket, start the
  experiment (its manager listening on ``--nni-host``, 127.0.0.1 by default), wait until the tuner says
  hello; the web UI's URL is printed;
- :meth:`NniEngine.submit` sends a job to the tuner; :meth:`NniEngine.wait` returns the next result the tuner
  forwards (a trial that NNI saw end without a result comes back failed, with the last line of its log);
- :meth:`NniEngine.close` stops the experiment (NNI cancels its running trials); if the study is killed, the
  tuner notices and stops the experiment itself.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from autopeft.errors import EngineError
from autopeft.study.engines.base import Finished, Job, WorkerSpec, failed
from autopeft.study.engines.nni.bridge import Wire, job_params
from autopeft.study.engines.nni.settings import NniSettings, dump, experiment_config, experiment_dict, visible_gpus
from autopeft.study.engines.nni.trial import write_spec
from autopeft.trial import TrialResult

__all__ = ["NniEngine"]

#: Seconds the tuner gets to connect after the experiment starts.
START_SECONDS = 120.0
#: Seconds NNI's manager gets to stop before it is killed.
STOP_SECONDS = 30.0
#: Seconds of one wait for the tuner's messages.
POLL_SECONDS = 0.5
#: Seconds a trial that NNI says succeeded gets for its final metric to arrive: NNI's manager may pass on the
#: trial's end before the metric it reported just before exiting (seen on a loaded machine).
RESULT_GRACE_SECONDS = 60.0
TUNER_CLASS = "autopeft.study.engines.nni.tuner.StudyTuner"
TRIAL_MODULE = "autopeft.study.engines.nni.trial"
PRELOAD = Path(__file__).with_name("listen_host.js")


class NniEngine:
    """An :class:`~autopeft.study.engines.base.Engine` whose trials are an NNI experiment's; see the module
    docstring. ``run`` is the run folder; ``objective`` the first objective (NNI's ``default`` metric)."""

    name = "nni"

    def __init__(self, spec: WorkerSpec, *, workers: int, workers_per_gpu: int | None, run: Path,
                 settings: NniSettings, objective: str, log: TextIO | None = None) -> None:
        from autopeft.study.engines.nni import require_nni

        require_nni()
        self.spec, self.settings, self.log = spec, settings, log if log is not None else sys.stderr
        self.workers = workers
        self.folder = Path(run).resolve() / "nni"
        self._jobs: dict[int, Job] = {}
        self._given: dict[int, int] = {}
        self._silent: dict[int, float] = {}  # ended without a result yet: job number -> when to give up
        self._finished: deque[Finished] = deque()
        self._idle_sent = False
        self._experiment: Any = None
        self._wire: Wire | None = None
        gpus = visible_gpus(spec.recipe.training.device)
        write_spec(self.folder / "code", spec.recipe.to_dict(), objective)
        self._server = socket.create_server(("127.0.0.1", 0))
        token = secrets.token_hex(16)
        tuner = {"className": TUNER_CLASS, "codeDirectory": str(self.folder / "code"),
                 "classArgs": {"address": f"127.0.0.1:{self._server.getsockname()[1]}", "token": token,
                               "manager_port": settings.port}}
        self.config = experiment_dict(settings, workers=workers, workers_per_gpu=workers_per_gpu, folder=self.folder,
                                      trial_command=f"{{python}} -m {TRIAL_MODULE}", python=sys.executable,
                                      search_space={}, tuner=tuner, gpus=gpus, name=f"autopeft {spec.recipe.name}")
        config = experiment_config(self.config, settings.config)
        try:
            self._start(config, token)
        except BaseException:
            self.close()
            raise

    # ---- the protocol ------------------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        return self.workers

    def submit(self, job: Job) -> None:
        self._jobs[job.number] = job
        self._idle_sent = False
        self._send({"type": "job", "number": job.number, "params": job_params(job)})

    def wait(self) -> Finished:
        checked = time.monotonic()
        while not self._finished:
            if not self._jobs:
                raise EngineError("wait() with no job submitted")
            if len(self._jobs) < self.slots and not self._idle_sent:
                self._send({"type": "idle"})  # the study has nothing more for now: NNI need not wait for it
                self._idle_sent = True
            assert self._wire is not None
            for message in self._wire.poll(POLL_SECONDS):
                self._handle(message)
            self._give_up_on_silent()
            if self._wire.closed and not self._finished:
                raise EngineError(f"NNI's tuner went away (the experiment stopped?); its log: {self.log_folder}")
            if time.monotonic() - checked > 5:
                checked = time.monotonic()
                self._check_manager()
        return self._finished.popleft()

    def cancel(self, number: int) -> None:
        job = self._jobs.pop(number, None)
        self._silent.pop(number, None)
        self._finished = deque(f for f in self._finished if f.number != number)
        if job is None:
            return
        self._send({"type": "drop", "number": number})
        trial = self._trial_job(number)
        if trial is not None and self._experiment is not None:
            with contextlib.suppress(Exception):
                self._experiment.kill_trial_job(trial.trialJobId)

    def close(self) -> None:
        if self._wire is not None:
            self._wire.close()
        if self._experiment is not None:
            experiment, self._experiment = self._experiment, None
            self._stop(experiment)
        with contextlib.suppress(OSError):
            self._server.close()

    def __enter__(self) -> NniEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the experiment ----------------------------------------------------------------------------------
    @property
    def experiment_id(self) -> str | None:
        return getattr(self._experiment, "id", None)

    @property
    def log_folder(self) -> Path:
        return self.folder / str(self.experiment_id) / "log"

    def _start(self, config: Any, token: str) -> None:
        from nni.experiment import Experiment
        from nni.runtime.log import silence_stdout

        silence_stdout()
        self._experiment = Experiment(config)
        env = {"AUTOPEFT_NNI_HOST": self.settings.host,
               "NODE_OPTIONS": f'{os.environ.get("NODE_OPTIONS", "")} --require "{PRELOAD}"'.strip(),
               # the manager, its tuner and local trials import what this process imports (a source tree)
               "PYTHONPATH": os.pathsep.join([p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")]
                                             ).rstrip(os.pathsep)}
        with _environ(env), _quiet():
            try:
                self._experiment.start(self.settings.port)
            except Exception as exc:
                raise EngineError(f"NNI could not start its experiment on port {self.settings.port}: "
                                  f"{' '.join(str(exc).split())}; its log: {self.log_folder}") from None
        dump(self.config, self.folder / str(self.experiment_id) / "autopeft-experiment.json")
        self._say(f"experiment {self.experiment_id}: web UI {self.settings.url} (listening on {self.settings.host}); "
                  f"NNI's files in {self.folder / str(self.experiment_id)}")
        self._server.settimeout(POLL_SECONDS)
        deadline = time.monotonic() + START_SECONDS
        while self._wire is None:
            if time.monotonic() > deadline:
                raise EngineError(f"NNI's tuner did not connect within {START_SECONDS:.0f} s; its log: "
                                  f"{self.log_folder}")
            self._check_manager()
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            wire = Wire(conn)
            hello = wire.poll(30.0)
            if hello and hello[0].get("type") == "hello" and hello[0].get("token") == token:
                self._wire = wire
            else:
                wire.close()  # not our tuner

    def _stop(self, experiment: Any) -> None:
        """Stop the experiment (NNI cancels its trials, its manager exits); a manager that has not exited after
        ``STOP_SECONDS`` is killed, so a close never hangs."""
        def stop() -> None:
            with contextlib.suppress(Exception):
                experiment.stop()

        # sys.stdout is process-wide: it is swapped here, in the calling thread, and put back before returning,
        # never by the worker, which may outlive this call and would put back a stream that is gone by then
        worker = threading.Thread(target=stop, name="autopeft-nni-stop", daemon=True)
        with _quiet():
            worker.start()
            worker.join(STOP_SECONDS)
        proc = getattr(experiment, "_proc", None)
        if worker.is_alive() and proc is not None:
            with contextlib.suppress(Exception):
                proc.kill()
            self._say(f"NNI's manager did not stop within {STOP_SECONDS:.0f} s and was killed; its log: "
                      f"{self.folder / str(getattr(experiment, 'id', '?')) / 'log'}")

    def _check_manager(self) -> None:
        """Raise if NNI's manager has exited or reports an error (the caller's close() then stops it)."""
        proc = getattr(self._experiment, "_proc", None)
        if proc is not None and proc.poll() is not None:
            raise EngineError(f"NNI's manager stopped (exit code {proc.returncode}); its log: {self.log_folder}")
        status = None
        with contextlib.suppress(Exception):
            status = self._experiment.get_status()
        if status == "ERROR":
            raise EngineError(f"NNI's experiment {self.experiment_id} reports an error; its log: {self.log_folder}")

    def _send(self, message: dict[str, Any]) -> None:
        if self._wire is None or not self._wire.send(message):
            raise EngineError(f"NNI's tuner went away (the experiment stopped?); its log: {self.log_folder}")

    def _handle(self, message: dict[str, Any]) -> None:
        kind, number = message.get("type"), message.get("number")
        if not isinstance(number, int) or number not in self._jobs:
            return  # a cancelled or unknown job
        job = self._jobs[number]
        if kind == "given":
            self._given[number] = int(message.get("parameter_id", -1))
        elif kind == "result":
            trial = message.get("trial_job_id")
            self._done(job, _record(job, message.get("value")), f"NNI trial {trial} ({self.experiment_id})")
        elif kind == "end" and not message.get("ok", False):
            trial = self._trial_job(number)
            where = f"NNI trial {getattr(trial, 'trialJobId', '?')} ({self.experiment_id})"
            self._done(job, failed(job, f"the {where} ended {getattr(trial, 'status', 'FAILED')} without a result"
                                        f"{_last_line(trial)}"), where)
        elif kind == "end":
            self._silent.setdefault(number, time.monotonic() + RESULT_GRACE_SECONDS)

    def _give_up_on_silent(self) -> None:
        """Trials that succeeded, but whose final metric has not come within ``RESULT_GRACE_SECONDS``, failed."""
        now = time.monotonic()
        for number, deadline in list(self._silent.items()):
            if now >= deadline and number in self._jobs:
                self._done(self._jobs[number], failed(self._jobs[number], "the NNI trial succeeded but reported no "
                                                      f"final result within {RESULT_GRACE_SECONDS:g} s"), "NNI")

    def _done(self, job: Job, result: TrialResult, where: str) -> None:
        self._jobs.pop(job.number, None)
        self._silent.pop(job.number, None)
        self._finished.append(Finished(job.number, result, where))

    def _trial_job(self, number: int) -> Any:
        """NNI's record of the trial that ran job ``number`` (None if NNI has none yet)."""
        if self._experiment is None:
            return None
        with contextlib.suppress(Exception):
            for trial in self._experiment.list_trial_jobs():
                for hp in trial.hyperParameters or []:
                    params = getattr(hp, "parameters", None) or {}
                    if params.get("autopeft_trial") == number:
                        return trial
        return None

    def _say(self, text: str) -> None:
        self.log.write(f"  [nni] {text}\n")
        self.log.flush()


def _record(job: Job, value: Any) -> TrialResult:
    """The trial record a final metric dictionary carries (a failed one if it carries none)."""
    if isinstance(value, dict) and isinstance(value.get("autopeft"), dict):
        try:
            return TrialResult.from_dict(value["autopeft"])
        except Exception as exc:
            return failed(job, f"the NNI trial's record could not be read: {type(exc).__name__}: {exc}")
    return failed(job, f"the NNI trial reported {str(value)[:200]!r}, not autopeft's record")


def _last_line(trial: Any) -> str:
    """``: <the last line of its stderr>`` when the trial's log is on this machine."""
    for attr in ("stderrPath", "logPath"):
        path = str(getattr(trial, attr, "") or "")
        path = path.split("://", 1)[-1]
        if ":" in path and not os.path.exists(path):  # host:path from some services
            path = path.split(":", 1)[-1]
        with contextlib.suppress(OSError):
            for folder in (Path(path), Path(path).parent):
                for name in ("stderr", "trial.log"):
                    file = folder / name if folder.is_dir() else folder
                    if file.is_file():
                        lines = [ln for ln in file.read_text(errors="replace").splitlines() if ln.strip()]
                        if lines:
                            return f": {lines[-1].strip()[:300]} (log: {file})"
    return ""


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """``values`` in this process's environment while NNI's manager starts (it inherits them), then as before."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """NNI prints its progress to stdout; autopeft's stdout is its results, so NNI's lines go to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        yield
