"""Every variant: the tutorial's variables, a real training step, and the tutorial's loop arithmetic."""
from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest

from conftest import train
from rnnmnist import registry, runner
from rnnmnist.curve import (BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS, FINAL_TEST_ACCURACY, TEST_ACCURACY,
                            TRAIN_ACCURACY)
from rnnmnist.tfcompat import v1

LSTM = "rnn/basic_lstm_cell"
# (name without the variant's scope, shape), in creation order, read off each tutorial's code
VARIABLES = {
    "morvan": [("Variable", [28, 128]), ("Variable_1", [128, 10]), ("Variable_2", [128]), ("Variable_3", [10]),
               (f"{LSTM}/kernel", [128 + 128, 512]), (f"{LSTM}/bias", [512])],
    "final-state": [("Variable", [28, 128]), ("Variable_1", [128, 10]), ("Variable_2", [128]),
                    ("Variable_3", [10]), (f"{LSTM}/kernel", [128 + 128, 512]), (f"{LSTM}/bias", [512])],
    "static-split": [(f"{LSTM}/kernel", [28 + 128, 512]), (f"{LSTM}/bias", [512]),
                     ("Variable", [128, 10]), ("Variable_1", [10])],
    "softmax-bug": [("Variable", [100, 10]), ("Variable_1", [10]),
                    (f"{LSTM}/kernel", [28 + 100, 400]), (f"{LSTM}/bias", [400])],
    "static-projection": [("Variable", [28, 128]), ("Variable_1", [128, 10]), ("Variable_2", [128]),
                          ("Variable_3", [10]), (f"basic/{LSTM}/kernel", [128 + 128, 512]),
                          (f"basic/{LSTM}/bias", [512])],
}


def test_every_variant_is_listed_here():
    assert sorted(VARIABLES) == registry.names()


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_trainable_variables_are_the_tutorials(name):
    graph, _ = runner.build_graph(registry.load(name), seed=0)
    found = [(v.name, v.shape.as_list()) for v in graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)]
    assert found == [(f"{name}/{n}:0", shape) for n, shape in VARIABLES[name]]


# Each tutorial's loop, written out as the tutorial wrote it: (steps, print steps, epoch ends, final eval size)
def loop_morvan():
    steps, step = [], 0
    while step * 128 < 100000:
        steps.append(step)
        step += 1
    return steps, [s for s in steps if s % 20 == 0], [], 0


def loop_final_state():
    steps = list(range(20000))
    return steps, [s for s in steps if s % 20 == 0], [], 0


def loop_static_split():
    steps, step = [], 1
    while step * 128 < 100000:
        steps.append(step)
        step += 1
    return steps, [s for s in steps if s % 10 == 0], [], 128


def loop_epochs(epochs, n_batch):
    steps, ends = [], []
    for epoch in range(epochs):
        for batch in range(n_batch):
            steps.append(epoch * n_batch + batch)
        ends.append(len(steps))
    return steps, [], ends, 0


