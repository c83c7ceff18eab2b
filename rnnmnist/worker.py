"""`python -m rnnmnist.worker`: one run in a process of its own, started by a cluster task (`rnnmnist.task`).

Reads one `Job` as a JSON line on stdin, which its starter keeps open; a later `StopRun` line asks
the run to stop after its step, marked with that reason (KeyboardInterrupt, SIGTERM, BrokenPipe:
what stopped the client). Writes JSON lines on stdout (`rnnmnist.messages`): a `Line` for each line
the run prints, `Points` for the numbers it records, each before the line that prints them (the
client keeps them: stopped at once, it saves them as an interrupted run), then its `Document`, or a
`Failure` with a non-zero exit code. Neither this process nor its starter saves anything: the run
goes back to the client, which saves it.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

from . import stopping
from .messages import Document, Failure, Job, Line, Points, StopRun
from .plan import resolve
from .results import to_jsonable


def _listen_to_starter(stop: stopping.Stop) -> None:
    """Stop requests from the task that started this process; once it is gone (its worker killed),
    nobody waits for the run."""
    for line in sys.stdin:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            stop.request(StopRun.from_json(line).reason)
    os._exit(1)


def main() -> int:
    from .idx import DataError
    from .console import EXIT_DATA, EXIT_INTERRUPTED, EXIT_NAN, one_run
    from .runner import NonFiniteLoss

    def emit(message) -> None:
        print(message.to_json(), flush=True)

    job = Job.from_json(sys.stdin.readline())
    plan = resolve(job.request, job.inter_op_threads)  # the threads: its share of the worker's cores
    stop = stopping.Stop()
    threading.Thread(target=_listen_to_starter, args=(stop,), daemon=True).start()

    def on_record(points, steps_run: int, seconds: float) -> None:
        first = None if on_record.sent else _provenance(plan)
        on_record.sent = True
        emit(Points(tuple(to_jsonable(p) for p in points), steps_run, seconds, time.perf_counter() - started, first))
    on_record.sent, started = False, time.perf_counter()
    with stopping.on_signals(stop):  # a signal sent to this process itself
        try:
            run = one_run(plan, lambda line: emit(Line(line)), stop, quiet=job.quiet, on_record=on_record)
        except stopping.StopNow as e:  # two signals before its first step: nothing to send
            return EXIT_INTERRUPTED.get(str(e), 1)
        except DataError as e:
            emit(Failure(str(e)))
            return EXIT_DATA
        except NonFiniteLoss as e:
            emit(Failure(str(e)))
            return EXIT_NAN
    emit(Document(run.with_invoked_as(None).to_record()))  # the client stamps what was typed: this process was not typed
    return EXIT_INTERRUPTED.get(run.interrupted, 1) if run.interrupted else 0


def _provenance(plan) -> dict:
    """Where the run trains, as its document would say (sent with its first numbers)."""
    from .results import provenance
    from .tfcompat import tf
    return provenance(tf.__version__, session_threads=plan.session_threads)


if __name__ == "__main__":
    sys.exit(main())
