"""What an NNI experiment is given: :class:`NniSettings` (from the command line) -> an NNI experiment config.

The translation is plain data (a camelCase dictionary in NNI's own config format), so it is tested without
starting anything; :func:`experiment_config` turns it into nni's ``ExperimentConfig``, whose own checks run
too. Rules:

- ``--workers`` is ``trialConcurrency``; the experiment has no trial limit of its own (the study stops it).
- GPUs: when the recipe may use CUDA and GPUs are visible, each trial gets one (``trialGpuNumber: 1``), the
  local service uses the visible ones (``gpuIndices`` from ``CUDA_VISIBLE_DEVICES``) with at most
  ``--workers-per-gpu`` trials on each (default: as few as the count allows); on the CPU, none.
- NNI's experiment folder is ``RUN/nni``; the trial code folder ``RUN/nni/code`` holds what a trial needs
  (``spec.json``, and the data file of a ``--data`` run), so remote services can upload it.
- ``--nni-config FILE`` (YAML or JSON) brings the user's training service (``trainingService`` and a few
  fields beside it, :data:`USER_FIELDS`); the fields autopeft sets itself are refused, naming them. Its
  ``trainingService`` replaces the local one; GPU fields it sets win over the defaults above.
- The web UI listens on ``--nni-host`` (default ``127.0.0.1``; NNI 3.0 itself listens on every interface).
  A training service on other machines needs the manager reachable from them: with a loopback host it is
  refused, naming ``--nni-host``.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autopeft.errors import ConfigError

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "LOCAL", "PLATFORMS", "USER_FIELDS", "NniSettings", "check_port",
           "experiment_config", "experiment_dict", "read_nni_config"]

DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"
LOCAL = "local"
#: NNI 3.0's training services (``trainingService.platform``).
PLATFORMS = ("local", "remote", "openpai", "aml", "dlc", "kubeflow", "frameworkcontroller", "adl")
#: Top-level fields a ``--nni-config`` file may set (camelCase, as in NNI's own experiment files).
USER_FIELDS = ("trainingService", "nniManagerIp", "trialGpuNumber", "maxTrialDuration", "maxExperimentDuration",
               "experimentName", "logLevel", "debug", "sharedStorage", "trialPython")
#: Fields autopeft sets itself, and the option that sets each.
OWN_FIELDS = {"searchSpace": "the space of the recipe", "searchSpaceFile": "the space of the recipe",
              "tuner": "--controller (autopeft's controller is the tuner)", "advisor": "--controller",
              "assessor": "autopeft's own scheduler", "trialCommand": "autopeft (one autopeft trial per NNI trial)",
              "trialCodeDirectory": "autopeft (RUN/nni/code)", "trialConcurrency": "--workers",
              "maxTrialNumber": "--budget", "experimentWorkingDirectory": "autopeft (RUN/nni)",
              "useAnnotation": "autopeft", "experimentType": "autopeft"}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@dataclass(frozen=True)
class NniSettings:
    """The NNI engine's options: web UI port and host, and a training-service file of the user's own."""

    port: int = DEFAULT_PORT
    host: str = DEFAULT_HOST
    config: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65534:
            raise ConfigError(f"--nni-port must be an integer from 1 to 65534, got {self.port!r}")
        if not isinstance(self.host, str) or not self.host.strip():
            raise ConfigError(f"--nni-host must be an address to listen on, e.g. 127.0.0.1, got {self.host!r}")

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return {"port": self.port, "host": self.host, "config": self.config}


def check_port(port: int, host: str = DEFAULT_HOST) -> None:
    """Refuse, in one line naming it, a port that something already listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1" if host in _LOOPBACK else "0.0.0.0", port))
        except OSError:
            raise ConfigError(f"--nni-port {port} is in use (something listens on it); allowed: a free port, "
                              f"e.g. --nni-port {_free_port()}") from None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_nni_config(path: str | Path) -> dict[str, Any]:
    """A ``--nni-config`` file's fields, checked: a mapping, only :data:`USER_FIELDS`, a known platform.

    Errors name the file, the field and the value; nni's own checks run later in :func:`experiment_config`.
    """
    import yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"--nni-config {path}: no such file")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"--nni-config {path}: not a YAML or JSON file ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--nni-config {path}: must be a mapping of NNI experiment fields, got "
                          f"{type(data).__name__}; allowed fields: {', '.join(USER_FIELDS)}")
    data = {_camel(str(k)) if "_" in str(k) else str(k): v for k, v in data.items()}
    for key in data:
        if key in OWN_FIELDS:
            raise ConfigError(f"--nni-config {path}: field {key!r} is set by {OWN_FIELDS[key]}, not by the file; "
                              f"allowed fields: {', '.join(USER_FIELDS)}")
        if key not in USER_FIELDS:
            raise ConfigError(f"--nni-config {path}: unknown field {key!r}; allowed fields: {', '.join(USER_FIELDS)}")
    service = data.get("trainingService")
    if service is None:
        raise ConfigError(f"--nni-config {path}: missing field 'trainingService'; allowed: a mapping with "
                          f"'platform' ({', '.join(PLATFORMS)}) and that platform's fields")
    services = service if isinstance(service, list) else [service]
    for i, one in enumerate(services):
        field = "trainingService" if not isinstance(service, list) else f"trainingService[{i}]"
        if not isinstance(one, dict):
            raise ConfigError(f"--nni-config {path}: field {field!r} must be a mapping, got {one!r}")
        platform = one.get("platform")
        if platform not in PLATFORMS:
            raise ConfigError(f"--nni-config {path}: field '{field}.platform' is {platform!r}; allowed: "
                              f"{', '.join(PLATFORMS)}")
    return data


