"""DataSet.next_batch against a plain reference, and read_data_sets against TF1's behaviour."""
from __future__ import annotations

import numpy as np
import pytest

from rnnmnist.dataset import DataSet, dense_to_one_hot, read_data_sets


def tiny(n: int, seed: int | None) -> DataSet:
    # image i holds the value i everywhere (before scaling), so a batch says which examples it has
    images = np.repeat(np.arange(n, dtype=np.uint8), 4).reshape(n, 2, 2, 1)
    return DataSet(images, np.arange(n), seed=seed)


def reference_order(n: int, seed: int, epochs: int) -> np.ndarray:
    """TF1's order, written plainly: each epoch permutes the previous epoch's order."""
    rng = np.random.RandomState(seed)
    order, stream = np.arange(n), []
    for _ in range(epochs):
        perm = np.arange(n)
        rng.shuffle(perm)
        order = order[perm]
        stream.append(order)
    return np.concatenate(stream)


@pytest.mark.parametrize("n, batch", [(10, 3), (10, 4), (10, 10), (11, 7), (55000 // 1000, 16)])
def test_next_batch_carries_the_epoch_tail_into_the_next_batch(n, batch):
    ds, seed = tiny(n, 5), 5
    batches = 3 * n // batch + 2
    stream = reference_order(n, seed, epochs=batches * batch // n + 2)
    for b in range(batches):
        _, labels = ds.next_batch(batch)
        assert labels.tolist() == stream[b * batch:(b + 1) * batch].tolist(), f"batch {b}"
    assert ds.epochs_completed == (batches * batch - 1) // n


def test_images_follow_labels_and_are_scaled_like_tf1():
    ds = tiny(10, 1)
    for _ in range(7):
        images, labels = ds.next_batch(4)
        assert images.dtype == np.float32 and images.shape == (4, 4)
        expected = labels.astype(np.float32)[:, None] * np.float32(1.0 / 255.0)
        assert np.array_equal(images, np.repeat(expected, 4, axis=1))


def test_uint8_storage_hands_out_exactly_the_float32_tf1_stored():
    # TF1 converted the whole set up front; scaling each batch must give the same bits.
    rng = np.random.RandomState(0)
    pixels = rng.randint(0, 256, size=(23, 28, 28, 1)).astype(np.uint8)
    upfront = np.multiply(pixels.reshape(23, 784).astype(np.float32), 1.0 / 255.0)
    ds = DataSet(pixels, np.arange(23), seed=3)
    assert ds.images.dtype == np.float32 and np.array_equal(ds.images, upfront)
    for _ in range(12):  # several epochs, with tails carried over
        images, labels = ds.next_batch(5)
        assert images.dtype == np.float32 and np.array_equal(images, upfront[labels])


def test_whole_set_and_batches_follow_tf1s_reordered_arrays_without_copying_rows():
    # TF1 reordered its arrays at each shuffle, so `images` and `labels` mid-run come in that order
    n, batch, seed = 11, 4, 2
    ds = tiny(n, seed)
    stream = reference_order(n, seed, epochs=8)
    for b in range(12):
        ds.next_batch(batch)
        epoch = (b + 1) * batch // n  # the epoch TF1's arrays are in after this batch
        if (b + 1) * batch % n == 0:
            epoch -= 1  # an epoch that ends exactly reshuffles only at the next call
        current = stream[epoch * n:(epoch + 1) * n]
        assert ds.labels.tolist() == current.tolist(), f"after batch {b}"
        assert np.array_equal(ds.images, current.astype(np.float32)[:, None].repeat(4, 1) * np.float32(1 / 255))
    pixels = np.zeros((n, 2, 2, 1), np.uint8)
    kept = DataSet(pixels, np.arange(n), seed=seed)
    for _ in range(10):
        kept.next_batch(batch)
    assert np.shares_memory(kept._images, pixels)  # a shuffle reorders an index, not 43 MiB of rows


def test_handed_out_images_are_aligned_so_that_session_run_feeds_them_without_a_copy():
    ds = DataSet(np.zeros((5000, 28, 28, 1), np.uint8), np.arange(5000), seed=0)
    for images in (ds.images, ds.images[:100], ds.next_batch(16)[0], ds.next_batch(7)[0]):
        assert images.ctypes.data % 64 == 0 and images.flags.c_contiguous


def test_seed_means_what_the_graph_seed_meant_in_tf1_without_touching_global_state():
    state = np.random.get_state()
    _, first = tiny(50, 1).next_batch(50)
    np.random.seed(1)            # what TF1 did with tf.set_random_seed(1) ...
    perm = np.arange(50)
    np.random.shuffle(perm)      # ... then at the first next_batch
    assert first.tolist() == perm.tolist()
    np.random.set_state(state)
    tiny(50, 1).next_batch(50)
    assert np.array_equal(np.random.get_state()[1], state[1])  # global RNG untouched
    assert tiny(50, 1).next_batch(50)[1].tolist() == first.tolist()
    assert tiny(50, 2).next_batch(50)[1].tolist() != first.tolist()


def test_dense_to_one_hot():
    one_hot = dense_to_one_hot(np.array([3, 0, 9]))
    assert one_hot.dtype == np.float64  # as TF1's numpy.zeros made it
    assert one_hot.argmax(1).tolist() == [3, 0, 9] and one_hot.sum() == 3


def test_read_data_sets_splits_validation_off_the_front(mnist_dir):
    from rnnmnist import idx
    raw_labels = idx.load(idx.TRAIN_LABELS, mnist_dir)
    mnist = read_data_sets(mnist_dir, one_hot=True, seed=1)
    assert (mnist.train.num_examples, mnist.validation.num_examples, mnist.test.num_examples) == (55000, 5000, 10000)
    assert mnist.train.images.shape == (55000, 784) and mnist.train.images.dtype == np.float32
    assert mnist.validation.labels.argmax(1).tolist() == raw_labels[:5000].tolist()
    assert mnist.train.labels.argmax(1).tolist() == raw_labels[5000:].tolist()
    assert mnist.train.images.max() == 1.0 and mnist.train.images.min() == 0.0


def test_the_tiny_data_set_goes_through_the_same_verification_as_mnist(tiny_mnist):
    from rnnmnist import dataset, idx
    from rnnmnist.idx import DataError
    mnist = dataset.read_data_sets(tiny_mnist, one_hot=True)
    assert (mnist.train.num_examples, mnist.validation.num_examples, mnist.test.num_examples) == (640, 5000, 256)
    raw = idx.decompress(tiny_mnist / idx.TEST_LABELS.name)
    idx.write_gz(tiny_mnist / idx.TEST_LABELS.name, raw[:-1] + bytes([(raw[-1] + 1) % 10]))
    dataset._cache.clear()
    with pytest.raises(DataError, match="MD5 .* is not MNIST's"):
        dataset.read_data_sets(tiny_mnist)
