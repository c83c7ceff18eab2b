"""`python -m rnnmnist.data`: fetch MNIST into the data directory and verify it.

Verified files already there cost no network; a missing, corrupt or wrong file is replaced,
and only by a copy that verifies.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import idx, sources
from .dataset import DATA_DIR_ENV, DEFAULT_DATA_DIR, default_data_dir
from .idx import DataError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnmnist.data", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"where the four .gz files live (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR}/)")
    args = parser.parse_args(argv)
    directory = args.data_dir or default_data_dir()
    try:
        sources.ensure(directory, sources.to_stderr, replace_bad=True)  # returns only once all four verify
    except DataError as e:
        print(f"rnnmnist.data: error: {e}", file=sys.stderr)
        return 1
    for spec in idx.FILES:
        # the published MD5s are of the IDX bytes: the .gz's own (md5sum) depends on how it was compressed
        print(f"{directory / spec.name}: verified ({spec.count} items; MD5 of the decompressed IDX bytes {spec.md5})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
