"""Whether TensorFlow shows its own log lines and warnings: said by the entry point, before TensorFlow's import.

TensorFlow decides this once per process, when it is first imported (`rnnmnist.tfcompat`, and
`rnnmnist.kerasport` for Keras 3, read `shown` then): a command's --verbose, a `--jobs` worker's job,
or $RNNMNIST_VERBOSE read by `rnnmnist.settings`.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile

shown = False


def show(on: bool) -> None:
    global shown
    shown = on


@contextlib.contextmanager
def quiet_fd2(quiet: bool):
    """Hide what TensorFlow's C++ side writes to fd 2 while it loads; replay it on failure.

    (Its first lines, "Could not find cuda drivers ...", come before its log level is read.)
    """
    if not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except Exception:  # a failure, not an interrupt (Ctrl-C ends in one line, without TensorFlow's noise)
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
