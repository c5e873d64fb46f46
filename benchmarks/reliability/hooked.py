"""Run the real ``autopeft`` command line with phase markers, so a soak can SIGKILL it inside a given phase.

    python benchmarks/reliability/hooked.py EVENTS_FILE PAUSE_S -- search RECIPE --out RUN

Before calling :func:`autopeft.cli.main.main` unchanged, it wraps three places and, on entering each, appends
one line to ``EVENTS_FILE`` (``train``, ``score``, ``journal-<op>``) and then sleeps ``PAUSE_S`` seconds, so a
kill sent on reading the line lands inside that phase:

* ``train``: the runner's training loop is about to start (``autopeft.runner.worker.train``);
* ``score``: the runner is about to score a split (``Worker.evaluate``);
* ``journal-<op>``: a journal transaction (``add_trial``, ``start``, ``finish``, ``requeue_interrupted``,
  ``set_meta``) has run its statements and is about to COMMIT; the kill lands inside the open transaction.

Nothing else changes: the search, the engine and the journal are the real ones.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def main(argv: list[str]) -> int:
    events_path, pause = argv[0], float(argv[1])
    cli_args = argv[argv.index("--") + 1:]
    events = open(events_path, "a", buffering=1)  # noqa: SIM115 - the process's life

    def mark(name: str) -> None:
        events.write(f"{time.time():.4f} {os.getpid()} {name}\n")
        events.flush()
        time.sleep(pause)

    import autopeft.study.journal as journal_mod

    current = {"op": "other"}

    @contextmanager
    def transaction(conn: Any) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            mark(f"journal-{current['op']}")  # the statements ran; the kill lands before the COMMIT
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    journal_mod._transaction = transaction  # type: ignore[assignment]

    def tagged(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            before, current["op"] = current["op"], name
            try:
                return fn(*args, **kwargs)
            finally:
                current["op"] = before
        return wrapper

    for name in ("add_trial", "start", "finish", "requeue_interrupted", "set_meta"):
        setattr(journal_mod.Journal, name, tagged(name, getattr(journal_mod.Journal, name)))

    import autopeft.runner.worker as worker_mod

    train = worker_mod.train
    init = worker_mod.Worker.__init__

    def hooked_train(*args: Any, **kwargs: Any) -> Any:
        mark("train")
        return train(*args, **kwargs)

    def hooked_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        evaluate = self.evaluate  # an instance attribute: the evaluator for the model and task kinds

        def hooked_evaluate(*a: Any, **k: Any) -> Any:
            mark("score")
            return evaluate(*a, **k)

        self.evaluate = hooked_evaluate

    worker_mod.train = hooked_train  # type: ignore[assignment]
    worker_mod.Worker.__init__ = hooked_init  # type: ignore[method-assign]

    from autopeft.cli.main import main as cli_main

    return cli_main(cli_args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
