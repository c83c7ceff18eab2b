"""`python -m rnnmnist.worker`: one run in a process of its own, started by a cluster task (`rnnmnist.cluster`).

Reads one job (a `RunRequest` and whether to be quiet) as a JSON line on stdin, which its starter
keeps open; a later {"stop": reason} line asks the run to stop after its step, marked with that
reason (KeyboardInterrupt, SIGTERM, BrokenPipe: what stopped the client). Writes JSON lines on
stdout: {"line": ...} for each line a run prints, {"points": [...], "steps_run": N, ...} for the
numbers it records, each before the line that prints them (the client keeps them: stopped at
once, it saves them as an interrupted run), then {"run": <the run's document>}, or {"error": ...}
with a non-zero exit code. The starter saves nothing either: the run goes back to
the client, which saves it.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time

from . import stopping
from .cluster import Job
from .plan import resolve
from .results import to_jsonable


def _listen_to_starter(stop: stopping.Stop) -> None:
    """Stop requests from the task that started this process; once it is gone (its worker killed),
    nobody waits for the run."""
    for line in sys.stdin:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            stop.request(str(json.loads(line)["stop"]))
    os._exit(1)


def main() -> int:
    from .idx import DataError
    from .console import EXIT_DATA, EXIT_INTERRUPTED, EXIT_NAN, one_run
    from .runner import NonFiniteLoss

    def emit(**message) -> None:
        print(json.dumps(message), flush=True)

    job = Job.from_json(sys.stdin.readline())
    plan = resolve(job.request)
    stop = stopping.Stop()
    threading.Thread(target=_listen_to_starter, args=(stop,), daemon=True).start()

    def on_record(points, steps_run: int, seconds: float) -> None:
        first = {} if on_record.sent else {"provenance": _provenance(plan)}
        on_record.sent = True
        emit(points=[to_jsonable(p) for p in points], steps_run=steps_run, train_time_s=seconds,
             wall_time_s=time.perf_counter() - started, **first)
    on_record.sent, started = False, time.perf_counter()
    with stopping.on_signals(stop):  # a signal sent to this process itself
        try:
            run = one_run(plan, lambda line: emit(line=line), stop, quiet=job.quiet, on_record=on_record)
        except stopping.StopNow as e:  # two signals before its first step: nothing to send
            return EXIT_INTERRUPTED.get(str(e), 1)
        except DataError as e:
            emit(error=str(e))
            return EXIT_DATA
        except NonFiniteLoss as e:
            emit(error=str(e))
            return EXIT_NAN
    emit(run=run.with_invoked_as(None).to_record())  # the client stamps what was typed: this process was not typed
    return EXIT_INTERRUPTED.get(run.interrupted, 1) if run.interrupted else 0


def _provenance(plan) -> dict:
    """Where the run trains, as its document would say (sent with its first numbers)."""
    from .results import provenance
    from .tfcompat import tf
    return provenance(tf.__version__, session_threads=plan.session_threads)


if __name__ == "__main__":
    sys.exit(main())
