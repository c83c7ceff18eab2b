"""`python -m rnnmnist.pitfalls [LESSON | --all]`: the tutorials' pitfalls, reproduced and fixed."""
from __future__ import annotations

import sys

from .. import tflogs
from ..usage import Parser, stdout_closed
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
    given = p.settings()
    data_dir = p.data_dir(args, given)
    tflogs.show(args.verbose or given.verbose)

    from ..equivalence import SideFailed
    from ..idx import DataError
    from . import Board, load
    board = Board()
    for i, name in enumerate(LESSONS if args.all else [args.lesson]):
        if i:
            print()
        board.title(name, LESSONS[name][1])
        try:
            if given.mnist_url:  # a mirror: MNIST from there, before a lesson reads it
                from .. import sources
                sources.ensure(data_dir, sources.to_stderr, official_url=given.mnist_url)
            load(name).run(board, data_dir=data_dir)
        except DataError as e:
            print(f"rnnmnist: error: {e}", file=sys.stderr)
            return 1
        except SideFailed as e:  # the migration lesson's TF1 or Keras process: its last line, then its tail
            print(f"rnnmnist: error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `| head` on the list or a lesson: nothing more to say
        sys.exit(stdout_closed())
