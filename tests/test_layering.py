"""The floor plan (docs/architecture.md): no import cycles, no import up a floor, and no torch where none is needed.

The import graph is built from the source with ``ast``: every ``import`` and ``from ... import``, at module
level or inside a function (a lazy import is still a dependency), except those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autopeft"

#: Each module's floor, by its longest matching prefix: a module may import only from its own floor or below.
FLOORS = {
    "autopeft.errors": 0, "autopeft.version": 0, "autopeft.trial": 0, "autopeft.objectives": 0,
    "autopeft.pareto": 0, "autopeft.metrics": 0, "autopeft.paths": 0, "autopeft.hub": 0,
    "autopeft.space": 1, "autopeft.model": 1, "autopeft.tasks": 1, "autopeft.runner.config": 1,
    "autopeft.methods": 2, "autopeft.controllers": 2,
    "autopeft.runner": 3,
    "autopeft.study": 4,
    "autopeft.bench": 5, "autopeft.report": 5,
    "autopeft.cli": 6, "autopeft": 6,
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph() -> nx.DiGraph:
    """Module -> the autopeft modules it imports (``from pkg import submodule`` points at the submodule)."""
    modules = _modules()

    def known(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                targets = subs + ([base] if len(subs) < len(node.names) else [])
            for target in targets:
                if target.split(".")[0] == "autopeft" and known(target) != name:
                    graph.add_edge(name, known(target))
    return graph


def floor(module: str) -> int:
    prefix = max((p for p in FLOORS if module == p or module.startswith(p + ".")), key=len)
    return FLOORS[prefix]


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert graph.number_of_nodes() > 50 and graph.number_of_edges() > 100  # the parser found the package
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_imports_from_a_floor_above_it() -> None:
    graph = import_graph()
    up = sorted(f"{a} (floor {floor(a)}) -> {b} (floor {floor(b)})" for a, b in graph.edges if floor(b) > floor(a))
    assert not up, "imports up a floor:\n" + "\n".join(up)


def test_the_cycle_check_catches_a_cycle() -> None:
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    assert [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1] == [["a", "b", "c"]]


HEAVY = ("torch", "transformers", "peft", "sklearn", "matplotlib")
TORCH = ("torch", "transformers", "peft")
#: module -> what it must not load: the pure floor not even scikit-learn; the controllers and a benchmark
#: replay use scikit-learn (the surrogates) but never torch, so a comparison takes seconds.
LIGHT = {
    **dict.fromkeys(["autopeft.objectives", "autopeft.pareto", "autopeft.metrics", "autopeft.metrics.calibration",
                     "autopeft.trial", "autopeft.study.classes"], HEAVY),
    **dict.fromkeys(["autopeft.space", "autopeft.space.selectors", "autopeft.space.dimensions",
                     "autopeft.space.references", "autopeft.model.graph", "autopeft.study.journal",
                     "autopeft.study.journal_sql",
                     "autopeft.study.front", "autopeft.study.recipe", "autopeft.runner",
                     "autopeft.study.references", "autopeft.study.provenance", "autopeft.study.card",
                     "autopeft.study.engines"], TORCH),
    **dict.fromkeys(["autopeft.controllers", "autopeft.controllers.surrogate", "autopeft.controllers.acquisition",
                     "autopeft.controllers.design", "autopeft.bench.compare", "autopeft.bench.multifidelity",
                     "autopeft.cli.bench"], TORCH),
}


@pytest.mark.parametrize("module", sorted(LIGHT))
def test_light_modules_import_nothing_heavy(module: str) -> None:
    code = (f"import sys, {module}; "
            "from autopeft.space import parse_space; "
            "parse_space('name: s\\nreferences: [full_finetune]\\n"
            "dimensions:\\n  - {name: m, type: constant, value: 1}\\n'); "
            f"bad = [m for m in {LIGHT[module]!r} if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _run_folder(tmp_path: Path) -> Path:
    """A run folder with two complete trials, written through the journal (no training)."""
    from autopeft.study.journal import Journal
    from autopeft.trial import Fidelity, TrialResult

    folder = tmp_path / "run"
    with Journal.create(folder, {"name": "tiny", "text": "", "source": "tiny.yaml", "base": "."}) as journal:
        journal.set_meta("settings", {"budget": 2, "controller": "random", "seed": 0,
                                      "objectives": ["accuracy", "trainable_params"]})
        for acc, params in ((0.6, 100), (0.7, 1000)):
            config = {"method": "lora", "lora.r": params // 100}
            trial = journal.add_trial(config, Fidelity(steps=1), seed=0, origin="random")
            journal.start(trial.number)
            journal.finish(trial.number, TrialResult(
                config=config, fidelity=Fidelity(steps=1), seed=0, status="complete",
                metrics={"accuracy": acc, "macro_f1": acc, "ece": 0.1, "ece_ts": 0.1, "brier": 0.3, "nll": 0.9},
                trainable_params=params, total_params=10_000))
    return folder


@pytest.mark.parametrize("argv", [["--help"], ["status", "{run}"], ["pareto", "{run}"],
                                  ["pareto", "{run}", "--format", "csv", "--all"]],
                         ids=["help", "status", "pareto", "pareto-csv"])
def test_commands_that_read_a_run_import_no_torch(tmp_path: Path, argv: list[str]) -> None:
    run = _run_folder(tmp_path)
    code = textwrap.dedent(f"""
        import sys
        from autopeft.cli import main
        try:
            code = main({[a.format(run=run) for a in argv]!r})
        except SystemExit as exc:  # --help exits
            code = exc.code
        bad = [m for m in {HEAVY!r} if m in sys.modules]
        print("HEAVY", bad)
        sys.exit(code if code else (3 if bad else 0))
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "HEAVY []" in proc.stdout


def test_import_autopeft_imports_no_torch_and_offers_the_api() -> None:
    code = ("import sys, autopeft; "
            f"bad = [m for m in {HEAVY!r} if m in sys.modules]; "
            "print(bad, autopeft.__version__); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
