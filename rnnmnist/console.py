"""One run as a command line shows it (its header, the tutorial's lines, the comparison) and the exit codes:
shared by `python -m rnnmnist.reproduce` and the `--jobs` worker process below it, which runs one run the same way.
"""
from __future__ import annotations

import signal
import sys
from typing import Callable

from . import stopping
from .plan import Plan

EXIT_DATA = 1      # MNIST missing or corrupt and not to be had
EXIT_NAN = 3       # the training loss became NaN or infinite
EXIT_WORKER = 4    # a run on --jobs or --scheduler failed (after its retry)
EXIT_CLUSTER = 5   # the Dask scheduler could not be reached, went away, or has workers with other software
BROKEN_PIPE = "BrokenPipe"  # stdout closed by its reader
EXIT_INTERRUPTED = {"KeyboardInterrupt": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM,
                    BROKEN_PIPE: 128 + signal.SIGPIPE}


def one_run(plan: Plan, say: Callable[[str], None], stop: stopping.Stop, quiet: bool = False, on_record=None):
    """The header, the tutorial's lines and the comparison of one run, all through `say`; the Run.
    `on_record`: as `api.execute`'s."""
    from . import api
    if not quiet:
        say(plan.header(api.version(plan)))
    # flushed line by line: a learner may be watching through a pipe (| tee log)
    run = api.execute(plan, echo=None if quiet else say, progress=None if quiet else sys.stderr, stop=stop,
                      on_record=on_record)
    for line in run.summary():
        say(line)
    return run
