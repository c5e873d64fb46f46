"""The committed per-class tables of the default runs (`python reports/per_class.py`): the retrained seeds match
the committed journals, the three files agree, and the README quotes them."""

from __future__ import annotations

import json
from pathlib import Path

from autopeft.report.cells import csv_text

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "reports" / "minilm-default-budget50"


def _data() -> dict[str, list[dict[str, object]]]:
    return json.loads((FOLDER / "per-class.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_every_seed_predicts_as_the_committed_one() -> None:
    checks = _data()["reproduced"]
    assert len(checks) == 9
    assert all(c["prediction_metrics_difference"] == 0 for c in checks)
    assert all(c["test_accuracy_again"] == c["test_accuracy_committed"] for c in checks)


def test_the_files_agree_and_the_readme_quotes_them() -> None:
    rows = _data()["per_class"]
    with open(FOLDER / "per-class.csv", encoding="utf-8", newline="") as fh:  # csv's own line ends, as written
        assert fh.read() == csv_text(rows)  # type: ignore[arg-type]
    md = (FOLDER / "per-class.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    knee = {r["class"]: r for r in rows if r["run"] == "default-budget50" and r["trial"] == 45}
    best = {r["class"]: r for r in rows if r["run"] == "default-budget50" and r["trial"] == 11}
    assert knee["positive"]["recall_by_seed"] == "0.000 / 0.579 / 0.546" and "0.000 / 0.579 / 0.546" in md
    assert [(r["trial"], r["class"], r["lost_on_seeds"]) for r in rows if r["lost_on_seeds"]] == [(45, "positive", [0])]
    assert "Seed(s) 0 lost positive" in md
    assert f"{knee['positive']['f1_mean']:.3f} ± {knee['positive']['f1_std']:.3f}" == "0.409 ± 0.355"
    assert "F1 is 0.409 ± 0.355" in readme and "positive recall 0.617 / 0.579 / 0.683" in " ".join(readme.split())
    assert best["positive"]["recall_by_seed"] == "0.617 / 0.579 / 0.683"
    assert f"{knee['negative']['f1_mean']:.3f}" == "0.722" and f"{knee['neutral']['f1_mean']:.3f}" == "0.668"


def test_the_committed_report_page_carries_the_same_per_class_tables() -> None:
    """The page and its journals were rebuilt from the scratch journals the script checked: its per-class CSVs are
    the script's rows, and the page names the lost class."""
    import csv

    rows = _data()["per_class"]
    for run in ("default-budget50", "default-bbc-news-budget50"):
        with open(FOLDER / f"{run}-per-class.csv", encoding="utf-8", newline="") as fh:
            page = list(csv.DictReader(fh))
        mine = [r for r in rows if r["run"] == run]
        assert [(int(p["trial"]), p["class"]) for p in page] == [(r["trial"], r["class"]) for r in mine]
        for p, r in zip(page, mine, strict=True):
            for key in ("precision_mean", "recall_mean", "f1_mean", "f1_std"):
                assert abs(float(p[key]) - float(r[key])) < 1e-12, (run, p["class"], key)  # type: ignore[arg-type]
    page_text = (FOLDER / "report.md").read_text(encoding="utf-8")
    assert "Trial 45 lost positive on seed(s) 0: none of its test examples was predicted as positive." in page_text
    assert "no per-class table" not in page_text
