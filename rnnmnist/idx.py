"""The four MNIST IDX files: what they must contain, and how to read and write them.

Verification is on the decompressed bytes: the MD5s below are the published ones of the
IDX files, and hold whatever gzip produced the .gz around them.
"""
from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
ROWS = COLS = 28


class DataError(Exception):
    """A data problem, with a one-line message that names the file and says what to do."""


@dataclass(frozen=True)
class MnistFile:
    name: str        # as on the official server and in TF1's MNIST_data/
    magic: int
    count: int
    md5: str         # of the decompressed IDX bytes

    @property
    def is_images(self) -> bool:
        return self.magic == IMAGES_MAGIC


TRAIN_IMAGES = MnistFile("train-images-idx3-ubyte.gz", IMAGES_MAGIC, 60000, "6bbc9ace898e44ae57da46a324031adb")
TRAIN_LABELS = MnistFile("train-labels-idx1-ubyte.gz", LABELS_MAGIC, 60000, "a25bea736e30d166cdddb491f175f624")
TEST_IMAGES = MnistFile("t10k-images-idx3-ubyte.gz", IMAGES_MAGIC, 10000, "2646ac647ad5339dbf082846283269ea")
TEST_LABELS = MnistFile("t10k-labels-idx1-ubyte.gz", LABELS_MAGIC, 10000, "27ae3e4e09519cfbb04c329615203637")
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


def parse(raw: bytes, magic: int, where: str) -> np.ndarray:
    """Decompressed IDX bytes -> uint8 array: images [n, 28, 28, 1] (as TF1's extract_images), labels [n]."""
    ndim = 3 if magic == IMAGES_MAGIC else 1
    header = 4 + 4 * ndim
    if len(raw) < 4:
        raise DataError(f"{where}: empty or truncated IDX file")
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        kind = "image" if magic == IMAGES_MAGIC else "label"
        raise DataError(f"{where}: invalid magic number {found} in MNIST {kind} file (expected {magic})")
    if len(raw) < header:
        raise DataError(f"{where}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if ndim == 3 and dims[1:] != (ROWS, COLS):
        raise DataError(f"{where}: images are {dims[1]}x{dims[2]}, expected {ROWS}x{COLS}")
    size = int(np.prod(dims))
    if len(raw) != header + size:
        raise DataError(f"{where}: {len(raw) - header} data bytes where the header promises {size}")
    data = np.frombuffer(raw, dtype=np.uint8, count=size, offset=header)
    return data.reshape(dims[0], ROWS, COLS, 1) if ndim == 3 else data


def serialize(data: np.ndarray, magic: int) -> bytes:
    """uint8 array -> IDX bytes (images may be [n, 28, 28] or [n, 784])."""
    data = np.ascontiguousarray(data, dtype=np.uint8)
    dims = (len(data), ROWS, COLS) if magic == IMAGES_MAGIC else (len(data),)
    return struct.pack(f">I{len(dims)}I", magic, *dims) + data.tobytes()


def decompress(path: Path) -> bytes:
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: not a readable gzip file ({e})") from None


def check(spec: MnistFile, raw: bytes, where: str) -> np.ndarray:
    """Verify decompressed bytes against the published MNIST file, then parse them."""
    arr = parse(raw, spec.magic, where)
    if len(arr) != spec.count:
        raise DataError(f"{where}: {len(arr)} items, the MNIST file has {spec.count}")
    digest = hashlib.md5(raw).hexdigest()
    if digest != spec.md5:
        raise DataError(f"{where}: MD5 {digest} is not MNIST's {spec.md5}")
    return arr


def load(spec: MnistFile, directory: Path) -> np.ndarray:
    """Read and verify one file; raise DataError (one line, names the file) if it is not MNIST's."""
    path = directory / spec.name
    if path.exists() and not path.is_file():
        raise DataError(not_a_file(path))
    if not path.is_file():
        raise DataError(f"{path}: missing")
    return check(spec, decompress(path), str(path))


def not_a_file(path: Path) -> str:
    """What to do about a directory (or another non-file) where an MNIST file belongs: it is never removed."""
    return f"{path}: a directory where MNIST's file belongs; move or remove it, then run again"


def write_gz(path: Path, raw: bytes) -> None:
    """Write IDX bytes gzipped, reproducibly (no timestamp, no file name in the header)."""
    with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=6) as gz:
        gz.write(raw)
