"""Whether TensorFlow shows its own log lines and warnings: said by the entry point, before TensorFlow's import.

TensorFlow decides this once per process, when it is first imported (`rnnmnist.tfcompat` reads `shown`
then): a command's --verbose, a `--jobs` worker's job, or $RNNMNIST_VERBOSE read by `rnnmnist.settings`.
"""
from __future__ import annotations

shown = False


def show(on: bool) -> None:
    global shown
    shown = on
