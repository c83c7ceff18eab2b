"""What identifies the code that runs, from a clone or from an installed wheel: the version, and a
digest of rnnmnist's own sources, which a version number does not change between commits."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from . import __version__, tutorials

PACKAGE = Path(__file__).resolve().parent


def sources() -> dict[str, Path]:
    """rnnmnist's Python files by their names when installed (rnnmnist/tutorials/morvan.py is the
    source tree's variants/morvan.py), so a clone and a wheel of the same code name them alike."""
    folder = Path(tutorials.__path__[0]).resolve()
    found = {path.relative_to(PACKAGE.parent).as_posix(): path for path in PACKAGE.rglob("*.py")
             if folder not in path.parents}
    found.update({f"rnnmnist/tutorials/{path.relative_to(folder).as_posix()}": path for path in folder.rglob("*.py")})
    return found


@functools.lru_cache(maxsize=None)
def sources_sha256() -> str:
    """One SHA-256 over every source file's installed name, length and bytes, in name order; read once per
    process (every run's record and the Dask check ask for it)."""
    digest = hashlib.sha256()
    for name, path in sorted(sources().items()):
        text = path.read_bytes()
        digest.update(f"{name}\0{len(text)}\0".encode() + text)
    return digest.hexdigest()


def code() -> dict[str, str]:
    """What a run records of its code beside the git commit, which an installed wheel has not."""
    return {"version": __version__, "sources_sha256": sources_sha256()}

