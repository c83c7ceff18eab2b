"""What the environment configures, read in one place.

Each entry point (the command lines, `rnnmnist.train`, a Dask task on its worker's machine) calls
`Settings.read()` once and hands on what it needs; no other module reads these variables.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DATA_DIR = "RNNMNIST_DATA_DIR"    # where MNIST is kept (default: MNIST_data/, as in the tutorials)
SCHEDULER = "RNNMNIST_SCHEDULER"  # the Dask scheduler --scheduler defaults to
MNIST_URL = "RNNMNIST_MNIST_URL"  # a mirror with the same four files, if you have one
THREADS = "RNNMNIST_THREADS"      # a session's inter-op threads (0: one per core)
VERBOSE = "RNNMNIST_VERBOSE"      # 1: TensorFlow's own log lines and warnings, as --verbose shows them

DEFAULT_DATA_DIR = Path("MNIST_data")


class SettingsError(ValueError):
    """A variable set to something unusable, with a one-line message that says what to give instead."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    scheduler: str | None = None
    mnist_url: str | None = None
    threads: int = 0
    verbose: bool = False

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The settings `environ` (default: this process's environment) gives; unset or empty: the default."""
        env = os.environ if environ is None else environ
        return cls(data_dir=Path(env.get(DATA_DIR) or DEFAULT_DATA_DIR), scheduler=env.get(SCHEDULER) or None,
                   mnist_url=env.get(MNIST_URL) or None, threads=_threads(env.get(THREADS) or "0"),
                   verbose=env.get(VERBOSE) == "1")


def _threads(text: str) -> int:
    try:
        threads = int(text)
    except ValueError:
        threads = -1
    if threads < 0:
        raise SettingsError(f"${THREADS} must be a whole number of threads (0: one per core), got {text!r}")
    return threads
