"""`python -m rnnmnist.worker`: one `--jobs` run, in a process of its own (see `rnnmnist.parallel`).

Reads one job (a `RunRequest` and whether to be quiet) as JSON on stdin. Writes JSON lines on
stdout: {"line": ...} for each line a run prints, then {"run": <the run's document>}, or
{"error": ...} with a non-zero exit code. The parent saves the run; a worker writes no results.
"""
from __future__ import annotations

import json
import sys

from . import stopping
from .parallel import Job


def main() -> int:
    from .idx import DataError
    from .reproduce import EXIT_DATA, EXIT_NAN, EXIT_INTERRUPTED, one_run
    from .runner import NonFiniteLoss

    def emit(**message) -> None:
        print(json.dumps(message), flush=True)

    job = Job.from_json(sys.stdin.readline())
    stop = stopping.Stop()
    with stopping.on_signals(stop):  # the parent forwards Ctrl-C and SIGTERM here
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
