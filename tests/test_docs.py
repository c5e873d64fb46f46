"""The documentation stays inside the repository and complete.

- No text points at a file outside the repository (a design note, a shared folder, a path that climbs out).
- No committed file under ``reports/`` or ``benchmarks/`` holds an absolute path of the machine it was made on
  (SQLite journals included: their bytes and every text value).
- The README's tables list every registered method, module-set preset, task, space and controller, and
  ``search/README.md`` every recipe, so a new entry in a registry cannot go undocumented.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Where documentation and code that a reader follows live.
DOC_ROOTS = ("README.md", "docs", "search", "spaces", "benchmarks", "autopeft")
TEXT_SUFFIXES = {".md", ".py", ".yaml", ".yml", ".txt", ".json", ".toml", ".cfg", ".html", ".csv", ".sh", ""}
#: Names of files that are not in the repository and never were meant to be.
OUTSIDE = re.compile(r"shared/|DESIGN\.md|PEFT-NOTES")
CLIMB = re.compile(r"(?:\.\./)+[\w.\-/]*")
#: Absolute paths of a machine: a result that holds one was made with a path no reader has.
MACHINE = re.compile(rb"/work/|/home/|/tmp/")
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".pdf"}


def committed(*roots: str) -> list[Path]:
    """The files under ``roots`` that git tracks (every file there when this is not a git checkout)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", *roots], cwd=ROOT, capture_output=True, check=True)
        files = [ROOT / p for p in out.stdout.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = [p for r in roots for p in ([ROOT / r] if (ROOT / r).is_file() else (ROOT / r).rglob("*"))]
    return sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts)


def doc_files() -> list[Path]:
    return [p for p in committed(*DOC_ROOTS) if p.suffix in TEXT_SUFFIXES and p.suffix != ".csv"]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_scan_sees_the_documentation() -> None:
    names = {rel(p) for p in doc_files()}
    assert {"README.md", "docs/architecture.md", "search/README.md", "benchmarks/peftbench/README.md",
            "autopeft/methods/checks.py", "spaces/minilm-layers.yaml"} <= names


def test_no_text_points_outside_the_repository() -> None:
    problems = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            problems += [f"{rel(path)}:{n}: {m.group(0)!r}" for m in OUTSIDE.finditer(line)]
            for m in CLIMB.finditer(line):  # a relative path must land inside the repository
                target = (path.parent / m.group(0)).resolve()
                if not target.is_relative_to(ROOT):
                    problems.append(f"{rel(path)}:{n}: {m.group(0)!r} leaves the repository")
    assert not problems, "\n".join(problems)


def test_relative_links_of_the_docs_exist() -> None:
    missing = []
    for path in [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "search" / "README.md",
                 ROOT / "benchmarks" / "peftbench" / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if "://" not in target and not (path.parent / target).exists():
                missing.append(f"{rel(path)}: {target}")
    assert not missing, "\n".join(missing)


def sqlite_texts(path: Path) -> Iterator[str]:
    """Every statement of the database's dump (schema and rows), read without writing to it."""
    con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        yield from con.iterdump()
    finally:
        con.close()


@pytest.mark.parametrize("root", ["benchmarks", "reports"])
def test_no_committed_result_holds_a_path_of_this_machine(root: str) -> None:
    problems = []
    for path in committed(root):
        if path.suffix in BINARY_SUFFIXES:
            continue
        data = path.read_bytes()
        hits = {m.group(0).decode() for m in MACHINE.finditer(data)}
        if data.startswith(b"SQLite format 3\x00"):
            hits |= {m.group(0).decode() for text in sqlite_texts(path) for m in MACHINE.finditer(text.encode())}
        if hits:
            problems.append(f"{rel(path)}: {', '.join(sorted(hits))}")
    assert not problems, "\n".join(problems)


def test_the_machine_path_scan_reads_sqlite_journals(tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (recipe TEXT)")
    con.execute("INSERT INTO t VALUES (?)", ("space: /work/main/spaces/x.yaml",))
    con.commit()
    con.close()
    assert MACHINE.search(db.read_bytes())
    assert any(MACHINE.search(t.encode()) for t in sqlite_texts(db))


# ---- the README's tables against the registries ------------------------------------------------------------
def table_names(text: str, header: str) -> set[str]:
    """The backquoted names in the first column of the Markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"| {header} |")), None)
    assert start is not None, f"no table with the header {header!r}"
    names: set[str] = set()
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        names |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


def section(text: str, title: str) -> str:
    body = text.split(f"\n## {title}\n", 1)
    assert len(body) == 2, f"README has no section {title!r}"
    return body[1].split("\n## ", 1)[0]


def test_the_method_table_lists_every_registered_method() -> None:
    from autopeft.methods import method_names

    documented = set()
    for cell in table_names(README.read_text(encoding="utf-8"), "method"):
        documented |= {n.strip() for n in cell.split(",")}
    assert documented == set(method_names())


def test_every_module_set_preset_is_named() -> None:
    from autopeft.model.graph import MODULE_SETS

    text = section(README.read_text(encoding="utf-8"), "Search spaces")
    presets = text.split("There are also presets:", 1)[1].split(".", 1)[0]
    assert set(re.findall(r"`([^`]+)`", presets)) == set(MODULE_SETS)


def test_the_task_table_lists_every_registered_task() -> None:
    from autopeft.tasks.registry import task_names

    documented = set()
    for cell in table_names(README.read_text(encoding="utf-8"), "task | source"):
        documented |= {n.strip() for n in cell.split(",")}
    assert set(task_names()) <= documented


def test_the_space_table_lists_every_shipped_space() -> None:
    documented = table_names(README.read_text(encoding="utf-8"), "file")
    assert documented == {f"spaces/{p.name}" for p in (ROOT / "spaces").glob("*.yaml")}


def test_the_recipe_table_lists_every_shipped_recipe() -> None:
    documented = table_names((ROOT / "search" / "README.md").read_text(encoding="utf-8"), "recipe")
    assert documented == {p.name for p in (ROOT / "search").glob("*.yaml")}


def test_the_search_command_names_every_controller() -> None:
    from autopeft.controllers import controller_names

    text = README.read_text(encoding="utf-8")
    usage = re.search(r"--controller ([\w|:]+)\]", text)
    assert usage is not None and set(usage.group(1).split("|")) == set(controller_names())


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_github_slug() -> None:
    assert github_slug("NNI engine: a search as an NNI experiment") == "nni-engine-a-search-as-an-nni-experiment"
    assert github_slug("Multi-fidelity search (ASHA)") == "multi-fidelity-search-asha"


def test_the_readme_contents_links_every_section() -> None:
    text = README.read_text(encoding="utf-8")
    sections = [github_slug(line[3:]) for line in text.splitlines() if line.startswith("## ")]
    contents = next(line for line in text.splitlines() if line.startswith("Contents: "))
    assert re.findall(r"\]\(#([^)]+)\)", contents) == sections
