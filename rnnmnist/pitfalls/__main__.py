"""`python -m rnnmnist.pitfalls [LESSON | --all]`: the tutorials' pitfalls, reproduced and fixed."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from . import LESSONS

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    from ..dataset import DATA_DIR_ENV, DEFAULT_DATA_DIR, default_data_dir
    p = _Parser(prog="python -m rnnmnist.pitfalls", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("lesson", nargs="?", help="which lesson (none: list them)")
    p.add_argument("--all", action="store_true", help="run every lesson")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help=f"MNIST directory (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR}/)")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own log lines and warnings")
    args = p.parse_args(argv)
    if args.lesson and args.all:
        p.error("give a lesson or --all, not both")
    if args.lesson and args.lesson not in LESSONS:
        p.error(f"unknown lesson {args.lesson!r}; lessons: {', '.join(LESSONS)}")
    if not args.lesson and not args.all:
        for name, (_, title) in LESSONS.items():
            print(f"{name:18} {title}")
        print("\nRun one with: python -m rnnmnist.pitfalls NAME    (or --all)")
        return 0
    data_dir = args.data_dir or default_data_dir()
    if data_dir.exists() and not data_dir.is_dir():
        p.error(f"--data-dir {data_dir} is a file; give a directory (it is created if missing)")
    if args.verbose:
        os.environ["RNNMNIST_VERBOSE"] = "1"

    from ..idx import DataError
    from . import Board, load
    board = Board()
    for i, name in enumerate(LESSONS if args.all else [args.lesson]):
        if i:
            print()
        board.title(name, LESSONS[name][1])
        try:
            load(name).run(board, data_dir=data_dir)
        except DataError as e:
            print(f"rnnmnist: error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