def platforms(service: Any) -> list[str]:
    """The platform names of a ``trainingService`` value (one mapping, or a list for a hybrid)."""
    services = service if isinstance(service, list) else [service]
    return [str(s.get("platform")) for s in services if isinstance(s, Mapping)]


def experiment_dict(settings: NniSettings, *, workers: int, workers_per_gpu: int | None, folder: Path,
                    trial_command: str, python: str, search_space: Mapping[str, Any], tuner: Mapping[str, Any],
                    gpus: list[str] | None, name: str) -> dict[str, Any]:
    """The experiment config, camelCase, as NNI reads it (see the module docstring for the rules).

    ``trial_command`` may hold ``{python}``: this interpreter (``python``) on the local service, else the file's
    ``trialPython`` (default ``python3``, found on the trial machine's PATH). ``gpus`` are the visible GPUs
    the trials may use (``None`` or empty: trials run on the CPU).
    """
    user = read_nni_config(settings.config) if settings.config else {}
    service: Any = user.pop("trainingService", None)
    trial_python = user.pop("trialPython", None)
    local = service is None or all(p == LOCAL for p in platforms(service))
    interpreter = str(trial_python) if trial_python is not None else (shlex.quote(python) if local else "python3")
    trial_command = trial_command.replace("{python}", interpreter)
    out: dict[str, Any] = {
        "experimentName": name, "searchSpace": dict(search_space), "trialCommand": trial_command,
        "trialCodeDirectory": str(folder / "code"), "trialConcurrency": workers,
        "experimentWorkingDirectory": str(folder), "tuner": dict(tuner)}
    if service is None:
        service = {"platform": LOCAL}
        if gpus:
            per_gpu = workers_per_gpu if workers_per_gpu is not None else math.ceil(workers / len(gpus))
            service.update(useActiveGpu=True, maxTrialNumberPerGpu=per_gpu, gpuIndices=",".join(gpus))
    if gpus and "trialGpuNumber" not in user:
        out["trialGpuNumber"] = 1
    elif not gpus and "trialGpuNumber" not in user:
        out["trialGpuNumber"] = 0
    out["trainingService"] = service
    out.update(user)
    remote = [p for p in platforms(service) if p != LOCAL]
    if remote and settings.host in _LOOPBACK:
        raise ConfigError(f"--nni-config {settings.config}: the {remote[0]} training service runs trials on other "
                          f"machines, which must reach this NNI manager, but it listens on {settings.host} only; "
                          "allowed: --nni-host 0.0.0.0 or an address those machines reach (and nniManagerIp)")
    return out


def experiment_config(data: Mapping[str, Any], source: str | None = None) -> Any:
    """nni's ``ExperimentConfig`` for ``data`` (camelCase), checked by nni; its complaint, in one line,
    names ``source`` (the ``--nni-config`` file) when the user's fields are at fault."""
    from nni.experiment import ExperimentConfig

    fields = {_snake(k): v for k, v in data.items()}
    try:
        config = ExperimentConfig(**fields)
        config.canonical_copy()  # nni validates while canonicalising
    except (ValueError, TypeError, AssertionError, KeyError, AttributeError) as exc:
        where = f"--nni-config {source}" if source else "the NNI experiment config"
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"{where}: NNI refused it: {text}") from None
    return config


def dump(data: Mapping[str, Any], path: Path) -> None:
    """Write the experiment config beside the experiment, for the record (and for ``nnictl``)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def visible_gpus(device: str) -> list[str]:
    """The GPUs trials may use: none when the recipe trains on the CPU or CUDA is absent."""
    if device == "cpu":
        return []
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return visible[:count] if len(visible) >= count else [str(i) for i in range(count)]