LOOPS = {"morvan": loop_morvan, "final-state": loop_final_state, "static-split": loop_static_split,
         "softmax-bug": lambda: loop_epochs(21, 55000 // 50),
         "static-projection": lambda: loop_epochs(5, int(55000 / 16))}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_schedule_is_the_tutorials_loop(name):
    schedule = registry.load(name).schedule
    steps, printed, epoch_ends, final_n = LOOPS[name]()
    assert list(schedule.steps) == steps
    assert schedule.checkpoints() == printed
    assert [i + 1 for i in range(len(schedule.steps)) if schedule.is_epoch_end(i)] == epoch_ends
    assert schedule.final_test_images == final_n


def test_metrics_and_eval_set_sizes():
    s = {n: registry.load(n).schedule for n in LOOPS}
    assert s["static-split"].batch_metrics == (BATCH_ACCURACY, BATCH_LOSS)  # acc, then loss, as printed
    assert s["softmax-bug"].epoch_eval == (TEST_ACCURACY,)
    assert s["static-projection"].epoch_eval == (TRAIN_ACCURACY, TEST_ACCURACY)
    assert s["static-projection"].epoch_mean_loss
    sizes = s["static-projection"].sample_sizes()
    assert (sizes[TRAIN_ACCURACY], sizes[TEST_ACCURACY], sizes[EPOCH_MEAN_LOSS]) == (55000, 10000, 3437)
    assert s["static-split"].sample_sizes()[FINAL_TEST_ACCURACY] == 128
    assert s["softmax-bug"].sample_sizes()[BATCH_ACCURACY] == 50


def test_documented_checkpoints_lie_on_the_schedule():
    for name in registry.names():
        variant = registry.load(name)
        if variant.reference is None:
            continue
        for p in [p for ref in (variant.reference, *variant.reference.also) for p in ref.points]:
            if p.metric in (BATCH_ACCURACY, BATCH_LOSS):
                assert p.at in variant.schedule.checkpoints(), (name, p)
            else:
                assert 1 <= p.at <= variant.schedule.epochs, (name, p)


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_one_training_step_runs_and_changes_the_weights(name, mnist_dir):
    variant = registry.load(name)
    one = replace(variant.schedule.truncated(1), every=1, batch_metrics=(BATCH_LOSS,), epoch_eval=(),
                  epoch_mean_loss=False)
    curve = train(variant, mnist_dir, seed=0, schedule=one, echo=None, progress=None)
    assert curve.steps_run == 1
    loss = [p.value for p in curve.points if p.metric == BATCH_LOSS]
    assert len(loss) == 1 and math.isfinite(loss[0]) and loss[0] > 0


def test_fixed_batch_graphs_are_evaluated_in_batches_of_their_size(mnist_dir):
    """A zero_state(128) graph cannot take 300 images at once; evaluate() feeds 128, 128, 44 (+84 padding)."""
    from rnnmnist.dataset import read_data_sets
    variant = registry.load("final-state")
    graph, g = runner.build_graph(variant, seed=0)
    test = read_data_sets(mnist_dir, one_hot=True).test
    images, labels = test.images[:300], test.labels[:300]
    with v1.Session(graph=graph) as sess:
        sess.run(g.init)
        with pytest.raises(Exception):
            sess.run(g.accuracy, {g.x: images.reshape(-1, 28, 28), g.y: labels})
        chunked = runner.evaluate(sess, g, images, labels, variant.feed_shape)
        correct = np.concatenate([sess.run(g.correct, {g.x: images[i:i + 128].reshape(-1, 28, 28),
                                                       g.y: labels[i:i + 128]}) for i in (0, 128)])
        last = sess.run(g.correct, {g.x: images[172:300].reshape(-1, 28, 28), g.y: labels[172:300]})[-44:]
    assert chunked == np.float32(np.concatenate([correct, last]).mean())


def test_softmax_fix_changes_only_the_softmax():
    variant = registry.load("softmax-bug")
    assert set(variant.fixes) == {"softmax"}
    buggy, g_buggy = runner.build_graph(variant, seed=0)
    fixed, g_fixed = runner.build_graph(variant, seed=0, fixes=frozenset({"softmax"}))
    ops_buggy = {op.name: op.type for op in buggy.get_operations()}
    ops_fixed = {op.name: op.type for op in fixed.get_operations()}
    assert set(ops_fixed) < set(ops_buggy)
    extra = {name for name in ops_buggy if name not in ops_fixed}
    assert {n for n in extra if "/gradients/" not in n} == {"softmax-bug/Softmax"}
    assert all("/Softmax_grad/" in n for n in extra if "/gradients/" in n)
    # same variables, same initial values under the same seed
    values = []
    for graph, g in ((buggy, g_buggy), (fixed, g_fixed)):
        with v1.Session(graph=graph) as sess:
            sess.run(g.init)
            values.append(sess.run(graph.get_collection(v1.GraphKeys.TRAINABLE_VARIABLES)))
    assert all(np.array_equal(a, b) for a, b in zip(*values))


def test_schedule_descriptions():
    assert registry.load("softmax-bug").schedule.describe() == "21 epochs x 1100 steps, batch 50"
    assert registry.load("softmax-bug").schedule.truncated(200).describe() == "200 steps of 1100-step epochs, batch 50"
    assert registry.load("morvan").schedule.describe() == "782 steps, batch 128"


@pytest.mark.parametrize("name", registry.names())
def test_hyperparameters_recorded_with_a_run_are_the_modules_constants(name):
    """They are typed twice (the constants the graph uses, the mapping saved with each run): keep them one."""
    import importlib
    module = importlib.import_module(f"rnnmnist.tutorials.{name.replace('-', '_')}")
    constants = {k: v for k, v in module.VARIANT.hyperparameters.items() if hasattr(module, k)}
    assert constants and all(getattr(module, k) == v for k, v in constants.items()), name
    described = set(module.VARIANT.hyperparameters) - set(constants)  # words, not numbers
    assert all(isinstance(module.VARIANT.hyperparameters[k], str) for k in described), described


@pytest.mark.parametrize("name", registry.names())
def test_a_variant_names_its_tutorial_not_a_file_a_clone_lacks(name):
    """The tutorials' pages were read from a folder a user's clone does not have: what the code prints names the
    tutorial (author, title, address where known), never that folder's file names."""
    variant = registry.load(name)
    printed = [variant.tutorial] + [ref.source for ref in [variant.reference] if ref]
    assert not any(re.search(r"\b\w+\.md\b", re.sub(r"https://\S+", "", text)) for text in printed), printed
    assert len(variant.tutorial) > 20
