"""Ctrl-C and SIGTERM (or a closed stdout) as a request that the training loop honours between steps.

An exception raised inside a signal handler surfaces wherever Python happens to be, including inside
TensorFlow's Session.run, which re-wraps it: CI once turned SIGTERM into "TypeError: Cannot interpret
feed_dict key as Tensor: SIGTERM" and a traceback. So the first signal only records the request.
A second one stops at once, but keeps what is in memory: it raises `StopNow` only inside the regions
that ask for it (`interruptible`: a run's start-up and its training loop, whose caller saves the steps
it finished), and not an `Exception`, so that TensorFlow's `except Exception` passes it on untouched.
Elsewhere (saving a run, waiting for Dask workers) it is a flag the code there looks at. Before any
run starts (`at_once`: imports, MNIST, start-up) there is nothing to keep, and the first signal stops.

A request belongs to one `Stop`, made for one run (or one command line's runs), never to the
process: in a long-lived Jupyter kernel an interrupt stops the run in progress, and the next run
starts with a `Stop` of its own. Only the command line installs handlers (`on_signals`), and it
puts the previous ones back when it is done.
"""
from __future__ import annotations

import contextlib
import signal
from typing import Iterator

# What the run is marked as interrupted by; KeyboardInterrupt is what Ctrl-C is called in Python.
NAMES = {signal.SIGINT: "KeyboardInterrupt", signal.SIGTERM: "SIGTERM"}


class Interrupted(Exception):
    """A run stopped on request; the message names what asked (KeyboardInterrupt, SIGTERM)."""


class StopNow(BaseException):
    """Stop at once (a second signal); the message names the first request, which the runs are saved under."""


class Stop:
    """A stop request for the runs it is handed to: checked before each training step."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self.now: str | None = None   # a second request: stop at once (the reason is still the first one)
        self._urgent = False          # inside at_once(): the first request is already a stop-now
        self._raising = False         # inside interruptible(): a stop-now raises StopNow

    def request(self, name: str) -> None:
        """Ask the run to stop after the step in progress; `name` says why (the first request counts)."""
        if self.requested is None:
            self.requested = name

    def check(self) -> None:
        """Raise Interrupted if a stop was requested."""
        if self.requested is not None:
            raise Interrupted(self.requested)

    def signalled(self, name: str) -> None:
        """A signal: the first asks for a stop after the step in progress, a second for a stop at once."""
        first = self.requested is None
        self.request(name)
        if first and not self._urgent:
            return
        self.now = self.requested
        if self._raising:
            raise StopNow(self.now)

    @contextlib.contextmanager
    def interruptible(self, on: bool = True) -> Iterator[None]:
        """Inside: a stop-now raises StopNow at once (also one already asked for). `on=False`: not here."""
        before, self._raising = self._raising, on
        try:
            if on and self.now:
                raise StopNow(self.now)
            yield
        finally:
            self._raising = before

    @contextlib.contextmanager
    def at_once(self) -> Iterator[None]:
        """Inside (start-up, nothing to save yet): the first signal already raises StopNow."""
        self._urgent = True
        try:
            with self.interruptible():
                yield
        finally:
            self._urgent = False


@contextlib.contextmanager
def on_signals(stop: Stop) -> Iterator[Stop]:
    """Inside: Ctrl-C and SIGTERM go to `stop` (`Stop.signalled`). After: the handlers as before."""
    def handle(signum: int, frame) -> None:
        stop.signalled(NAMES[signum])

    previous = {signum: signal.signal(signum, handle) for signum in NAMES}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
