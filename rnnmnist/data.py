"""`python -m rnnmnist.data`: fetch MNIST into the data directory and verify it.

Verified files already there cost no network; a missing, corrupt or wrong file is replaced,
and only by a copy that verifies.
"""
from __future__ import annotations

import sys

from . import idx, sources
from .idx import DataError
from .usage import Parser


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m rnnmnist.data", description=__doc__.splitlines()[0])
    parser.add_data_dir()
    args = parser.parse_args(argv)
    given = parser.settings()
    directory = args.data_dir or given.data_dir
    try:  # returns only once all four verify
        sources.ensure(directory, sources.to_stderr, replace_bad=True, official_url=given.mnist_url)
    except DataError as e:
        print(f"rnnmnist.data: error: {e}", file=sys.stderr)
        return 1
    for spec in idx.FILES:
        # the published MD5s are of the IDX bytes: the .gz's own (md5sum) depends on how it was compressed
        print(f"{directory / spec.name}: verified ({spec.count} items; MD5 of the decompressed IDX bytes {spec.md5})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
