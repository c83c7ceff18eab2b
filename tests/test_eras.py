"""Each TensorFlow release's behaviour, as its own sources had it (rnnmnist.eras)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import train
from rnnmnist import eras
from rnnmnist.dataset import DataSet


class PortOf0_12:
    """DataSet.next_batch of mnist.py@0.12.1 (and 1.0.1), line for line; NumPy's global generator."""

    def __init__(self, images, labels):
        self._images, self._labels = images, labels
        self._num_examples, self._epochs_completed, self._index_in_epoch = len(images), 0, 0

    def next_batch(self, batch_size):
        start = self._index_in_epoch
        self._index_in_epoch += batch_size
        if self._index_in_epoch > self._num_examples:
            # Finished epoch
            self._epochs_completed += 1
            # Shuffle the data
            perm = np.arange(self._num_examples)
            np.random.shuffle(perm)
            self._images = self._images[perm]
            self._labels = self._labels[perm]
            # Start next epoch
            start = 0
            self._index_in_epoch = batch_size
            assert batch_size <= self._num_examples
        end = self._index_in_epoch
        return self._images[start:end], self._labels[start:end]


class PortOf1_1:
    """DataSet.next_batch of mnist.py@1.1.0 (1.2.1 and 1.4.1 add only the seeding), line for line."""

    def __init__(self, images, labels):
        self._images, self._labels = images, labels
        self._num_examples, self._epochs_completed, self._index_in_epoch = len(images), 0, 0

    def next_batch(self, batch_size, shuffle=True):
        start = self._index_in_epoch
        # Shuffle for the first epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            perm0 = np.arange(self._num_examples)
            np.random.shuffle(perm0)
            self._images = self._images[perm0]
            self._labels = self._labels[perm0]
        # Go to the next epoch
        if start + batch_size > self._num_examples:
            # Finished epoch
            self._epochs_completed += 1
            # Get the rest examples in this epoch
            rest_num_examples = self._num_examples - start
            images_rest_part = self._images[start:self._num_examples]
            labels_rest_part = self._labels[start:self._num_examples]
            # Shuffle the data
            if shuffle:
                perm = np.arange(self._num_examples)
                np.random.shuffle(perm)
                self._images = self._images[perm]
                self._labels = self._labels[perm]
            # Start next epoch
            start = 0
            self._index_in_epoch = batch_size - rest_num_examples
            end = self._index_in_epoch
            images_new_part = self._images[start:end]
            labels_new_part = self._labels[start:end]
            return (np.concatenate((images_rest_part, images_new_part), axis=0),
                    np.concatenate((labels_rest_part, labels_new_part), axis=0))
        else:
            self._index_in_epoch += batch_size
            end = self._index_in_epoch
            return self._images[start:end], self._labels[start:end]


PORTS = {"0.12": PortOf0_12, "1.0": PortOf0_12, "1.1": PortOf1_1, "1.2": PortOf1_1, "1.4": PortOf1_1, "1.14": PortOf1_1}


@pytest.mark.parametrize("name", eras.ERAS)
def test_next_batch_is_that_releases(name):
    """Small arrays, odd batches, several epochs: the same rows in the same order as the release's code."""
    era = eras.get(name)
    pixels = np.arange(23 * 4, dtype=np.uint8).reshape(23, 2, 2, 1)
    labels = np.arange(23)
    ours = DataSet(pixels, labels, seed=7, first_epoch_shuffled=era.first_epoch_shuffled, tail_carried=era.tail_carried)
    np.random.seed(7)  # the port's global generator, as the run's own generator is seeded
    theirs = PORTS[name](pixels.reshape(23, 4).astype(np.float32) * np.float32(1 / 255), labels)
    for batch in [5, 5, 5, 5, 5, 7, 3, 9, 9, 9, 4]:
        (a_images, a_labels), (b_images, b_labels) = ours.next_batch(batch), theirs.next_batch(batch)
        assert a_labels.tolist() == b_labels.tolist() and np.array_equal(a_images, b_images), (name, batch)


def test_the_eras_differ_where_their_sources_do():
    first = {name: DataSet(np.zeros((10, 1, 1, 1), np.uint8), np.arange(10), seed=1,
                           first_epoch_shuffled=e.first_epoch_shuffled, tail_carried=e.tail_carried).next_batch(4)[1]
             for name, e in eras.ERAS.items()}
    assert first["0.12"].tolist() == first["1.0"].tolist() == [0, 1, 2, 3]  # file order
    assert first["1.1"].tolist() == first["1.2"].tolist() != [0, 1, 2, 3]
    assert [e.lstm_kernel_initializer for e in eras.ERAS.values()][:2] == [eras.UNIFORM_UNIT_SCALING,
                                                                            eras.GLOROT_UNIFORM]


@pytest.mark.parametrize("name, limit", [("0.12", math.sqrt(3 / 256)), ("1.0", math.sqrt(6 / (256 + 512)))])
def test_the_lstm_kernel_gets_that_releases_default_initializer(name, limit):
    from rnnmnist import registry, runner
    from rnnmnist.tfcompat import v1 as tf
    graph, g = runner.build_graph(registry.load("morvan"), seed=1, era=eras.get(name))
    with graph.as_default():
        (kernel,) = [v for v in tf.global_variables() if v.name.endswith("basic_lstm_cell/kernel:0")]
        (bias,) = [v for v in tf.global_variables() if v.name.endswith("basic_lstm_cell/bias:0")]
    with tf.Session(graph=graph) as sess:
        sess.run(g.init)
        k, b = sess.run([kernel, bias])
    assert k.shape == (256, 512) and limit * 0.98 < np.abs(k).max() <= limit and not b.any()


def test_a_run_records_its_era_and_todays_behaviour_is_three_releases(tmp_path, mnist_dir, reproduce_here):
    from rnnmnist import registry
    variant = registry.load("morvan")  # the cheapest graph to build; its LSTM takes the default initializer too
    curves = {name: [p.value for p in train(variant, mnist_dir, 0, variant.schedule.truncated(41), echo=None,
                                                 progress=None, era=name).points]
              for name in ("1.0", "1.2", "1.4", "1.14")}
    assert len(curves["1.0"]) == 3 and curves["1.2"] == curves["1.4"] == curves["1.14"] != curves["1.0"]
    out = reproduce_here("--variant", "morvan", "--steps", "1", "--tf-semantics", "1.1",
                         "--data-dir", str(mnist_dir), "--out", str(tmp_path), cwd=tmp_path)  # the header says the era
    assert out.returncode == 0, out.stderr
    assert "with TF 1.1 semantics (the tutorial ran on 0.12)" in out.stdout
    (saved,) = (tmp_path / "morvan").glob("*.json")
    record = json.loads(saved.read_text())
    era = record["era"]
    assert era["name"] == "1.1" and not era["own"] and not era["reproducible_then"] and era["tail_carried"]
    assert record["command"].endswith(" --tf-semantics 1.1")  # the command that redoes it names the era


def test_runs_from_before_eras_count_as_todays():
    from rnnmnist import results
    assert results.era_name({"variant": "morvan"}) == eras.TODAY and results.era_name({"era": {"name": "0.12"}}) == "0.12"


def test_every_variant_names_its_era():
    from rnnmnist import registry
    assert {name: registry.load(name).era for name in registry.names()} == {
        "final-state": "1.0", "morvan": "0.12", "softmax-bug": "1.14", "static-projection": "1.4", "static-split": "1.0"}
