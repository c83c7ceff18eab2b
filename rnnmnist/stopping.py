"""Ctrl-C and SIGTERM (or a closed stdout) as a request that the training loop honours between steps.

An exception raised inside a signal handler surfaces wherever Python happens to be, including inside
TensorFlow's Session.run, which re-wraps it: CI once turned SIGTERM into "TypeError: Cannot interpret
feed_dict key as Tensor: SIGTERM" and a traceback. So the handler only records the request. A second
signal stops the process at once, as it would without the handler (results are written atomically,
so that loses nothing already on disk).

A request belongs to one `Stop`, made for one run (or one command line's runs), never to the
process: in a long-lived Jupyter kernel an interrupt stops the run in progress, and the next run
starts with a `Stop` of its own. Only the command line installs handlers (`on_signals`), and it
puts the previous ones back when it is done.
"""
from __future__ import annotations

import contextlib
import os
import signal
from typing import Iterator

# What the run is marked as interrupted by; KeyboardInterrupt is what Ctrl-C is called in Python.
NAMES = {signal.SIGINT: "KeyboardInterrupt", signal.SIGTERM: "SIGTERM"}


class Interrupted(Exception):
    """A run stopped on request; the message names what asked (KeyboardInterrupt, SIGTERM)."""


class Stop:
    """A stop request for the runs it is handed to: checked before each training step."""

    def __init__(self) -> None:
        self.requested: str | None = None

    def request(self, name: str) -> None:
        """Ask the run to stop after the step in progress; `name` says why (the first request counts)."""
        if self.requested is None:
            self.requested = name

    def check(self) -> None:
        """Raise Interrupted if a stop was requested."""
        if self.requested is not None:
            raise Interrupted(self.requested)


@contextlib.contextmanager
def on_signals(stop: Stop) -> Iterator[Stop]:
    """Inside: Ctrl-C and SIGTERM ask `stop` (a second one ends the process at once). After: as before."""
    def handle(signum: int, frame) -> None:
        if stop.requested is None:
            stop.request(NAMES[signum])
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    previous = {signum: signal.signal(signum, handle) for signum in NAMES}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
