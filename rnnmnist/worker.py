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

from . import stopping, tflogs
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

    job = Job.from_json(sys.stdin.readline())
    tflogs.show(job.verbose)  # before TensorFlow's import
    plan = resolve(job.request, job.inter_op_threads)  # the threads: its share of the worker's cores
    stop = stopping.Stop()
    threading.Thread(target=_listen_to_starter, args=(stop,), daemon=True).start()

    with stopping.on_signals(stop):  # a signal sent to this process itself
        try:
            run = one_run(plan, lambda line: emit(Line(line)), stop, quiet=job.quiet, on_record=_Sending(plan))
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


def emit(message) -> None:
    print(message.to_json(), flush=True)


class _Sending:
    """`on_record`: each number the run records goes out as `Points`, the first with where the run trains."""

    def __init__(self, plan):
        self.plan, self.started, self.sent = plan, time.perf_counter(), False

    def __call__(self, points, steps_run: int, seconds: float) -> None:
        emit(Points(tuple(to_jsonable(p) for p in points), steps_run, seconds, time.perf_counter() - self.started,
                    None if self.sent else self._provenance()))
        self.sent = True

    def _provenance(self) -> dict:
        """Where the run trains, as its document will say."""
        from .results import provenance
        from .tfcompat import tf
        return provenance(tf.__version__, session_threads=self.plan.session_threads)


if __name__ == "__main__":
    sys.exit(main())
