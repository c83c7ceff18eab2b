"""Runs saved as JSON under OUT/<variant>/ (runs/ by default), with what is needed to trust and redo them.

A file is written under a temporary name and linked into place, so no half-written JSON
ever exists and a new run never replaces an existing one (a clash gets the next free name).
Each record carries a SHA-256 of its own content: `load` refuses a file that was edited by
hand, cut short, or is not a run record at all.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import cpu, eras, identity
from .curve import Point
from .spec import Schedule, file_stem

if TYPE_CHECKING:
    from .request import RunRequest

SCHEMA = 2
COMPLETE, INTERRUPTED = "complete", "interrupted"
# key -> type every record has
REQUIRED = {"schema": int, "variant": str, "seed": int, "status": str, "truncated": bool, "steps_run": int,
            "steps_total": int, "schedule": dict, "curve": list, "comparison": dict, "provenance": dict,
            "command": str, "wall_time_s": (int, float), "checksum": str}


class ResultsError(Exception):
    """A results file that cannot be trusted, with a one-line message naming it."""


def checksum(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load(path: Path) -> dict[str, Any]:
    """A run record, checked: JSON, the current schema, every field, and its checksum."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(f"{path}: not a readable JSON run record ({e})") from None
    if not isinstance(record, dict):
        raise ResultsError(f"{path}: not a run record (a JSON {type(record).__name__})")
    if record.get("schema") != SCHEMA:
        raise ResultsError(f"{path}: schema {record.get('schema')!r}, expected {SCHEMA}; re-run it to replace it")
    for key, kind in REQUIRED.items():
        if not isinstance(record.get(key), kind):
            raise ResultsError(f"{path}: field {key!r} missing or of the wrong type")
    if record["checksum"] != checksum(record):
        raise ResultsError(f"{path}: checksum mismatch: the file was changed after the run wrote it; "
                           "results are never edited by hand, re-run instead")
    return record


def git_commit() -> dict[str, Any]:
    """The commit of the rnnmnist checkout the code runs from, and whether it had local changes.

    None when the code is not a checkout's own (a wheel installed in site-packages, even in a venv
    inside some repository): `identity.code()` is what identifies it then.
    """
    here = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=here, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    lines = head.stdout.splitlines()  # the top level of the checkout, then its commit
    if head.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != here:
        return {"commit": None, "dirty": None}
    return {"commit": lines[1], "dirty": bool(dirty.stdout.strip())}


def provenance(tf_version: str, **extra: Any) -> dict[str, Any]:
    """Where a result came from; `extra` adds what only the caller knows (e.g. session threads)."""
    return {
        "git": git_commit(),
        "code": identity.code(),  # the version and the sources' digest: what a wheel's run has instead of a commit
        "tensorflow": tf_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
        **cpu.identity(),  # model name, vendor, instruction-set flags: what decides last bits
        "cores": cpu.count(),  # the ones it may use (affinity, cgroup quota)
        "platform": platform.platform(),
        "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def redo_command(request: "RunRequest") -> str:
    """The command line that runs this request again, for a run's record."""
    words = ["python -m rnnmnist.reproduce", "--variant", request.variant, "--seed", str(request.seed)]
    for flag, value in (("--steps", request.steps), ("--epochs", request.epochs)):
        if value is not None:
            words += [flag, str(value)]
    for fix in request.fixes:
        words += ["--fix", fix]
    if request.era is not None:
        words += ["--tf-semantics", request.era]
    if request.impl != "tf1":
        words += ["--impl", request.impl]
    if request.backend not in (None, "tensorflow"):
        words += ["--backend", request.backend]
    return " ".join(words)


def implementation_of(record: dict[str, Any]) -> tuple[str, str | None]:
    """What trained a saved run: ("tf1", None), ("keras", "tensorflow"), ("keras", "jax"). Records from before
    Keras runs are TF1's."""
    request = record.get("request") or {}
    impl = request.get("impl", "tf1")
    return impl, (request.get("backend") or "tensorflow") if impl == "keras" else None


def implementation_name(impl: str, backend: str | None) -> str:
    """tf1, keras (its TensorFlow backend), keras-jax: how file names and report titles tell them apart."""
    return impl if backend in (None, "tensorflow") else f"{impl}-{backend}"


def era_name(record: dict[str, Any]) -> str:
    """The TensorFlow era a saved run ran under; runs from before eras had 1.2's behaviour."""
    return (record.get("era") or {}).get("name", eras.TODAY)


def curve_of(record: dict[str, Any]) -> list[Point]:
    """The points a run record holds."""
    return [Point(**p) for p in record["curve"]]


def schedule_of(record: dict[str, Any]) -> Schedule:
    """The Schedule a run record was made with."""
    s = dict(record["schedule"])
    s["steps"] = range(s["steps"]["start"], s["steps"]["stop"])
    for key in ("batch_metrics", "epoch_eval"):
        s[key] = tuple(s.get(key, ()))
    return Schedule(**s)


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


def save(record: dict[str, Any], out: Path) -> Path:
    """Write `record`, sealed with its checksum, to
    out/<variant>/<UTC time>_seed<seed>[_fix-NAME][_keras|_keras-jax][_truncated][_interrupted].json, atomically."""
    directory = out / record["variant"]
    stem = run_stem(record["seed"], record.get("fixes", []), record["truncated"], record.get("status") == INTERRUPTED,
                    implementation=implementation_name(*implementation_of(record)))
    record = dict(record, checksum="")
    record["checksum"] = checksum(record)
    return write_json(directory, stem, record)


def run_stem(seed: int, fixes, truncated: bool, interrupted: bool, era: str | None = None,
             implementation: str = "tf1") -> str:
    """A run's name in files: <UTC time>_seed<N>[_fix-NAME][_tf<era>][_keras|_keras-jax][_truncated][_interrupted]."""
    return (f"{utc_stamp()}_{file_stem(f'seed{seed}', fixes)}" + (f"_tf{era}" if era else "")
            + ("" if implementation == "tf1" else f"_{implementation}")
            + ("_truncated" if truncated else "") + ("_interrupted" if interrupted else ""))


def utc_stamp() -> str:
    """Now, as results' file names begin: 20261124T071121Z."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def write_json(directory: Path, stem: str, record: dict[str, Any]) -> Path:
    """Write directory/<stem>.json atomically; a taken name gets -2, -3, ...: nothing is replaced."""
    directory.mkdir(parents=True, exist_ok=True)
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


def replace_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write `target` through `write(temporary path)` beside it, then move it into place in one step: a
    generated file (the report, its plots) is whole or absent, never half-written, even with two writers."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def command_line() -> str:
    """The command as typed: `python -m rnnmnist.<module> ...`, the `rnnmnist` console script, or Python."""
    if "ipykernel" in sys.modules or not sys.argv or not sys.argv[0]:
        return "python: rnnmnist.train(...)"
    argv0 = Path(sys.argv[0])
    if argv0.suffix == ".py" and argv0.parent.name == "rnnmnist":
        prog = f"python -m rnnmnist.{argv0.stem}"
    else:
        prog = argv0.name
    return " ".join([prog, *sys.argv[1:]])
