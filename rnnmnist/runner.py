"""The shared session runner: a variant's declared graph and schedule, run in a tf.compat.v1.Session."""
from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from . import tfcompat
from .dataset import read_data_sets
from .spec import (BATCH_ACCURACY, BATCH_LOSS, EPOCH, EPOCH_MEAN_LOSS, FINAL, FINAL_TEST_ACCURACY, STEP,
                   TRAIN_ACCURACY, Curve, Event, Graph, Point, Schedule, Variant)

tf = tfcompat.v1

PROGRESS_EVERY_S = 30.0


class Interrupted(Exception):
    """Raised (by a signal handler) to stop a run the way Ctrl-C does."""


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite."""

    def __init__(self, step: int, value: float):
        super().__init__(f"the training loss became {value} at step {step}")
        self.step, self.value = step, value


def build_graph(variant: Variant, seed: int, fixes: frozenset[str] = frozenset()) -> tuple["tf.Graph", Graph]:
    """Build the variant's graph in a fresh tf.Graph, inside a variable scope named after it."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        # TF1's BasicLSTMCell drew its kernel initialiser from the graph seed; tf-keras's legacy
        # cell seeds its (stateless) initialiser from Python's `random`, so seed that too.
        random.seed(seed)
        with tf.variable_scope(variant.name):
            handles = variant.build(fixes)
    # initialize_all_variables() warns at exit if never run; a graph built only to inspect it is fine.
    getattr(handles.init, "mark_used", lambda: None)()
    return graph, handles


def evaluate(sess: "tf.Session", g: Graph, images: np.ndarray, labels: np.ndarray,
             feed_shape: tuple[int, ...]) -> np.float32:
    """Accuracy on a whole set, fed at once as the tutorials did, or in fixed-size batches.

    A graph with a fixed batch (zero_state(batch_size)) accepts only that many rows: the set
    goes in chunks of that size, the last one padded with repeats of its first row, and only
    the real rows are counted (each row's prediction depends on that row alone).
    """
    x = images.reshape((-1, *feed_shape))
    if g.fixed_batch is None:
        return sess.run(g.accuracy, feed_dict={g.x: x, g.y: labels})
    n, hits = g.fixed_batch, 0
    for start in range(0, len(x), n):
        xb, yb = x[start:start + n], labels[start:start + n]
        k = len(xb)
        if k < n:
            xb = np.concatenate([xb, np.repeat(xb[:1], n - k, axis=0)])
            yb = np.concatenate([yb, np.repeat(yb[:1], n - k, axis=0)])
        hits += int(sess.run(g.correct, feed_dict={g.x: xb, g.y: yb})[:k].sum())
    return np.float32(hits / len(x))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _silent(line: str) -> None:
    pass


class _Progress:
    """A line on stderr now and then, so a long run never looks hung."""

    def __init__(self, total: int, stream: TextIO | None):
        self.total, self.stream = total, stream
        self.start = self.last = time.perf_counter()

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if self.stream is None or now - self.last < PROGRESS_EVERY_S or done == 0:
            return
        self.last = now
        left = (now - self.start) / done * (self.total - done)
        print(f"[rnnmnist] step {done}/{self.total}, {now - self.start:.0f} s so far, about {left:.0f} s left",
              file=self.stream, flush=True)


