"""The NNI engine: a search runs as an NNI experiment, so its trials can run on NNI's training services
(the local machine, remote machines over SSH, Kubernetes, OpenPAI, AML) and show in NNI's web UI.

autopeft stays the brain and the journal's only writer:

- the study process runs the usual loop (:func:`autopeft.study.loop.run_loop`) with its controller; the
  :class:`~autopeft.study.engines.nni.engine.NniEngine` hands each job to the experiment's tuner,
  :class:`~autopeft.study.engines.nni.tuner.StudyTuner` (an NNI custom tuner), over a local socket
  (:mod:`~autopeft.study.engines.nni.bridge`), so NNI never chooses a configuration: the tuner passes on
  whole autopeft configurations, conditional and per-layer dimensions untouched;
- each NNI trial (:mod:`~autopeft.study.engines.nni.trial`) runs one autopeft trial through the same worker
  code as the local engines, reports the validation curve as intermediate results and a final metric
  dictionary (every runner metric; ``default`` is the first objective) that carries the trial's whole record;
- the tuner forwards every result to the study, which journals it: ``status``, ``pareto``, ``finalize``,
  ``export`` and ``report`` read an NNI run like any other.

Settings (:mod:`~autopeft.study.engines.nni.settings`): ``--workers`` is the trial concurrency, GPUs go to
the training service, NNI's experiment folder is ``RUN/nni``, the web UI listens on 127.0.0.1 unless
``--nni-host`` says otherwise, ``--nni-port`` picks its port and ``--nni-config FILE`` brings a training
service of the user's own. Nothing here imports nni until an experiment starts.
"""

from __future__ import annotations

import importlib.util

from autopeft.errors import EngineError

__all__ = ["INSTALL_HINT", "require_nni"]

#: What to run when nni is missing.
INSTALL_HINT = 'pip install "autopeft[nni]"'


def require_nni(what: str = "--engine nni") -> None:
    """Raise a one-line :class:`EngineError` when nni is not installed."""
    if importlib.util.find_spec("nni") is None:
        raise EngineError(f"{what} needs NNI, which is not installed; run: {INSTALL_HINT}")
