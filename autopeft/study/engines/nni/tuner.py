"""The experiment's tuner: an NNI custom tuner that passes on the study's jobs and brings back their results.

NNI's manager starts it in its dispatcher process (``CustomAlgorithmConfig(class_name=...StudyTuner)``) with
``class_args`` saying where the study listens. It chooses nothing: autopeft's controller, in the study
process, proposed each configuration. When NNI asks for trials it hands over the jobs the study has sent
(waiting for one if the study is still choosing); when the study says it has nothing more for now, NNI's
request is answered with none, and a job that comes later is sent to NNI unasked. Every final metric and
every trial's end goes back to the study. If the study goes away (Ctrl-C, kill -9), the tuner stops the
experiment, so no NNI manager or trial is left running.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from nni.tuner import Tuner

from autopeft.study.engines.nni.bridge import Wire, number_of

__all__ = ["StudyTuner"]


class StudyTuner(Tuner):  # type: ignore[misc]
    """See the module docstring. ``address`` is the study's ``host:port``, ``token`` its secret,
    ``manager_port`` the NNI manager's port (to stop the experiment if the study disappears)."""

    def __init__(self, address: str, token: str, manager_port: int | None = None) -> None:
        host, port = address.rsplit(":", 1)
        self.manager_port = manager_port
        try:
            self.wire = Wire(socket.create_connection((host, int(port)), timeout=30))
        except OSError:
            self._stop_experiment()  # the study went away before its tuner started: nothing may be left running
            raise
        self.wire.send({"type": "hello", "token": token, "pid": os.getpid()})
        self._cond = threading.Condition()
        self._jobs: deque[dict[str, Any]] = deque()
        self._idle = False
        self._gone = False
        self._owed = 0
        self._numbers: dict[int, int] = {}
        self._callback: Callable[[int, Any], None] | None = None
        threading.Thread(target=self._read, name="autopeft-study", daemon=True).start()

    # ---- NNI's calls ---------------------------------------------------------------------------------------
    def update_search_space(self, search_space: Any) -> None:
        return None  # the study's controller owns the space

    def generate_multiple_parameters(self, parameter_id_list: list[int], **kwargs: Any) -> list[Any]:
        self._callback = kwargs.get("st_callback") or self._callback
        out: list[Any] = []
        for parameter_id in parameter_id_list:
            with self._cond:
                while not self._jobs and not self._idle and not self._gone:
                    self._cond.wait(0.5)
                if not self._jobs:
                    self._owed += len(parameter_id_list) - len(out)
                    break
                job = self._jobs.popleft()
            out.append(self._give(parameter_id, job))
        return out

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> Any:
        from nni import NoMoreTrialError

        got = self.generate_multiple_parameters([parameter_id], **kwargs)
        if not got:
            raise NoMoreTrialError("the study has nothing to run now")
        return got[0]

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any) -> None:
        number = number_of(parameters)
        if number is not None:
            self.wire.send({"type": "result", "number": number, "value": value,
                            "trial_job_id": kwargs.get("trial_job_id")})

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        number = self._numbers.pop(parameter_id, None)
        if number is not None:
            self.wire.send({"type": "end", "number": number, "ok": bool(success)})

    def import_data(self, data: Any) -> None:
        return None  # the history is the study's journal, which its controller reads

    # ---- the study's side ----------------------------------------------------------------------------------
    def _give(self, parameter_id: int, job: dict[str, Any]) -> Any:
        self._numbers[parameter_id] = int(job["number"])
        self.wire.send({"type": "given", "number": job["number"], "parameter_id": parameter_id})
        return job["params"]

    def _read(self) -> None:
        while not self.wire.closed:
            for message in self.wire.poll(None):
                with self._cond:
                    if message.get("type") == "job":
                        self._jobs.append(message)
                        self._idle = False
                    elif message.get("type") == "idle":
                        self._idle = True
                    elif message.get("type") == "drop":  # cancelled before NNI asked for it
                        self._jobs = deque(j for j in self._jobs if j.get("number") != message.get("number"))
                    self._cond.notify_all()
                self._send_owed()
        with self._cond:
            self._gone = True
            self._cond.notify_all()
        self._stop_experiment()

    def _send_owed(self) -> None:
        """Jobs that came after NNI's request was answered with none go to NNI unasked."""
        from nni.runtime.msg_dispatcher import _create_parameter_id

        while True:
            with self._cond:
                if not (self._owed and self._jobs and self._callback is not None):
                    return
                self._owed -= 1
                job = self._jobs.popleft()
            parameter_id = _create_parameter_id()
            self._numbers[parameter_id] = int(job["number"])
            self._callback(parameter_id, job["params"])  # NNI has it: then the study is told
            self.wire.send({"type": "given", "number": job["number"], "parameter_id": parameter_id})

    def _stop_experiment(self) -> None:
        if self.manager_port is None:
            return
        from nni.experiment import rest

        with contextlib.suppress(Exception):  # the manager may be stopping already
            rest.delete(self.manager_port, "/experiment")