def run(variant: Variant, data_dir: Path, seed: int, schedule: Schedule | None = None,
        fixes: frozenset[str] = frozenset(), echo: Callable[[str], None] | None = print,
        progress: TextIO | None = sys.stderr) -> Curve:
    """Train `variant` with `schedule` (default: the tutorial's), printing what the tutorial printed.

    `echo=None` prints nothing; `progress=None` shows no progress lines. Ctrl-C (or
    `Interrupted`) stops the run after the step in progress and returns what it finished, with
    `curve.interrupted` set; a NaN or infinite loss raises NonFiniteLoss at once.
    """
    t0 = time.perf_counter()
    schedule = schedule or variant.schedule
    # tf.set_random_seed(seed) came before read_data_sets in TF1, which seeded its shuffle with it.
    mnist = read_data_sets(data_dir, one_hot=True, seed=seed, say=_stderr if progress else _silent,
                           echo=echo or _silent)
    graph, g = build_graph(variant, seed, fixes)
    curve = Curve()
    tick = _Progress(len(schedule.steps), progress)

    def emit(kind: str, at: int, values: dict, points: list[Point]) -> None:
        curve.points.extend(points)
        if echo:
            for line in variant.print_event(Event(kind, at, values)):
                echo(line)

    with tf.Session(graph=graph) as sess:
        sess.run(g.init)
        t_train = time.perf_counter()
        try:
            _train(sess, g, mnist, schedule, variant.feed_shape, curve, emit, tick)
        except (KeyboardInterrupt, Interrupted) as e:
            curve.interrupted = type(e).__name__ if isinstance(e, KeyboardInterrupt) else str(e) or "Interrupted"
            curve.train_time_s = time.perf_counter() - t_train
            curve.wall_time_s = time.perf_counter() - t0
            return curve
        curve.train_time_s = time.perf_counter() - t_train
        last = schedule.steps[curve.steps_run - 1] if curve.steps_run else schedule.steps.start
        values, points = {}, []
        if schedule.final_test_images:
            n = schedule.final_test_images
            values[FINAL_TEST_ACCURACY] = evaluate(sess, g, mnist.test.images[:n], mnist.test.labels[:n],
                                                   variant.feed_shape)
            points.append(Point(FINAL_TEST_ACCURACY, last, float(values[FINAL_TEST_ACCURACY])))
        emit(FINAL, last, values, points)  # also where a tutorial prints "Optimization Finished!"
    curve.wall_time_s = time.perf_counter() - t0
    return curve


def _train(sess, g: Graph, mnist, schedule: Schedule, feed_shape: tuple[int, ...], curve: Curve,
           emit: Callable[[str, int, dict, list[Point]], None], tick: _Progress) -> None:
    """The tutorial's loop: a step, its printed metrics, and after each epoch the epoch's numbers."""
    fetch = {BATCH_ACCURACY: g.accuracy, BATCH_LOSS: g.loss}
    batch_fetches = [fetch[m] for m in schedule.batch_metrics]
    bs, spe, shape = schedule.batch_size, schedule.steps_per_epoch, (schedule.batch_size, *feed_shape)
    epoch_losses: list[float] = []
    for i, step in enumerate(schedule.steps):
        batch_xs, batch_ys = mnist.train.next_batch(bs)
        feed = {g.x: batch_xs.reshape(shape), g.y: batch_ys}
        # The loss comes from the same forward pass as the update: checking it costs nothing.
        _, loss = sess.run([g.train_op, g.loss], feed_dict=feed)
        if not math.isfinite(loss):
            raise NonFiniteLoss(step, float(loss))
        curve.steps_run = i + 1  # the update is done
        if schedule.epoch_mean_loss:
            epoch_losses.append(float(sess.run(g.loss, feed_dict=feed)))
        if batch_fetches and step % schedule.every == 0:
            # The tutorials ran each metric in its own sess.run on the same batch: same numbers.
            values = dict(zip(schedule.batch_metrics, sess.run(batch_fetches, feed_dict=feed)))
            emit(STEP, step, values, [Point(m, step, float(v)) for m, v in values.items()])
        if spe and (i + 1) % spe == 0:
            epoch = (i + 1) // spe
            values, points = {}, []
            if schedule.epoch_mean_loss:
                # avg_cost += sess.run(cost, ...) / total_batch, step by step; NumPy before 2.0
                # computed float32 / int in float64, hence the Python floats.
                avg_cost = 0.
                for c in epoch_losses:
                    avg_cost += c / spe
                values[EPOCH_MEAN_LOSS] = avg_cost
                points.append(Point(EPOCH_MEAN_LOSS, epoch, avg_cost, sd=float(np.std(epoch_losses))))
                epoch_losses = []
            for metric in schedule.epoch_eval:
                data = mnist.train if metric == TRAIN_ACCURACY else mnist.test
                values[metric] = evaluate(sess, g, data.images, data.labels, feed_shape)
                points.append(Point(metric, epoch, float(values[metric])))
            emit(EPOCH, epoch, values, points)
        tick(i + 1)
