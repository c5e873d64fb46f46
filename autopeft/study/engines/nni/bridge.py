"""The wire between the study process and the experiment's tuner: JSON lines over a local TCP socket.

The study listens on ``127.0.0.1`` (an ephemeral port); the tuner, started by NNI's manager on the same
machine, connects and proves itself with a random token. Messages are one JSON object per line:

- study -> tuner: ``{"type": "job", "number": N, "params": {...}}`` (a trial to hand to NNI),
  ``{"type": "idle"}`` (the study has nothing more to run for now: answer NNI's requests with none),
  ``{"type": "drop", "number": N}`` (a job cancelled before NNI took it);
- tuner -> study: ``{"type": "hello", "token": T}``, ``{"type": "given", "number": N, "parameter_id": P}``
  (NNI has the job), ``{"type": "result", "number": N, "value": {...}, "trial_job_id": ID}`` (its final
  metric dictionary), ``{"type": "end", "number": N, "ok": bool}`` (NNI saw the trial end).

Nothing here imports nni.
"""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

__all__ = ["Wire", "job_params", "number_of"]

#: The key of a job's number in the parameters NNI shows and passes to the trial.
TRIAL_KEY = "autopeft_trial"


class Wire:
    """One end of the connection: :meth:`send` a message, :meth:`poll` for those that have arrived."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""
        self.closed = False

    def send(self, message: dict[str, Any]) -> bool:
        """Send ``message``; False when the other end is gone."""
        try:
            self.sock.sendall(json.dumps(message, default=str).encode("utf-8") + b"\n")
            return True
        except OSError:
            self.closed = True
            return False

    def poll(self, timeout: float | None) -> list[dict[str, Any]]:
        """The messages that arrive within ``timeout`` seconds (``None``: wait for at least one); an empty
        list on timeout, and :attr:`closed` set when the other end has gone."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(1 << 20)
        except TimeoutError:
            return []
        except OSError:
            chunk = b""
        if not chunk:
            self.closed = True
            return []
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()


def job_params(job: Any) -> dict[str, Any]:
    """A :class:`~autopeft.study.engines.base.Job` as NNI trial parameters (what the web UI shows)."""
    return {TRIAL_KEY: job.number, "config": dict(job.config), "fidelity": job.fidelity.to_dict(),
            "seed": job.seed, "in_space": job.in_space, "test": job.test, "save_to": job.save_to,
            "stop_below": [list(p) for p in job.stop_below]}


def number_of(params: Any) -> int | None:
    """The job number in NNI parameters (``None`` if they are not autopeft's)."""
    if isinstance(params, dict) and isinstance(params.get(TRIAL_KEY), int):
        return int(params[TRIAL_KEY])
    return None
