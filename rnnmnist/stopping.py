"""Ctrl-C and SIGTERM (or a closed stdout) as a request that the training loop honours between steps.

An exception raised inside a signal handler surfaces wherever Python happens to be, including inside
TensorFlow's Session.run, which re-wraps it: CI once turned SIGTERM into "TypeError: Cannot interpret
feed_dict key as Tensor: SIGTERM" and a traceback. So the handler only records the request. A second
signal stops the process at once, as it would without the handler (results are written atomically,
so that loses nothing already on disk).
"""
from __future__ import annotations

import os
import signal

# What the run is marked as interrupted by; KeyboardInterrupt is what Ctrl-C is called in Python.
NAMES = {signal.SIGINT: "KeyboardInterrupt", signal.SIGTERM: "SIGTERM"}

requested: str | None = None


class Interrupted(Exception):
    """A run stopped on request; the message names what asked (KeyboardInterrupt, SIGTERM)."""


def request(name: str) -> None:
    """Ask the run to stop after the step in progress; `name` says why (the first request counts)."""
    global requested
    if requested is None:
        requested = name


def _handle(signum: int, frame) -> None:
    if requested is None:
        request(NAMES[signum])
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install() -> None:
    """From now on Ctrl-C and SIGTERM ask the run to stop after the step in progress."""
    for signum in NAMES:
        signal.signal(signum, _handle)


def check() -> None:
    """Raise Interrupted if a stop was requested."""
    if requested is not None:
        raise Interrupted(requested)
