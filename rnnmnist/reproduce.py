"""`python -m rnnmnist.reproduce --variant NAME`: train a tutorial again and compare with its numbers."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from . import registry
from .dataset import DATA_DIR_ENV, DEFAULT_DATA_DIR, default_data_dir
from .idx import DataError

EXIT_USAGE = 2
EXIT_DATA = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2 ** 31:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**31 - 1, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m rnnmnist.reproduce", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("--variant", metavar="NAME", help="which tutorial (see --list)")
    p.add_argument("--list", action="store_true", help="list the variants and exit")
    p.add_argument("--seed", type=_seed, help="graph and data-order seed (default: the tutorial's)")
    p.add_argument("--steps", type=_positive, metavar="N",
                   help="stop after N training steps (a truncated run, marked as such)")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help=f"MNIST directory (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR}/)")
    p.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                   help="where runs are saved, as DIR/<variant>/*.json (default: results/)")
    p.add_argument("--quiet", action="store_true", help="print only the comparison, not the tutorial's lines")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own log lines and warnings")
    return p


def _list() -> None:
    for name in registry.names():
        print(f"{name:20} {registry.describe(name)}")


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.list:
        _list()
        return 0
    known = registry.names()
    if not args.variant:
        p.error(f"give --variant NAME (one of: {', '.join(known)}) or --list")
    if args.variant not in known:
        p.error(f"unknown variant {args.variant!r}; known variants: {', '.join(known)}")
    data_dir = args.data_dir or default_data_dir()
    if data_dir.exists() and not data_dir.is_dir():
        p.error(f"--data-dir {data_dir} is a file; give a directory (it is created if missing)")
    from . import results
    try:
        results.check_writable(args.out, args.variant)
    except OSError as e:
        p.error(f"cannot write results to --out {args.out} ({e.strerror or e}); give a writable directory")
    if args.verbose:
        os.environ["RNNMNIST_VERBOSE"] = "1"

    # Everything below imports TensorFlow.
    from . import compare, runner
    from .spec import BATCH_ACCURACY, BATCH_LOSS
    from .tfcompat import tf

    variant = registry.load(args.variant)
    seed = variant.seed if args.seed is None else args.seed
    schedule = variant.schedule
    truncated = args.steps is not None and args.steps < len(schedule.steps)
    if truncated:
        schedule = schedule.truncated(args.steps)
    echo = None if args.quiet else print
    print(f"# {variant.name} ({variant.tutorial}): {len(schedule.steps)} of {len(variant.schedule.steps)} steps, "
          f"seed {seed}, TensorFlow {tf.__version__}", flush=True)
    try:
        curve = runner.run(variant, data_dir, seed, schedule, echo=echo,
                           progress=None if args.quiet else sys.stderr)
    except DataError as e:
        print(f"rnnmnist: error: {e}", file=sys.stderr)
        return EXIT_DATA

    sizes = {BATCH_ACCURACY: schedule.batch_size, BATCH_LOSS: schedule.batch_size}
    result = compare.compare(curve.points, variant.reference, sizes)
    print()
    print(f"{variant.name}: {curve.steps_run} steps in {curve.wall_time_s:.1f} s "
          f"({curve.train_time_s / max(curve.steps_run, 1) * 1000:.0f} ms/step)"
          + (" [TRUNCATED run]" if truncated else ""))
    if variant.reference:
        print(f"reference: {variant.reference.source}")
        print(compare.table(result))
    print(f"verdict: {result.verdict} ({result.reason})")

    record = {
        "schema": results.SCHEMA,
        "variant": variant.name,
        "tutorial": variant.tutorial,
        "seed": seed,
        "command": results.command_line(),
        "truncated": truncated,
        "steps_run": curve.steps_run,
        "steps_total": len(variant.schedule.steps),
        "schedule": results.to_jsonable(schedule),
        "hyperparameters": dict(variant.hyperparameters),
        "wall_time_s": round(curve.wall_time_s, 3),
        "train_time_s": round(curve.train_time_s, 3),
        "curve": [results.to_jsonable(pt) for pt in curve.points],
        "comparison": {"reference": variant.reference.source if variant.reference else None,
                       "verdict": result.verdict, "reason": result.reason, "compared": result.compared,
                       "inside": result.inside, "allowed_outside": result.allowed_outside},
        "provenance": results.provenance(tf.__version__),
    }
    path = results.save(record, args.out)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
