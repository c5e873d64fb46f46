"""The cases of ``malformed.py``: each a malformed input (a recipe, a space, a data file, a model folder, a flag)
with the command that meets it and what its one-line error must name. ``malformed.py`` runs them through the real
command line, and ``tests/test_malformed_inputs.py`` in-process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONFIG = '{"method": "ia3"}'
TRIAL = ["trial", "--recipe", "tiny.yaml", "--config", CONFIG, "--steps", "1"]


@dataclass(frozen=True)
class Case:
    id: str
    kind: str                                   # recipe, space, config, pick, data, model, cli
    what: str                                   # the malformed input, in words
    argv: list[str]                             # run in the case folder; RUN is a finished run, OUT a new folder
    files: tuple[tuple[str, bytes], ...] = ()   # written into the case folder first
    names: str = ""                             # what the error line must name (a file, field or value)
    accept: bool = False                        # not an error: it must run (exit 0, no traceback)


def recipe_text(**changes: str | None) -> str:
    """The valid tiny recipe (``tiny.yaml`` in the base folder) with top-level lines replaced or removed."""
    lines = (Path("tiny.yaml").read_text() if Path("tiny.yaml").exists() else "").splitlines()
    out = []
    for line in lines:
        key = line.split(":", 1)[0]
        if key in changes:
            if changes[key] is not None:
                out.append(f"{key}: {changes[key]}")
            continue
        out.append(line)
    extra = [f"{k}: {v}" for k, v in changes.items()
             if v is not None and not any(ln.startswith(f"{k}:") for ln in lines)]
    return "\n".join(out + extra) + "\n"


def _recipe(name: str, text: str | bytes) -> tuple[tuple[str, bytes], ...]:
    return ((name, text if isinstance(text, bytes) else text.encode()),)


SEARCH = ["search", "bad.yaml", "--out", "OUT", "--budget", "1"]
SPACE_HEAD = "name: bad\ndimensions:\n"


def space_case(id: str, what: str, body: str, names: str) -> Case:
    return Case(id, "space", what, ["spaces", "check", "space-bad.yaml", "--model", "MODEL"],
                (("space-bad.yaml", (SPACE_HEAD + body).encode()),), names)


def data_case(id: str, what: str, name: str, content: bytes, names: str, *, search: bool = False,
              label: str = "label", accept: bool = False, data: str | None = None) -> Case:
    flags = ["--data", data or name, "--text-fields", "text", "--label-field", label]
    argv = (["search", "tiny.yaml", "--out", "OUT", "--budget", "1", *flags] if search else [*TRIAL, *flags])
    return Case(id, "data", what, argv, ((name, content),), names, accept)


def _csv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


GOOD_ROWS = [f"the movie was {'good' if i % 2 else 'bad'},{'positive' if i % 2 else 'negative'}" for i in range(40)]


#: a case file of one of these names makes its folder a copy of the tiny BERT: without the weights whose names start
#: with the file's content, or without the files it names
DROP = ".drop-weights"
DROP_FILES = ".drop-files"


def model_copy(folder: Path, base: Path, directive: str, content: str) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(base / "tiny-bert", folder, dirs_exist_ok=True)
    if directive == DROP_FILES:
        for name in content.split():
            (folder / name).unlink()
        return
    state = load_file(str(folder / "model.safetensors"))
    save_file({k: v for k, v in state.items() if not k.startswith(content)}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})


def cases() -> list[Case]:
    """Every malformed input (recipe texts are made from the base recipe when the case runs)."""
    return [
        # ---- recipes ------------------------------------------------------------------------------------
        Case("recipe-missing-model", "recipe", "no `model:`", SEARCH, _recipe("bad.yaml", "@model=None"), "model"),
        Case("recipe-missing-task", "recipe", "no `task:`", SEARCH, _recipe("bad.yaml", "@task=None"), "task"),
        Case("recipe-unknown-key", "recipe", "an unknown top-level key `modle:`", SEARCH,
             _recipe("bad.yaml", "@modle=tiny-bert"), "modle"),
        Case("recipe-bad-yaml", "recipe", "YAML that does not parse (`name: [unclosed`)", SEARCH,
             _recipe("bad.yaml", "name: [unclosed\nmodel: x\n"), "bad.yaml"),
        Case("recipe-not-mapping", "recipe", "a YAML list instead of a mapping", SEARCH,
             _recipe("bad.yaml", "- a\n- b\n"), "bad.yaml"),
        Case("recipe-empty", "recipe", "an empty file", SEARCH, _recipe("bad.yaml", ""), "bad.yaml"),
        Case("recipe-missing-file", "recipe", "a recipe path that does not exist",
             ["search", "nope.yaml", "--out", "OUT"], (), "nope.yaml"),
        Case("recipe-non-utf8", "recipe", "bytes that are not UTF-8", SEARCH,
             _recipe("bad.yaml", b"name: \xff\xfe\x00bad\n"), "bad.yaml"),
        Case("recipe-steps-type", "recipe", "`fidelity: {steps: many}`", SEARCH,
             _recipe("bad.yaml", "@fidelity={steps: many}"), "steps"),
        Case("recipe-steps-negative", "recipe", "`fidelity: {steps: -5}`", SEARCH,
             _recipe("bad.yaml", "@fidelity={steps: -5}"), "steps"),
        Case("recipe-negative-budget", "recipe", "`search.budget: -3`", SEARCH[:-2],
             _recipe("bad.yaml", "@search={budget: -3, controller: random}"), "budget"),
        Case("recipe-bad-objective", "recipe", "`objectives: [accuracy, speed]`", SEARCH,
             _recipe("bad.yaml", "@search={budget: 2, controller: random, objectives: [accuracy, speed]}"), "speed"),
        Case("recipe-bad-controller", "recipe", "`controller: genetic`", SEARCH,
             _recipe("bad.yaml", "@search={budget: 2, controller: genetic}"), "genetic"),
        Case("recipe-bad-engine", "recipe", "`search.engine: cloud`", SEARCH,
             _recipe("bad.yaml", "@search={budget: 2, controller: random, engine: cloud}"), "cloud"),
        Case("recipe-space-missing", "recipe", "`space: nope.yaml` (no such file)", SEARCH,
             _recipe("bad.yaml", "@space=nope.yaml"), "nope.yaml"),
        Case("recipe-batch-size-zero", "recipe", "`training: {batch_size: 0}`", SEARCH,
             _recipe("bad.yaml", "@training={batch_size: 0}"), "batch_size"),
        Case("recipe-data-string", "recipe", "`data: lots` (a string, not a mapping)", SEARCH,
             _recipe("bad.yaml", "@data=lots"), "data"),
        Case("recipe-model-missing-folder", "recipe", "`model: ./no-such-model`", SEARCH,
             _recipe("bad.yaml", "@model=./no-such-model"), "no-such-model"),
        # ---- spaces -------------------------------------------------------------------------------------
        space_case("space-unknown-method", "a method choice `magic`",
                   "  - {name: method, type: categorical, choices: [lora, magic]}\n", "magic"),
        space_case("space-rank-not-int", "per-layer rank choices `[two]`",
                   "  - {name: method, type: categorical, choices: [lora]}\n"
                   "  - {name: lora.ranks, type: per_layer, layers: encoder, choices: [two], when: {method: lora}}\n",
                   "two"),
        space_case("space-low-above-high", "a float with low 0.1 > high 0.01",
                   "  - {name: method, type: categorical, choices: [ia3]}\n"
                   "  - {name: ia3.learning_rate, type: float, low: 0.1, high: 0.01, when: {method: ia3}}\n", "low"),
        space_case("space-unknown-type", "a dimension of type `gaussian`",
                   "  - {name: method, type: gaussian, choices: [ia3]}\n", "gaussian"),
        space_case("space-selector-out-of-range", "layers `encoder.blocks[9:]` on a 3-block model",
                   "  - {name: method, type: categorical, choices: [lora]}\n"
                   "  - {name: lora.ranks, type: per_layer, layers: 'encoder.blocks[9:]', choices: [0, 2], "
                   "when: {method: lora}}\n", "blocks[9:]"),
        space_case("space-no-dimensions", "`dimensions: 5`", "", "dimensions"),
        # ---- --config for autopeft trial -------------------------------------------------------------------
        Case("config-not-json", "config", "`--config '{method: lora'`",
             ["trial", "--recipe", "tiny.yaml", "--config", "{method: lora", "--steps", "1"], (), "--config"),
        Case("config-not-object", "config", "`--config '[1, 2]'`",
             ["trial", "--recipe", "tiny.yaml", "--config", "[1, 2]", "--steps", "1"], (), "--config"),
        Case("config-unknown-method", "config", "`{\"method\": \"magic\"}`",
             ["trial", "--recipe", "tiny.yaml", "--config", '{"method": "magic"}', "--steps", "1"], (), "magic"),
        Case("config-negative-lr", "config", "`{\"method\": \"ia3\", \"ia3.learning_rate\": -1}`",
             ["trial", "--recipe", "tiny.yaml", "--config", '{"method": "ia3", "ia3.learning_rate": -1}', "--steps",
              "1"], (), "-1"),
        Case("config-unknown-option", "config", "`{\"method\": \"ia3\", \"ia3.rank\": 4}`",
             ["trial", "--recipe", "tiny.yaml", "--config", '{"method": "ia3", "ia3.rank": 4}', "--steps", "1"], (),
             "ia3.rank"),
        Case("config-missing-json-file", "config", "`--config nope.json` (no such file)",
             ["trial", "--recipe", "tiny.yaml", "--config", "nope.json", "--steps", "1"], (), "nope.json"),
        Case("trial-steps-zero", "cli", "`trial --steps 0`",
             ["trial", "--recipe", "tiny.yaml", "--config", CONFIG, "--steps", "0"], (), "steps"),
        Case("trial-fraction-two", "cli", "`trial --train-fraction 2`",
             ["trial", "--recipe", "tiny.yaml", "--config", CONFIG, "--train-fraction", "2"], (), "2"),
        # ---- --pick ---------------------------------------------------------------------------------------
        Case("pick-unknown", "pick", "`finalize --pick best-ish`", ["finalize", "RUN", "--pick", "best-ish"], (),
             "best-ish"),
        Case("pick-missing-trial", "pick", "`finalize --pick trial:99` (no such trial)",
             ["finalize", "RUN", "--pick", "trial:99"], (), "99"),
        Case("pick-max-params-nan", "pick", "`export --pick max-params:abc`",
             ["export", "RUN", "--pick", "max-params:abc", "--out", "OUT"], (), "abc"),
        Case("pick-max-params-too-small", "pick", "`finalize --pick max-params:1` (no trial that small)",
             ["finalize", "RUN", "--pick", "max-params:1"], (), "max-params"),
        # ---- data files ----------------------------------------------------------------------------------
        data_case("data-missing-column", "a CSV without the label column", "d.csv", _csv(["text", "a", "b"]),
                  "label"),
        data_case("data-empty-file", "an empty CSV (0 bytes)", "d.csv", b"", "d.csv"),
        data_case("data-header-only", "a CSV with a header and no rows", "d.csv", _csv(["text,label"]), "d.csv"),
        data_case("data-one-class", "a label column with one class", "d.csv",
                  _csv(["text,label", *[f"row {i},positive" for i in range(40)]]), "label"),
        data_case("data-non-utf8", "a CSV with bytes that are not UTF-8", "d.csv",
                  b"text,label\n" + b"\xff\xfe bad,positive\n" * 20 + b"good,negative\n" * 20, "d.csv"),
        data_case("data-huge-field", "a CSV with a 2 MB text field (valid: truncated to max_length, must run)",
                  "d.csv", _csv(["text,label", "x" * 2_000_000 + ",positive", *GOOD_ROWS]), "", accept=True),
        data_case("data-bad-jsonl", "a JSONL file with a line that is not JSON", "d.jsonl",
                  b'{"text": "good", "label": "positive"}\n{not json\n', "d.jsonl"),
        data_case("data-missing-file", "`--data nope.csv` (no such file)", "unused.csv", b"", "nope.csv",
                  data="nope.csv"),
        data_case("data-unknown-suffix", "`--data d.xlsx` (not a known format)", "d.xlsx", b"x", "d.xlsx"),
        data_case("search-data-missing-column", "`search --data` with a CSV without the label column", "d.csv",
                  _csv(["text", "a", "b"]), "label", search=True),
        data_case("search-data-wrong-label-field", "`search --data d.csv --label-field y` (no column y)", "d.csv",
                  _csv(["text,label", *GOOD_ROWS]), "'y'", search=True, label="y"),
        data_case("data-semicolon-csv", "a spreadsheet's `;`-separated CSV (read as one column)", "d.csv",
                  _csv([row.replace(",", ";") for row in ["text,label", *GOOD_ROWS]]), "';'-separated", search=True),
        data_case("data-nested-text", "a JSONL whose text field holds a mapping in one row", "d.jsonl",
                  b'{"text": "good", "label": "positive"}\n{"text": {"en": "bad"}, "label": "negative"}\n' * 20,
                  "row 2", search=True),
        # ---- models -----------------------------------------------------------------------------------
        Case("model-lacks-a-layer", "model", "`search --model` of a checkpoint that lacks one layer's weights",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--model", "lacking"],
             ((f"lacking/{DROP}", b"encoder.layer.1.output.dense."),), "bert.encoder.layer.1.output.dense"),
        Case("model-no-tokenizer", "model", "`search --model` of a folder saved without its tokenizer",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--model", "weights-only"],
             ((f"weights-only/{DROP_FILES}", b"tokenizer.json tokenizer_config.json"),), "no tokenizer files"),
        # ---- command-line arguments --------------------------------------------------------------------
        Case("cli-unknown-argument", "cli", "`search --recipe tiny.yaml` (the recipe is positional)",
             ["search", "--recipe", "tiny.yaml", "--out", "OUT"], (), "autopeft search --help"),
        Case("cli-workers-0", "cli", "`search --workers 0`",
             ["search", "tiny.yaml", "--out", "OUT", "--workers", "0"], (), "--workers"),
        Case("cli-workers-two", "cli", "`search --workers two`",
             ["search", "tiny.yaml", "--out", "OUT", "--workers", "two"], (), "two"),
        Case("cli-engine-cloud", "cli", "`search --engine cloud`",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--engine", "cloud"], (), "cloud"),
        Case("cli-inprocess-workers-2", "cli", "`search --engine inprocess --workers 2`",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--engine", "inprocess", "--workers", "2"], (),
             "inprocess"),
        Case("cli-dry-run-workers-0", "cli", "`search --dry-run --workers 0`",
             ["search", "tiny.yaml", "--dry-run", "--workers", "0"], (), "--workers"),
        Case("cli-budget-0", "cli", "`search --budget 0`", ["search", "tiny.yaml", "--out", "OUT", "--budget", "0"],
             (), "--budget"),
        Case("cli-controller-unknown", "cli", "`search --controller genetic`",
             ["search", "tiny.yaml", "--out", "OUT", "--budget", "1", "--controller", "genetic"], (), "genetic"),
        Case("cli-finalize-workers-0", "cli", "`finalize --workers 0`", ["finalize", "RUN", "--workers", "0"], (),
             "--workers"),
        Case("cli-finalize-seeds-0", "cli", "`finalize --seeds 0`", ["finalize", "RUN", "--seeds", "0"], (),
             "--seeds"),
        Case("cli-resume-not-a-run", "cli", "`search --resume` of an empty folder",
             ["search", "--resume", "empty-folder"], (("empty-folder/.keep", b""),), "empty-folder"),
        Case("cli-resume-a-file", "cli", "`search --resume` of a file", ["search", "--resume", "tiny.yaml"], (),
             "tiny.yaml"),
        Case("cli-status-missing", "cli", "`status` of a folder that does not exist", ["status", "no-run"], (),
             "no-run"),
        Case("cli-pareto-format", "cli", "`pareto --format xml`", ["pareto", "RUN", "--format", "xml"], (), "xml"),
        Case("cli-out-is-a-file", "cli", "`search --out` naming an existing file",
             ["search", "tiny.yaml", "--out", "tiny.yaml", "--budget", "1"], (), "tiny.yaml"),
        Case("cli-moved-data-other-file", "cli", "`search --resume --data` of another file than the run's",
             ["search", "--resume", "RUN", "--data", "other.csv"],
             (("other.csv", b"text,label\nthe movie was good,positive\n"),), "other.csv"),
        Case("cli-moved-model-other-model", "cli", "`finalize --model` of another model than the run's",
             ["finalize", "RUN", "--model", "other-model"], (("other-model/config.json", b'{"model_type": "bert"}'),),
             "other-model"),
        Case("cli-moved-model-missing", "cli", "`export --model` of a folder that does not exist",
             ["export", "RUN", "--out", "OUT", "--model", "no-such-folder"], (), "no-such-folder"),
    ]
