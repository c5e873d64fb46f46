"""The README's Python API example runs as written (real MiniLM, a few short trials: slow)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def api_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the Python API section has no python block"
    return match.group(1)


def test_the_example_uses_the_public_api_only() -> None:
    code = api_example()
    assert "import autopeft" in code and "create_study" in code and "optimize" in code
    assert not re.search(r"from autopeft\.|autopeft\.[a-z_]+\.", code)  # nothing below the package's front door


@pytest.mark.slow
def test_the_python_api_example_runs(tmp_path: Path) -> None:
    (tmp_path / "example.py").write_text(api_example(), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "6 complete" in proc.stdout  # the callback saw the sixth trial
    assert "test_accuracy_mean" in proc.stdout and "recall_mean" in proc.stdout
    assert (tmp_path / "runs" / "api-demo" / "study.db").is_file()
    manifest = json.loads((tmp_path / "adapters" / "api-demo" / "autopeft.json").read_text())
    expect = "adapter_config.json" if manifest["peft_adapter"] else "config.json"  # head_only saves a whole model
    assert (tmp_path / "adapters" / "api-demo" / expect).is_file()
