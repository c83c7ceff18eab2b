"""`python -m rnnmnist.worker`: one run in a process of its own, started by a cluster task (`rnnmnist.task`).

Reads one `Job` as a JSON line on stdin, which its starter keeps open; a later `StopRun` line asks
the run to stop after its step, marked with that reason (KeyboardInterrupt, SIGTERM, BrokenPipe:
what stopped the client). Writes JSON lines on stdout (`rnnmnist.messages`): a `Line` for each line
the run prints, `Points` for the numbers it records, each before the line that prints them (the
client keeps them: stopped at once, it saves them as an interrupted run), then its `Document`, or a
`Failure` with a non-zero exit code. Neither this process nor its starter saves anything: the run
goes back to the client, which saves it. A Keras run here never imports rnnmnist.tfcompat, and its
backend is set before Keras's first import (rnnmnist.kerasrunner.prepare). A `bare` job (a Python
`train` handed to a process of its own, rnnmnist.ownprocess) prints only the tutorial's lines.
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
    from .console import EXIT_DATA, EXIT_INTERRUPTED, EXIT_NAN
    from .loop import NonFiniteLoss

    job = Job.from_json(sys.stdin.readline())
    tflogs.show(job.verbose)  # before TensorFlow's import
    plan = resolve(job.request, job.inter_op_threads)  # the threads: its share of the worker's cores
    if plan.impl == "keras":
        from . import kerasrunner
        kerasrunner.prepare(plan.backend)  # before Keras's first import
    stop = stopping.Stop()
    threading.Thread(target=_listen_to_starter, args=(stop,), daemon=True).start()

    with stopping.on_signals(stop):  # a signal sent to this process itself
        try:
            run = _run(job, plan, stop)
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


def _run(job: Job, plan, stop: stopping.Stop):
    """The run, with its header and comparison as the command line shows them, or bare (its lines alone)."""
    from .console import one_run
    say = lambda line: emit(Line(line))  # noqa: E731
    if job.bare:
        from . import api
        return api.execute(plan, echo=None if job.quiet else say, progress=None if job.quiet else sys.stderr,
                           stop=stop, on_record=_Sending(plan))
    return one_run(plan, say, stop, quiet=job.quiet, on_record=_Sending(plan))


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
        from .api import provenance
        return provenance(self.plan)


if __name__ == "__main__":
    sys.exit(main())
