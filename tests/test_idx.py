"""IDX parsing and verification, on small files the tests write."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from rnnmnist import idx
from rnnmnist.idx import DataError, IMAGES_MAGIC, LABELS_MAGIC


def images(n=3):
    return (np.arange(n * 28 * 28) % 256).astype(np.uint8).reshape(n, 28, 28)


def test_round_trip_images_and_labels():
    arr = images()
    parsed = idx.parse(idx.serialize(arr, IMAGES_MAGIC), IMAGES_MAGIC, "x")
    assert parsed.shape == (3, 28, 28, 1) and parsed.dtype == np.uint8
    assert np.array_equal(parsed[..., 0], arr)
    labels = np.array([7, 0, 9], np.uint8)
    assert np.array_equal(idx.parse(idx.serialize(labels, LABELS_MAGIC), LABELS_MAGIC, "y"), labels)


@pytest.mark.parametrize("raw, expect", [
    (b"", "empty or truncated"),
    (struct.pack(">I", LABELS_MAGIC) + struct.pack(">III", 1, 28, 28), "invalid magic number 2049"),
    (struct.pack(">II", IMAGES_MAGIC, 1), "truncated IDX header"),
    (struct.pack(">IIII", IMAGES_MAGIC, 1, 32, 32) + bytes(1024), "32x32, expected 28x28"),
    (struct.pack(">IIII", IMAGES_MAGIC, 2, 28, 28) + bytes(784), "784 data bytes where the header promises 1568"),
    (struct.pack(">IIII", IMAGES_MAGIC, 1, 28, 28) + bytes(785), "785 data bytes"),
])
def test_bad_image_files_are_one_line_errors_naming_the_file(raw, expect):
    with pytest.raises(DataError) as e:
        idx.parse(raw, IMAGES_MAGIC, "MNIST_data/train-images-idx3-ubyte.gz")
    assert expect in str(e.value) and "train-images-idx3-ubyte.gz" in str(e.value)
    assert "\n" not in str(e.value)


def test_labels_where_images_belong(tmp_path):
    path = tmp_path / idx.TRAIN_IMAGES.name
    idx.write_gz(path, idx.serialize(np.zeros(5, np.uint8), LABELS_MAGIC))
    with pytest.raises(DataError, match="invalid magic number 2049 in MNIST image file"):
        idx.load(idx.TRAIN_IMAGES, tmp_path)


def test_wrong_count_and_wrong_content_are_refused(tmp_path):
    idx.write_gz(tmp_path / idx.TEST_LABELS.name, idx.serialize(np.zeros(10, np.uint8), LABELS_MAGIC))
    with pytest.raises(DataError, match="10 items, the MNIST file has 10000"):
        idx.load(idx.TEST_LABELS, tmp_path)
    idx.write_gz(tmp_path / idx.TEST_LABELS.name, idx.serialize(np.zeros(10000, np.uint8), LABELS_MAGIC))
    with pytest.raises(DataError, match="is not MNIST's 27ae3e4e09519cfbb04c329615203637"):
        idx.load(idx.TEST_LABELS, tmp_path)


@pytest.mark.parametrize("content", [b"", b"not gzip at all", None])
def test_corrupt_or_truncated_gzip(tmp_path, content):
    path = tmp_path / idx.TEST_LABELS.name
    if content is None:  # a gzip cut in half, as an interrupted download leaves it
        content = gzip.compress(idx.serialize(np.zeros(10000, np.uint8), LABELS_MAGIC))[:200]
    path.write_bytes(content)
    with pytest.raises(DataError) as e:
        idx.load(idx.TEST_LABELS, tmp_path)
    assert str(e.value).startswith(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="missing"):
        idx.load(idx.TRAIN_LABELS, tmp_path)


def test_digests_are_the_published_ones():
    # The published MD5s of the decompressed IDX files.
    assert {f.name: f.md5 for f in idx.FILES} == {
        "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
    }


def test_real_files_verify_and_have_mnists_label_counts(mnist_dir):
    train = idx.load(idx.TRAIN_LABELS, mnist_dir)
    test = idx.load(idx.TEST_LABELS, mnist_dir)
    assert np.bincount(train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
