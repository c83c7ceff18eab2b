"""`python -m rnnmnist.pitfalls [LESSON | --all]`: the tutorials' pitfalls, reproduced and fixed."""
from __future__ import annotations

import os
import sys

from ..usage import Parser
from . import LESSONS


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m rnnmnist.pitfalls", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("lesson", nargs="?", help="which lesson (none: list them)")
    p.add_argument("--all", action="store_true", help="run every lesson")
    p.add_data_dir()
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
    data_dir = p.data_dir(args)
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
