"""A tiny search recipe: tiny BERT, a local sentiment CSV, a small space with references."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest


def write_recipe(folder: Path, model: Path, data: Path, *, steps: int = 4, budget: int = 6) -> Path:
    (folder / "space.yaml").write_text(textwrap.dedent("""\
        name: tiny-layers
        references: [peft_default_lora, later_layers_only]
        dimensions:
          - {name: method, type: categorical, choices: [lora, ia3, head_only]}
          - name: lora.ranks
            type: per_layer
            layers: encoder
            choices: [0, 2, 4]
            default: 2
            when: {method: lora}
          - {name: lora.modules, type: categorical, choices: [qv, attention], when: {method: lora}}
          - {name: ia3.learning_rate, type: float, low: 1.0e-3, high: 3.0e-2, log: true, when: {method: ia3}}
        """))
    path = folder / "recipe.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: tiny
        model: {model}
        task: {{file: {data}, text_fields: [text], label_field: label}}
        space: space.yaml
        data: {{seed: 0, n_validation: 16, n_test: 16}}
        fidelity: {{steps: {steps}}}
        training: {{batch_size: 8, eval_batch_size: 16, max_length: 16, curve_fractions: [1.0]}}
        search: {{budget: {budget}, controller: random, reference_lr_factors: [1], final_fidelity: {{steps: 6}},
                  final_seeds: 2}}
        """))
    return path


@pytest.fixture
def tiny_recipe(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> Path:
    return write_recipe(tmp_path, tiny_bert_dir, sentiment_csv)


def terminal_sigint() -> None:
    """In the child: Ctrl-C's default action, as in a terminal. A suite started in the background by a shell
    (``pytest &``, ``nohup``) runs with SIGINT ignored, and children inherit that, so without this a SIGINT
    would never reach the search and the test would wait for nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
