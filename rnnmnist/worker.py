"""`python -m rnnmnist.worker`: one run in a process of its own, started by a cluster task (`rnnmnist.cluster`).

Reads one job (a `RunRequest` and whether to be quiet) as a JSON line on stdin, which its starter
keeps open; a later {"stop": reason} line asks the run to stop after its step, marked with that
reason (KeyboardInterrupt, SIGTERM, BrokenPipe: what stopped the client). Writes JSON lines on
stdout: {"line": ...} for each line a run prints, then {"run": <the run's document>}, or
{"error": ...} with a non-zero exit code. The starter saves nothing either: the run goes back to
the client, which saves it.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading

from . import stopping
from .cluster import Job


def _listen_to_starter(stop: stopping.Stop) -> None:
    """Stop requests from the task that started this process; once it is gone (its worker killed),
    nobody waits for the run."""
    for line in sys.stdin:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            stop.request(str(json.loads(line)["stop"]))
    os._exit(1)


def main() -> int:
    from .idx import DataError
    from .reproduce import EXIT_DATA, EXIT_NAN, EXIT_INTERRUPTED, one_run
    from .runner import NonFiniteLoss

    def emit(**message) -> None:
        print(json.dumps(message), flush=True)

    job = Job.from_json(sys.stdin.readline())
    stop = stopping.Stop()
    threading.Thread(target=_listen_to_starter, args=(stop,), daemon=True).start()
    with stopping.on_signals(stop):  # a signal sent to this process itself
        try:
            run = one_run(job.request, lambda line: emit(line=line), stop, quiet=job.quiet)
        except DataError as e:
            emit(error=str(e))
            return EXIT_DATA
        except NonFiniteLoss as e:
            emit(error=str(e))
            return EXIT_NAN
    emit(run=run.record)
    return EXIT_INTERRUPTED.get(run.interrupted, 1) if run.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
