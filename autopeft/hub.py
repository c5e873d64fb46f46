"""Whether the Hugging Face Hub can be reached, asked once per process: model loading and Hub datasets both use
it to fail at once, with a clear error, where huggingface_hub would retry for tens of seconds first."""

from __future__ import annotations

import os

__all__ = ["hub_reachable"]

_HUB_STATE: dict[str, bool] = {}


def hub_reachable() -> bool:
    """Whether the Hugging Face Hub answers (checked once per process, 3 s at most).

    ``HF_HUB_OFFLINE=1`` means no. Loading with ``local_files_only`` (or, for datasets, in offline mode) when
    the Hub is unreachable turns huggingface_hub's retry loop (tens of seconds) into an immediate, clear error;
    what is in the local cache still loads.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    if "reachable" not in _HUB_STATE:
        import socket

        try:
            socket.create_connection(("huggingface.co", 443), timeout=3).close()
            _HUB_STATE["reachable"] = True
        except OSError:
            _HUB_STATE["reachable"] = False
    return _HUB_STATE["reachable"]
