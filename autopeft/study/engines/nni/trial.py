"""One NNI trial: ``python -m autopeft.study.engines.nni.trial`` in the experiment's code folder.

It reads ``spec.json`` (the run's recipe, resolved, with its space text; written by the engine), asks NNI for
its parameters (one autopeft job), loads the model and the task, and runs the job through the same worker
code as the local engines (:func:`autopeft.study.engines.base.run_job`). Each point of the validation curve
is reported as an intermediate result; the final metric dictionary holds ``default`` (the first objective),
every runner metric, the trainable-parameter count and, under ``autopeft``, the whole trial record the
study journals. A failed trial reports its record too (``default`` 0, ``failed`` 1) and exits with code 1,
so NNI shows it as failed while the study still journals the reason.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from pathlib import Path
from typing import Any

__all__ = ["SPEC", "final_metrics", "main", "read_spec", "run", "write_spec"]

#: The file in the code folder that says what the trials serve.
SPEC = "spec.json"


def write_spec(folder: Path, recipe_dict: dict[str, Any], objective: str) -> Path:
    """Write what a trial needs into the code ``folder``: the recipe (a data file copied beside it, so a
    remote machine gets it too) and the first objective's name."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    recipe = dict(recipe_dict)
    task = recipe.get("task")
    if isinstance(task, dict) and task.get("file"):
        source = Path(str(task["file"]))
        (folder / "data").mkdir(exist_ok=True)
        shutil.copy2(source, folder / "data" / source.name)
        recipe["task"] = {**task, "file": str(Path("data") / source.name)}
    model = str(recipe.get("model", ""))
    if model and Path(model).is_dir():
        recipe["model"] = str(Path(model).resolve())  # a local model folder: the same path on this machine
    path = folder / SPEC
    path.write_text(json.dumps({"recipe": recipe, "objective": objective}, indent=1, default=str) + "\n",
                    encoding="utf-8")
    return path


def read_spec(folder: Path) -> tuple[Any, str]:
    """The :class:`~autopeft.study.engines.base.WorkerSpec` and the first objective's name."""
    from autopeft.study.engines.base import WorkerSpec
    from autopeft.study.recipe import recipe_from_dict

    data = json.loads((folder / SPEC).read_text(encoding="utf-8"))
    recipe = recipe_from_dict(data["recipe"])
    return WorkerSpec(recipe, recipe.load_space()), str(data["objective"])


def final_metrics(result: Any, objective: str) -> dict[str, Any]:
    """The final metric dictionary NNI gets for ``result`` (see the module docstring)."""
    record = result.to_dict()
    out: dict[str, Any] = {"default": 0.0, "failed": 0 if result.ok else 1}
    if result.ok:
        for name, value in result.metrics.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                out[name] = float(value)
        if result.trainable_params is not None:
            out["trainable_params"] = int(result.trainable_params)
        value = out.get(objective)
        out["default"] = float(value) if isinstance(value, (int, float)) else 0.0
    out["autopeft"] = record
    return out


def main() -> int:
    import nni

    from autopeft.study.engines.base import Job, build_worker, failed, run_job
    from autopeft.trial import Fidelity

    params = nni.get_next_parameter()
    if not params:
        print("autopeft: NNI gave this trial no parameters", file=sys.stderr)
        return 1
    job = Job(int(params["autopeft_trial"]), params["config"], Fidelity(**params["fidelity"]),
              int(params["seed"]), in_space=bool(params["in_space"]), test=bool(params["test"]),
              save_to=params.get("save_to"),
              stop_below=tuple((float(f), float(b)) for f, b in params.get("stop_below") or ()))
    try:
        spec, objective = read_spec(Path.cwd())
        worker = build_worker(spec)
    except Exception as exc:  # the trial cannot start: its record says why, in one line
        text = str(exc) if getattr(exc, "__module__", "").startswith("autopeft") else (
            f"{type(exc).__name__}: {exc} ({traceback.extract_tb(exc.__traceback__)[-1].name})")
        result = failed(job, f"the NNI trial could not load its worker: {text}")
        nni.report_final_result(final_metrics(result, "score"))
        return 1

    def partial(fraction: float, score: float) -> None:
        if math.isfinite(score):
            nni.report_intermediate_result({"default": float(score), "fraction": float(fraction)})

    result = run_job(worker, job, spec, on_partial=partial)
    nni.report_final_result(final_metrics(result, objective))
    print(f"autopeft trial {job.number}: {result.status}" + (f" ({result.error})" if result.error else ""),
          file=sys.stderr)
    return 0 if result.ok else 1


def run() -> None:
    """The trial process: :func:`main`, then exit at once. The results went to NNI's manager synchronously (an
    HTTP request), so nothing is left to do but tearing torch down, which takes about a second of each trial
    before NNI sees it end and starts the next."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        code = main()
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
