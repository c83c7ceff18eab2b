"""Lesson: softmax applied before softmax_cross_entropy_with_logits in the softmax-bug tutorial."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import registry, runner
from ..dataset import read_data_sets
from ..tfcompat import v1 as tf
from . import Board, Facts

SEED = 0
STEPS = 300     # batches of 50: a few seconds per graph
EVAL = 2000     # test images for the accuracy after training


def _train(variant, data_dir: Path, fixes: frozenset[str]) -> dict[str, float]:
    """Same seed, so the same initial weights and the same batches for both graphs."""
    mnist = read_data_sets(data_dir, one_hot=True, seed=SEED)
    graph, g = runner.build_graph(variant, SEED, fixes)
    with graph.as_default():
        norm = tf.global_norm(tf.gradients(g.loss, tf.trainable_variables()))
    norms, losses = [], []
    with tf.Session(graph=graph) as sess:
        sess.run(g.init)
        for _ in range(STEPS):
            xs, ys = mnist.train.next_batch(50)
            feed = {g.x: xs, g.y: ys}
            n, loss = sess.run([norm, g.loss], feed)  # before this batch's update
            norms.append(float(n))
            losses.append(float(loss))
            sess.run(g.train_op, feed)
        feed = {g.x: mnist.test.images[:EVAL], g.y: mnist.test.labels[:EVAL]}
        loss, accuracy = sess.run([g.loss, g.accuracy], feed)
    return {"first_grad_norm": norms[0], "mean_grad_norm": float(np.mean(norms)), "first_loss": losses[0],
            "test_loss": float(loss), "test_accuracy": float(accuracy)}


def run(board: Board, data_dir: Path, **_) -> Facts:
    variant = registry.load("softmax-bug")
    board.did("The softmax-bug tutorial ends its RNN with results = tf.nn.softmax(logits) and then computes "
              "tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=results). That loss applies "
              "softmax itself, so the probabilities go through softmax a second time.")
    buggy = _train(variant, data_dir, frozenset())
    fixed = _train(variant, data_dir, frozenset({"softmax"}))
    floor = -math.log(math.e / (math.e + 9))  # perfect probabilities (1, 0, ..., 0), softmaxed again
    rows = [("gradient norm, first batch", "first_grad_norm", "{:.4f}"),
            (f"gradient norm, mean of {STEPS} steps", "mean_grad_norm", "{:.4f}"),
            ("loss, first batch", "first_loss", "{:.4f}"),
            (f"loss on {EVAL} test images after {STEPS} steps", "test_loss", "{:.4f}"),
            (f"accuracy on {EVAL} test images after {STEPS} steps", "test_accuracy", "{:.4f}")]
    table = "\n".join(f"  {label:45} buggy {fmt.format(buggy[key]):>8}   fixed {fmt.format(fixed[key]):>8}"
                      for label, key, fmt in rows)
    board.happens(f"The same seed, the same initial weights, the same {STEPS} batches of 50, Adam 1e-4:\n{table}")
    board.why(f"softmax of numbers in [0, 1] is nearly flat: the best the buggy model can ever output, "
              f"(1, 0, ..., 0), becomes (e, 1, ..., 1) / (e + 9), so its loss can never go below "
              f"-log(e / (e + 9)) = {floor:.4f}, and the gradient passes through two softmaxes, each "
              f"shrinking it (the buggy gradient is {buggy['mean_grad_norm'] / fixed['mean_grad_norm']:.2f} "
              f"times the fixed one here). It still learns because softmax keeps the order: the class "
              f"with the largest probability is still the prediction, and every step still pushes the "
              f"right class up. It learns more slowly, and its loss is meaningless as a number.")
    board.fix(1, "pass the logits, not softmax(logits), to softmax_cross_entropy_with_logits "
                 "(python -m rnnmnist.reproduce --variant softmax-bug --fix softmax)",
              f"accuracy {fixed['test_accuracy']:.4f} instead of {buggy['test_accuracy']:.4f} after {STEPS} steps; "
              f"loss {fixed['test_loss']:.4f}, free to go to 0.")
    return {"buggy": buggy, "fixed": fixed, "loss_floor": floor}
