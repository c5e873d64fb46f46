"""Peak memory of a trial: process RSS sampled in a thread (CPU), or the CUDA allocator's peak."""

from __future__ import annotations

import os
import threading
from types import TracebackType
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    """Resident set size of this process in MiB (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class PeakMemory:
    """``with PeakMemory(device) as peak: ...`` then ``peak.mb``: the highest RSS (or CUDA memory) seen."""

    def __init__(self, device: Any = "cpu", interval: float = 0.02) -> None:
        self.device = str(device)
        self.interval = interval
        self.mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.mb = max(self.mb, rss_mb())

    def __enter__(self) -> PeakMemory:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()
        else:
            self.mb = rss_mb()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.device.startswith("cuda"):
            import torch

            self.mb = torch.cuda.max_memory_allocated() / 2**20
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.mb = max(self.mb, rss_mb())
