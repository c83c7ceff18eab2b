"""What the command lines share: one-line usage errors, number arguments, the data directory check."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

from . import settings

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")

    def add_data_dir(self) -> None:
        self.add_argument("--data-dir", type=Path, metavar="DIR",
                          help=f"MNIST directory (default: ${settings.DATA_DIR} or {settings.DEFAULT_DATA_DIR}/)")

    def settings(self) -> settings.Settings:
        """The environment's settings (`rnnmnist.settings`), read once by the command; a bad one is a usage error."""
        try:
            return settings.Settings.read()
        except settings.SettingsError as e:
            self.error(str(e))

    def data_dir(self, args: argparse.Namespace, given: settings.Settings) -> Path:
        """--data-dir, or the settings'; a file there is a usage error (a missing directory is made)."""
        directory = args.data_dir or given.data_dir
        if directory.exists() and not directory.is_dir():
            self.error(f"--data-dir {directory} is a file; give a directory (it is created if missing)")
        return directory


    def check_out(self, out: Path, under: str) -> None:
        """out/<under>/ can be made and written: said before any work, so no result is lost at the end."""
        from .places import check_writable
        try:
            check_writable(out, under)
        except OSError as e:
            self.error(f"cannot write results to --out {out} ({e.strerror or e}); give a writable directory")


def stdout_closed() -> int:
    """The reader of stdout went away (`| head`): print nowhere from now on (Python would fail again when it
    flushes at exit), and the exit code a closed pipe gives; no traceback."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 128 + signal.SIGPIPE


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive(text: str) -> int:
    value = _whole(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed(text: str) -> int:
    value = _whole(text)
    if not 0 <= value < 2 ** 31:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**31 - 1, got {value}")
    return value
