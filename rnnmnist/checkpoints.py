"""A run's saved model belongs to that run: a directory of its own, and a digest its record keeps.

A run makes DIR/<variant>/<its name>/ itself, with a call that fails if the name exists (a taken name
gets -2, -3, ...), so no later run, fix, era or worker ever writes into it. The record keeps the
SHA-256 of the files the Saver wrote; `restore` recomputes it and refuses a checkpoint that was
changed, replaced or lost since. No TensorFlow here: the files are only read as bytes.
"""
from __future__ import annotations

import glob
import hashlib
from pathlib import Path
from typing import Any

AGAIN = "train again with checkpoint=DIR (--checkpoint DIR)"


def new_directory(parent: Path, name: str) -> Path:
    """parent/name, made now by this call alone; a taken name gets -2, -3, ...: nothing is ever reused."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        directory = parent / (name if n == 1 else f"{name}-{n}")
        try:
            directory.mkdir()  # fails if it exists, even if another process made it a moment ago
            return directory
        except FileExistsError:
            continue
    raise FileExistsError(f"{parent}: no free name for {name}")


def files(prefix: Path | str) -> list[Path]:
    """A Saver checkpoint's files: prefix.index, prefix.data-*, prefix.meta if written (not model-30 for model-3)."""
    prefix = Path(prefix)
    return sorted(prefix.parent.glob(glob.escape(prefix.name) + ".*"))


def digest(prefix: Path | str) -> str | None:
    """SHA-256 over the checkpoint's files, names included (a lost shard changes it); None: no files."""
    found = files(prefix)
    if not found:
        return None
    h = hashlib.sha256()
    for f in found:
        h.update(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def own(record: dict[str, Any]) -> str:
    """The checkpoint prefix of the run `record` describes, once shown to be the one it saved; else ValueError."""
    prefix = record.get("checkpoint")
    if not prefix:
        raise ValueError(f"this run saved no model: {AGAIN}")
    expected = record.get("checkpoint_sha256")
    if expected is None:
        # Saved before checkpoints had a digest, in DIR/<variant>/seed<N>/ that later runs wrote over:
        # nothing can tell whether the model there is still this run's.
        raise ValueError(f"{prefix}: this run's record has no digest of its checkpoint (saved by an older rnnmnist, "
                         f"whose later runs could replace it), so it cannot be shown to be this run's own; {AGAIN}")
    found = digest(prefix)
    if found is None:
        raise ValueError(f"{prefix}: this run's checkpoint is missing (no {Path(prefix).name}.* files in "
                         f"{Path(prefix).parent.absolute()}; a --scheduler run writes it on its worker's machine); {AGAIN}")
    if found != expected:
        raise ValueError(f"{prefix}: not this run's checkpoint: its files changed after the run saved them; {AGAIN}")
    return prefix
