"""The command line's first moments: a Ctrl-C while Python still imports rnnmnist is one line, not a traceback.

Until `reproduce.main` takes signals over (`rnnmnist.stopping`), an interrupt can only come while modules
are imported, and nothing has been made yet. Standard library only, so that it is in place at once.
"""
from __future__ import annotations

import contextlib
import signal
import sys
from typing import Iterator, NoReturn

STOPPED = "rnnmnist: stopped by KeyboardInterrupt before any run started; nothing was saved"


@contextlib.contextmanager
def interruptible(module: str) -> Iterator[None]:
    """Around a command module's imports: an interrupt ends the process in one line if it runs as
    `python -m` (`module` is `__main__`); imported by other code, the interrupt is theirs."""
    try:
        yield
    except KeyboardInterrupt:
        if module != "__main__":
            raise
        _stopped()


def _stopped() -> NoReturn:
    print(STOPPED, file=sys.stderr, flush=True)
    sys.exit(128 + signal.SIGINT)
