"""Where runs go by default, and proving a place can take them before any work starts."""
from __future__ import annotations

import tempfile
from pathlib import Path

# A user's runs go to runs/ (git-ignored); the committed evidence in results/ is regenerated only
# by commands that name it (`--out results`), so a try-out never lands in it.
RUNS = Path("runs")
EVIDENCE = Path("results")


def check_writable(out: Path, variant: str) -> None:
    """Prove that out/<variant>/ can be made and written before hours of training, creating nothing.

    A run that then fails (no data, Ctrl-C during the fetch) leaves no empty folder behind.
    """
    directory = out / variant
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(20, f"{existing} is a file")  # ENOTDIR
    with tempfile.TemporaryFile(dir=existing):
        pass
