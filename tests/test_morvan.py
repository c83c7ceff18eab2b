"""Morvan in depth: its recipe, the reuse error, real training, determinism, its printed lines."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from rnnmnist import registry, runner
from rnnmnist.spec import BATCH_ACCURACY, BATCH_LOSS
from rnnmnist.tfcompat import v1

MORVAN = registry.load("morvan")


def test_graph_ops_and_recipe():
    graph, g = runner.build_graph(MORVAN, seed=1)
    types = {op.type for op in graph.get_operations()}
    assert "RandomStandardNormal" in types           # tf.random_normal weights
    assert "ApplyAdam" in types and "VariableV2" in types  # TF1 ref variables, not resource ones
    assert g.fixed_batch == 128                       # zero_state(batch_size)
    assert g.x.shape.as_list() == [None, 28, 28]
    assert MORVAN.hyperparameters["lr"] == 0.001


def test_rebuilding_the_cell_in_one_graph_fails_as_in_the_tutorials():
    graph, _ = runner.build_graph(MORVAN, seed=1)
    with graph.as_default(), pytest.raises(ValueError) as e:
        with v1.variable_scope("morvan"):
            MORVAN.build()
    assert str(e.value).startswith("Variable morvan/rnn/basic_lstm_cell/kernel already exists, disallowed. "
                                   "Did you mean to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?")


def short(steps: int, every: int):
    return replace(MORVAN.schedule.truncated(steps), every=every, batch_metrics=(BATCH_ACCURACY, BATCH_LOSS))


def losses(curve):
    return [p.value for p in curve.points if p.metric == BATCH_LOSS]


def test_a_short_real_run_learns(mnist_dir):
    curve = runner.run(MORVAN, mnist_dir, seed=1, schedule=short(100, 5), echo=None, progress=None)
    loss = losses(curve)
    assert curve.steps_run == 100 and len(loss) == 20
    assert sum(loss[-5:]) / 5 < 0.6 * sum(loss[:5]) / 5
    acc = [p.value for p in curve.points if p.metric == BATCH_ACCURACY]
    assert sum(acc[-5:]) / 5 > 0.5


def test_same_seed_same_curve_other_seed_other_curve(mnist_dir):
    def curve(seed):
        return runner.run(MORVAN, mnist_dir, seed=seed, schedule=short(25, 4), echo=None, progress=None).points
    first = curve(7)
    assert curve(7) == first  # bit for bit
    assert curve(8) != first


def test_prints_what_the_tutorial_printed(mnist_dir):
    lines = []
    runner.run(MORVAN, mnist_dir, seed=1, schedule=MORVAN.schedule.truncated(41), echo=lines.append, progress=None)
    assert lines[:4] == [f"Extracting {mnist_dir / n}" for n in
                         ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]
    accuracies, closing = lines[4:7], lines[7:]
    assert closing == ["[truncated after 41 of 782 steps: the tutorial's closing lines come only after its last step]"]
    assert all(re.fullmatch(r"(0\.\d{1,6}|1\.0)", a) for a in accuracies), accuracies
