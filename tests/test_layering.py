"""DESIGN.md: space and the pure modules import no torch, so their tests (and controllers) stay fast."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["autopeft.space", "autopeft.selectors", "autopeft.dimensions",
                                    "autopeft.model_graph", "autopeft.references"])
def test_pure_module_imports_no_torch(module: str) -> None:
    code = (f"import sys, {module}; "
            f"from autopeft.space import parse_space; "
            "parse_space('name: s\\nreferences: [full_finetune]\\n"
            "dimensions:\\n  - {name: m, type: constant, value: 1}\\n'); "
            f"bad = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]; "
            f"print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
