"""Runs saved as JSON under results/<variant>/, with what is needed to trust and redo them.

A file is written under a temporary name and linked into place, so no half-written JSON
ever exists and a new run never replaces an existing one (a clash gets the next free name).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> dict[str, Any]:
    """The commit of the rnnmnist checkout the code runs from, and whether it had local changes."""
    here = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def provenance(tf_version: str) -> dict[str, Any]:
    return {
        "git": git_commit(),
        "tensorflow": tf_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, range):
        return {"start": obj.start, "stop": obj.stop}
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def check_writable(out: Path, variant: str) -> Path:
    """Create results/<variant>/ and prove it writable before hours of training; return it."""
    directory = out / variant
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory):
        pass
    return directory


def save(record: dict[str, Any], out: Path) -> Path:
    """Write `record` to out/<variant>/<UTC time>_seed<seed>[_fix-NAME][_truncated].json, atomically."""
    directory = check_writable(out, record["variant"])
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stem = (f"{stamp}_seed{record['seed']}" + "".join(f"_fix-{f}" for f in record.get("fixes", []))
            + ("_truncated" if record["truncated"] else ""))
    text = json.dumps(record, indent=1, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        for n in range(1, 1000):
            target = directory / (f"{stem}.json" if n == 1 else f"{stem}-{n}.json")
            try:
                os.link(tmp, target)  # fails if the name exists: never replaces a run
                return target
            except FileExistsError:
                continue
        raise FileExistsError(f"{directory}: no free name for {stem}.json")
    finally:
        os.unlink(tmp)


def command_line() -> str:
    return " ".join(["python -m rnnmnist.reproduce" if sys.argv[0].endswith("reproduce.py") else Path(sys.argv[0]).name,
                     *sys.argv[1:]])
