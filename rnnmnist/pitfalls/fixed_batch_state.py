"""Lesson: zero_state(batch_size) bakes 128 into the graph of the final-state and morvan tutorials."""
from __future__ import annotations

import tempfile
from pathlib import Path

from .. import registry, runner
from ..dataset import read_data_sets
from ..tfcompat import v1 as tf
from . import Board, Facts, attempt, error_text

SEED = 0
STEPS = 60  # enough to be well above chance; a few seconds


def run(board: Board, data_dir: Path, **_) -> Facts:
    variant = registry.load("final-state")
    mnist = read_data_sets(data_dir, one_hot=True, seed=SEED)
    test_x, test_y = mnist.test.images, mnist.test.labels
    facts: Facts = {}
    board.did("The final-state (and morvan) tutorials start the LSTM from lstm_cell.zero_state(batch_size) "
              "with batch_size = 128, and train on batches of 128. Then they want the accuracy on the "
              f"test set: sess.run(accuracy, feed_dict={{xs: all {len(test_x):,} test images, ...}}).")

    graph, g = runner.build_graph(variant, SEED)
    with tempfile.TemporaryDirectory() as tmp, tf.Session(graph=graph) as sess:
        sess.run(g.init)
        for _ in range(STEPS):
            xs, ys = mnist.train.next_batch(128)
            sess.run(g.train_op, {g.x: xs.reshape(-1, 28, 28), g.y: ys})
        with graph.as_default():
            checkpoint = tf.train.Saver().save(sess, str(Path(tmp) / "trained"))
        _, error = attempt(lambda: sess.run(g.accuracy, {g.x: test_x.reshape(-1, 28, 28), g.y: test_y}))
        facts["error"] = error
        board.happens(f"After {STEPS} training steps, feeding the whole test set: {error_text(error)}")
        board.why("zero_state(128) is a constant of shape [128, 128]. The placeholder said None for the "
                  "batch, so the graph was built without complaint, but at run time the first LSTM step "
                  "puts 10,000 rows of input next to 128 rows of state, and the shapes do not match.")

        # Fix 3 first: it needs no new graph -- evaluate in batches of 128, the last one padded
        facts["batched"] = float(runner.evaluate(sess, g, test_x, test_y, variant.feed_shape))

        for n, fix in enumerate(("batch-state", "no-initial-state"), start=1):
            fixed_graph, fg = runner.build_graph(variant, SEED, frozenset({fix}))
            with tf.Session(graph=fixed_graph) as fixed_sess:
                with fixed_graph.as_default():
                    tf.train.Saver().restore(fixed_sess, checkpoint)  # the same trained weights
                accuracy, error_n = attempt(lambda: float(fixed_sess.run(
                    fg.accuracy, {fg.x: test_x.reshape(-1, 28, 28), fg.y: test_y})))
            facts[fix] = (accuracy, error_n)
            board.fix(n, variant.fixes[fix],
                      error_text(error_n) if error_n else
                      f"all {len(test_x):,} test images at once: accuracy {accuracy:.4f}")
    board.fix(3, "keep the graph, evaluate in batches of 128 (the last one padded, only real rows counted)",
              f"accuracy {facts['batched']:.4f}, the same number from the same weights. "
              "This is what rnnmnist's runner does with such a graph.")
    return facts
