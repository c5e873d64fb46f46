"""Where a command may write (:func:`autopeft.paths.unwritable`): every case a bad ``--out`` can be."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autopeft.paths import unwritable


def test_a_new_folder_under_a_folder_can_be_made(tmp_path: Path) -> None:
    assert unwritable(tmp_path / "a" / "b" / "c") is None
    assert unwritable(tmp_path) is None
    assert not (tmp_path / "a").exists()  # nothing is created by the check


def test_a_file_where_a_folder_belongs_and_the_other_way_round(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert unwritable(tmp_path / "f") == "it is a file"
    assert unwritable(tmp_path / "f", folder=False) is None
    assert unwritable(tmp_path, folder=False) == "it is a folder"
    assert unwritable(tmp_path / "f" / "deeper" / "out") == f"{str(tmp_path / 'f')!r} is a file, so no folder can be " \
                                                             "made under it"
    assert unwritable(tmp_path / "f" / "r.json", folder=False).endswith("so no folder can be made under it")


def test_a_folder_this_user_cannot_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The permission is asked of the operating system (``os.access``); it is answered here as it would be for a
    user without write access to ``locked``, so the test runs as root too, which may write anywhere."""
    import autopeft.paths

    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(autopeft.paths.os, "access", lambda path, mode: Path(path) != locked and real(path, mode))
    assert unwritable(locked / "out") == f"this user cannot write in {str(locked)!r}"
    assert unwritable(locked) == "this user cannot write it"
    assert unwritable(tmp_path / "open") is None


def test_find_space_by_path_then_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from autopeft.paths import SHIPPED, find_space

    recipe_dir, work = tmp_path / "recipes", tmp_path / "work"
    recipe_dir.mkdir()
    work.mkdir()
    (recipe_dir / "mine.yaml").write_text("name: mine\n")
    (work / "here.yaml").write_text("name: here\n")
    monkeypatch.chdir(work)
    assert find_space("mine.yaml", base=recipe_dir) == str(recipe_dir / "mine.yaml")  # beside the recipe first
    assert find_space("here.yaml", base=recipe_dir) == "here.yaml"  # then the working directory
    shipped = str(SHIPPED / "spaces" / "minilm-layers.yaml")
    assert find_space("minilm-layers") == find_space("minilm-layers.yaml") == shipped  # then a listed name
    assert find_space("nope") == "nope" and find_space("nope", base=recipe_dir) == str(recipe_dir / "nope")
    assert find_space("sub/minilm-layers.yaml") == "sub/minilm-layers.yaml"  # a path is never taken for a name
