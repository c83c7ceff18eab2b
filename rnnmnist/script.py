"""The `rnnmnist` console script: `python -m rnnmnist.reproduce`, imported where a Ctrl-C is one line."""
from __future__ import annotations

from . import launch


def main() -> None:
    with launch.interruptible("__main__"):  # the script is the program: its imports' interrupt is ours
        from .reproduce import cli
    cli()
