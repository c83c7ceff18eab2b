"""A faithful port of TF1's `tensorflow.examples.tutorials.mnist.input_data.read_data_sets`.

It follows `tensorflow/contrib/learn/python/learn/datasets/mnist.py` as of TF 1.2+ (and, switched
by `rnnmnist.eras`, the `next_batch` of 0.12 to 1.1): 5,000
validation images from the front of the training file, float32 pixels scaled by 1/255,
dense labels to one-hot (float64, as `dense_to_one_hot` made them), and `DataSet.next_batch`
with its shuffle at each epoch start and the carry-over of an epoch's tail into the next
batch. The one deliberate difference: TF1 reseeded NumPy's *global* RNG with the graph-level
seed in every DataSet constructor (`numpy.random.seed(seed1)`); here each DataSet owns a
`RandomState` seeded the same way, so the same seed gives the same permutations without
touching global state. And three for memory, none of which changes a value handed out (see the
docs/MAINTAINING.md, the benchmark): the pixels stay uint8 and are scaled to float32 when handed out
(`images`, `next_batch`), elementwise the same float32 values TF1 stored, in a quarter of the
memory (MNIST as float32 is 210 MiB); a shuffle permutes an index instead of copying the rows
(TF1's `self._images = self._images[perm]` made a 43 MiB copy of the training images per epoch);
and the float32 arrays handed out are 64-byte aligned, because `Session.run` copies a fed array
that is not (the whole test set: 31 MiB more at the evaluation's peak).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import idx, sources
from .idx import DataError

def dense_to_one_hot(labels_dense: np.ndarray, num_classes: int = 10) -> np.ndarray:
    num_labels = labels_dense.shape[0]
    index_offset = np.arange(num_labels) * num_classes
    labels_one_hot = np.zeros((num_labels, num_classes))  # float64, as in TF1
    labels_one_hot.flat[index_offset + labels_dense.ravel()] = 1
    return labels_one_hot


class DataSet:
    def __init__(self, images: np.ndarray, labels: np.ndarray, *, reshape: bool = True,
                 seed: int | None = None, first_epoch_shuffled: bool = True, tail_carried: bool = True):
        """`seed` plays the graph-level seed's part: TF1 called numpy.random.seed(graph_seed).

        `first_epoch_shuffled`, `tail_carried`: False for TF 0.12 and 1.0 (`rnnmnist.eras`).
        """
        self._rng = np.random.RandomState(seed)
        self._first_epoch_shuffled, self._tail_carried = first_epoch_shuffled, tail_carried
        assert images.shape[0] == labels.shape[0], (images.shape, labels.shape)
        self._num_examples = images.shape[0]
        if reshape:
            assert images.shape[3] == 1
            images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
        self._images = images  # uint8, never reordered; _scaled() does TF1's conversion when handed out
        self._labels = labels
        # TF1 reordered the arrays at each shuffle; row i of its arrays is row _order[i] of ours
        self._order = np.arange(self._num_examples)
        self._epochs_completed = 0
        self._index_in_epoch = 0

    @staticmethod
    def _scaled(pixels: np.ndarray) -> np.ndarray:
        # Convert from [0, 255] -> [0.0, 1.0], in float32 as TF1 did (in its constructor):
        # images = pixels.astype(numpy.float32); numpy.multiply(images, 1.0 / 255.0)
        images = aligned_empty(pixels.shape, np.float32)
        images[...] = pixels
        return np.multiply(images, 1.0 / 255.0, out=images)

    def _rows(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """These rows of the stored (never reordered) arrays: images scaled, labels."""
        return self._scaled(self._images[index]), self._labels[index]

    @property
    def images(self) -> np.ndarray:
        """All images as float32 in [0, 1], in TF1's current order: a new array each time."""
        return self._rows(self._order)[0]

    @property
    def labels(self) -> np.ndarray:
        return self._labels[self._order]

    @property
    def num_examples(self) -> int:
        return self._num_examples

    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    def next_batch(self, batch_size: int, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
        start = self._index_in_epoch
        # Shuffle for the first epoch (TF 1.1 and later)
        if self._epochs_completed == 0 and start == 0 and shuffle and self._first_epoch_shuffled:
            perm0 = np.arange(self._num_examples)
            self._rng.shuffle(perm0)
            self._order = self._order[perm0]  # TF1: self._images = self.images[perm0]; likewise _labels
        # Go to the next epoch
        if start + batch_size > self._num_examples:
            self._epochs_completed += 1
            # Get the rest examples in this epoch
            rest_num_examples = self._num_examples - start
            rest_part = self._order[start:self._num_examples]
            if shuffle:
                perm = np.arange(self._num_examples)
                self._rng.shuffle(perm)
                self._order = self._order[perm]  # TF1: self._images = self.images[perm]; likewise _labels
            if not self._tail_carried:
                # TF 0.12-1.0: the tail is dropped; the next epoch starts with a whole batch
                # (start = 0; self._index_in_epoch = batch_size)
                self._index_in_epoch = batch_size
                return self._rows(self._order[0:batch_size])
            start = 0
            self._index_in_epoch = batch_size - rest_num_examples
            end = self._index_in_epoch
            # TF1: numpy.concatenate((images_rest_part, images_new_part), axis=0), and the labels'
            return self._rows(np.concatenate((rest_part, self._order[start:end])))
        self._index_in_epoch += batch_size
        end = self._index_in_epoch
        return self._rows(self._order[start:end])


def aligned_empty(shape: tuple[int, ...], dtype: type = np.float32, alignment: int = 64) -> np.ndarray:
    """An empty array whose data starts on an `alignment`-byte boundary.

    Session.run copies a fed NumPy array unless its data is aligned for Eigen (64 bytes at most);
    NumPy's large arrays start 16 bytes into a page, so without this every feed is copied.
    """
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(nbytes + alignment, np.uint8)
    offset = -raw.ctypes.data % alignment
    return raw[offset:offset + nbytes].view(dtype).reshape(shape)


@dataclass(frozen=True)
class Datasets:
    train: DataSet
    validation: DataSet
    test: DataSet


@dataclass(frozen=True)
class RawMnist:
    """The four verified files as uint8 arrays; read once, then shared by every run."""
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


_cache: dict[Path, RawMnist] = {}


def load_raw(directory: Path, say=lambda s: None, url: str | None = None) -> RawMnist:
    """Verified arrays from `directory`, fetching missing files first (no network if all are there);
    `url`: a mirror to fetch them from (`Settings.mnist_url`), else the official server."""
    key = Path(directory).resolve()
    if key not in _cache:
        _cache[key] = RawMnist(*_verified(Path(directory), say, url))
    return _cache[key]


def missing(directory: Path) -> bool:
    """Whether a file of MNIST is not in `directory` as a file (whether it verifies is not looked at)."""
    return any(not (Path(directory) / spec.name).is_file() for spec in idx.FILES)


def _verified(directory: Path, say, url: str | None) -> list[np.ndarray]:
    if missing(directory):  # sources.ensure also refuses a file given as the directory
        sources.ensure(directory, say, official_url=url)
    try:
        return [idx.load(spec, directory) for spec in idx.FILES]
    except DataError as e:
        raise DataError(f"{e}; {sources.fetch_hint(directory)}") from None


def read_data_sets(train_dir: str | Path, one_hot: bool = False, reshape: bool = True,
                   validation_size: int = 5000, seed: int | None = None, say=lambda s: None,
                   echo=lambda s: None, first_epoch_shuffled: bool = True, tail_carried: bool = True) -> Datasets:
    """`say` gets fetch progress; `echo` the lines TF1 printed ("Extracting MNIST_data/...").

    The defaults are TF 1.1's `next_batch` and later; TF 0.12 and 1.0 kept the first epoch in file
    order and dropped each epoch's tail (`rnnmnist.eras`).
    """
    raw = load_raw(Path(train_dir), say)
    for spec in idx.FILES:
        echo(f"Extracting {Path(train_dir) / spec.name}")
    train_images, train_labels = raw.train_images, raw.train_labels
    test_labels = raw.test_labels
    if one_hot:
        train_labels, test_labels = dense_to_one_hot(train_labels), dense_to_one_hot(test_labels)
    if not 0 <= validation_size <= len(train_images):
        raise ValueError(f"Validation size should be between 0 and {len(train_images)}. "
                         f"Received: {validation_size}.")
    options = dict(reshape=reshape, seed=seed, first_epoch_shuffled=first_epoch_shuffled, tail_carried=tail_carried)
    return Datasets(
        train=DataSet(train_images[validation_size:], train_labels[validation_size:], **options),
        validation=DataSet(train_images[:validation_size], train_labels[:validation_size], **options),
        test=DataSet(raw.test_images, test_labels, **options),
    )
