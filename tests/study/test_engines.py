"""The engine contract on tiny models: in-process and a pool of 2 workers give the same records; a worker killed
with -9 costs only its trial; cancel; device plans; bad engine settings."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from autopeft.errors import EngineError
from autopeft.study.context import SearchContext, make_context
from autopeft.study.engines import Engine, Job, engine_names, make_engine
from autopeft.study.engines.pool import PoolEngine, plan_devices
from autopeft.study.recipe import load_recipe
from autopeft.trial import Fidelity

CONFIGS = [{"method": "head_only"}, {"method": "lora", "lora.ranks": {"encoder.0": 2, "encoder.1": 0, "encoder.2": 4},
                                      "lora.modules": "qv"},
           {"method": "ia3", "ia3.learning_rate": 0.01}, {"method": "lora", "lora.modules": "attention"}]


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, sentiment_csv: Path) -> SearchContext:
    from tests.study.conftest import write_recipe

    folder = tmp_path_factory.mktemp("engines")
    return make_context(load_recipe(write_recipe(folder, tiny_bert_dir, sentiment_csv)))


@pytest.fixture(scope="module")
def pool(ctx: SearchContext) -> Any:
    engine = ctx.engine(workers=2)
    yield engine
    engine.close()


def _jobs(steps: int = 4) -> list[Job]:
    return [Job(i + 1, config, Fidelity(steps=steps), seed=i) for i, config in enumerate(CONFIGS)]


def _drain(engine: Engine, n: int) -> dict[int, Any]:
    out = {}
    for _ in range(n):
        done = engine.wait()
        out[done.number] = done
    return out


def test_both_engines_keep_the_protocol_and_agree(ctx: SearchContext, pool: PoolEngine) -> None:
    assert set(engine_names()) >= {"inprocess", "pool"}
    inprocess = ctx.engine(workers=1)
    assert isinstance(inprocess, Engine) and isinstance(pool, Engine)
    assert (inprocess.name, inprocess.slots, pool.name, pool.slots) == ("inprocess", 1, "pool", 2)
    pool.wait_ready()  # both workers up before the jobs go out: on a loaded machine one could start so late that
    # the other served all four, and "both served trials" below would fail for the machine's load, not the pool
    for job in _jobs():
        inprocess.submit(job)
        pool.submit(job)
    here, there = _drain(inprocess, 4), _drain(pool, 4)
    inprocess.close()
    assert sorted(here) == sorted(there) == [1, 2, 3, 4]
    for n in here:
        a, b = here[n].result, there[n].result
        assert a.ok and b.ok, (a.error, b.error)
        assert (a.config, a.seed, a.fidelity, a.trainable_params) == (b.config, b.seed, b.fidelity, b.trainable_params)
        assert b.metrics["accuracy"] == pytest.approx(a.metrics["accuracy"], abs=1e-9)
    assert {d.where.split(" (")[0] for d in there.values()} == {"worker 0", "worker 1"}  # both served trials
    assert {w["threads"] for w in pool.workers} == {max(1, len(os.sched_getaffinity(0)) // 2)}
    cores = [set(w["cores"]) for w in pool.workers]
    assert not cores[0] & cores[1]  # each worker on cores of its own


def test_a_worker_killed_with_minus_9_costs_only_its_trial(pool: PoolEngine) -> None:
    long, short = _jobs(steps=4000)[0], _jobs()[2]
    pool.submit(long)
    deadline = time.time() + 60
    while not any(w["trial"] == long.number for w in pool.workers):  # dispatched to a ready worker
        assert time.time() < deadline
        pool.submit(Job(99, {"method": "head_only"}, Fidelity(steps=1), seed=0))  # drives the pool's messages
        assert pool.wait().number == 99
    victim = next(w for w in pool.workers if w["trial"] == long.number)
    time.sleep(1.0)  # mid-trial
    os.kill(victim["pid"], signal.SIGKILL)
    done = pool.wait()
    assert done.number == long.number and not done.result.ok
    assert "died while running trial 1" in (done.result.error or "") and "SIGKILL" in (done.result.error or "")
    assert done.result.config == long.config and done.result.seed == long.seed
    pool.submit(short)  # the replacement serves the next trial
    after = pool.wait()
    assert after.number == short.number and after.result.ok
    assert victim["pid"] not in {w["pid"] for w in pool.workers}


def test_a_worker_stopped_with_sigterm_runs_its_trial_again_once(pool: PoolEngine) -> None:
    """SIGTERM from outside (a scheduler stopping the process group) is not the trial's fault: the trial runs
    again on the new worker; stopped a second time, it fails like any trial whose worker died."""
    job = Job(7, CONFIGS[0], Fidelity(steps=1500), seed=0)  # a few seconds
    pool.submit(job)
    for attempt in range(2):
        deadline = time.time() + 60
        while not any(w["trial"] == job.number and w["ready"] for w in pool.workers):
            assert time.time() < deadline
            pool.submit(Job(99, {"method": "head_only"}, Fidelity(steps=1), seed=0))  # drives the messages
            assert pool.wait().number == 99
        victim = next(w for w in pool.workers if w["trial"] == job.number)
        time.sleep(0.3)  # mid-trial
        os.kill(victim["pid"], signal.SIGTERM)
        if attempt == 0:  # re-queued, not failed: the next to finish is a filler on the other worker, while
            pool.submit(Job(98, {"method": "head_only"}, Fidelity(steps=1), seed=0))  # the new worker starts
            assert pool.wait().number == 98
    done = pool.wait()
    assert done.number == job.number and not done.result.ok and "SIGTERM" in (done.result.error or "")


def test_cancel_a_queued_and_a_running_trial(pool: PoolEngine) -> None:
    jobs = _jobs(steps=4000)[:2] + _jobs()[2:3]
    for job in jobs:
        pool.submit(job)
    pool.cancel(jobs[0].number)
    pool.cancel(jobs[1].number)
    done = pool.wait()
    assert done.number == jobs[2].number and done.result.ok
    with pytest.raises(EngineError, match="no job submitted"):
        pool.wait()


def test_device_plans() -> None:
    cpu = plan_devices("auto", 2, gpu_count=0, cores=2)
    assert (cpu.gpus, cpu.threads, cpu.notes, cpu.cores) == ((None, None), 1, (), ((0,), (1,)))
    assert plan_devices("auto", 2, gpu_count=0, cores=5).cores == ((0, 1), (2, 3))  # one core left over
    assert plan_devices("cpu", 3, gpu_count=4, cores=16).threads == 5
    crowded = plan_devices("auto", 4, 2, gpu_count=0, cores=2)
    assert "ignored" in crowded.notes[0] and "compete" in crowded.notes[1] and crowded.cores is None
    gpus = plan_devices("auto", 5, gpu_count=2, cores=16)
    assert gpus.gpus == ("0", "1", "0", "1", "0") and gpus.threads == 3
    assert plan_devices("cuda", 4, 4, gpu_count=1, cores=16).gpus == ("0",) * 4
    with pytest.raises(EngineError, match=r"5 workers do not fit on 2 GPU\(s\) with at most 2 per GPU"):
        plan_devices("auto", 5, 2, gpu_count=2, cores=16)
    with pytest.raises(EngineError, match="'cuda' but no CUDA device"):
        plan_devices("cuda", 1, gpu_count=0, cores=2)
    with pytest.raises(EngineError, match="workers must be an integer >= 1, got 0"):
        plan_devices("cpu", 0)


def test_visible_devices_are_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert plan_devices("auto", 4, gpu_count=2, cores=8).gpus == ("3", "5", "3", "5")


def test_workers_per_gpu_with_one_worker_in_this_process_is_said_to_do_nothing(ctx: SearchContext) -> None:
    import io

    log = io.StringIO()
    make_engine("inprocess", ctx.worker_spec, workers_per_gpu=4, log=log).close()
    assert log.getvalue() == ("  --workers-per-gpu 4 ignored: one trial at a time runs in this process (--workers N > "
                              "1 shares GPUs among N worker processes)\n")
    log = io.StringIO()
    make_engine("inprocess", ctx.worker_spec, log=log).close()
    assert log.getvalue() == ""


def test_bad_engine_settings_are_one_line_errors(ctx: SearchContext) -> None:
    with pytest.raises(EngineError, match="unknown engine 'cloud'; allowed: inprocess, nni, pool"):
        make_engine("cloud", ctx.worker_spec)
    with pytest.raises(EngineError, match="engine 'inprocess' runs one trial at a time, got --workers 2"):
        make_engine("inprocess", ctx.worker_spec, workers=2)
    with pytest.raises(EngineError, match="--workers must be an integer >= 1, got 0"):
        make_engine(None, ctx.worker_spec, workers=0)


def test_a_worker_that_cannot_start_stops_the_engine(ctx: SearchContext) -> None:
    from dataclasses import replace

    spec = ctx.worker_spec
    broken = replace(spec, recipe=replace(spec.recipe, model="/nonexistent/model"))
    with pytest.raises(EngineError, match=r"a worker could not start: .*nonexistent"):
        engine = PoolEngine(broken, workers=1)
        try:
            engine.submit(_jobs()[0])
            engine.wait()
        finally:
            engine.close()
