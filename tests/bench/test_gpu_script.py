"""benchmarks/gpu_parallel.py, checked on the CPU with a tiny T5 (its GPU figures come from a GPU machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_gpu_script_runs_tiny_on_the_cpu_and_writes_one_file(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_parallel.py"), "--tiny", "--workers", "1,2",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [s["workers"] for s in report["settings"]] == [1, 2]
    for s in report["settings"]:
        assert s["complete"] == s["timed_trials"] and s["trials_per_hour"] > 0 and not s["failed"]
        assert len(s["peak_memory_mb_per_worker"]) == s["workers"]  # every worker ran a trial and was measured
        assert 0 < s["train_seconds_per_trial"] + s["eval_seconds_per_trial"] <= s["seconds_per_trial_in_a_worker"]
    assert report["settings"][0]["ratio_to_one_worker"] == 1.0
    assert report["model"]["shape"] == "tiny" and report["gpu"] is None
    assert "| workers on one GPU |" in report["markdown"]
    assert list(tmp_path.iterdir()) == [out]  # one file, nothing else left behind


def test_without_a_gpu_the_script_says_so(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_parallel.py"), "--out",
                           str(tmp_path / "x.json")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 2 and "no CUDA GPU here" in proc.stderr and not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("script", ["gpu_check.sh", "gpu_scaling.sh"])
def test_the_device_scripts_parse_and_pass_only_flags_the_script_takes(script: str) -> None:
    """The shell scripts made for a lent GPU run there once, untried: at least their syntax and the flags they
    give gpu_parallel.py are checked here."""
    import re

    text = (ROOT / "benchmarks" / script).read_text()
    assert ". benchmarks/device_env.sh" in text  # the wheels and PYTHONPATH, set up in one place
    for shell in (script, "device_env.sh"):
        assert subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / shell)]).returncode == 0
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_parallel
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    known = {"--" + name.replace("_", "-") for name in vars(gpu_parallel.parse_args([]))}
    calls = [line for line in text.splitlines() if "benchmarks/gpu_parallel.py" in line and "python3" in line]
    assert calls
    for line in calls:
        assert set(re.findall(r"--[a-z-]+", line)) <= known, line
