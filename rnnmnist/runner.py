"""The shared session runner: a variant's declared graph and schedule, run in a tf.compat.v1.Session."""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

from . import tfcompat
from .dataset import read_data_sets
from .spec import BATCH_ACCURACY, BATCH_LOSS, Curve, Event, Graph, Point, Schedule, Variant

tf = tfcompat.v1

PROGRESS_EVERY_S = 30.0


def build_graph(variant: Variant, seed: int) -> tuple["tf.Graph", Graph]:
    """Build the variant's graph in a fresh tf.Graph, inside a variable scope named after it."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        # TF1's BasicLSTMCell drew its kernel initialiser from the graph seed; tf-keras's legacy
        # cell seeds its (stateless) initialiser from Python's `random`, so seed that too.
        random.seed(seed)
        with tf.variable_scope(variant.name):
            handles = variant.build()
    # initialize_all_variables() warns at exit if never run; a graph built only to inspect it is fine.
    getattr(handles.init, "mark_used", lambda: None)()
    return graph, handles


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
        echo: Callable[[str], None] | None = print, progress: TextIO | None = sys.stderr) -> Curve:
    """Train `variant` with `schedule` (default: the tutorial's), printing what the tutorial printed.

    `echo=None` prints nothing; `progress=None` shows no progress lines.
    """
    t0 = time.perf_counter()
    schedule = schedule or variant.schedule
    # tf.set_random_seed(seed) came before read_data_sets in TF1, which seeded its shuffle with it.
    mnist = read_data_sets(data_dir, one_hot=True, seed=seed, say=_stderr if progress else _silent,
                           echo=echo or _silent)
    graph, g = build_graph(variant, seed)
    fetch = {BATCH_ACCURACY: g.accuracy, BATCH_LOSS: g.loss}
    metrics = {m: fetch[m] for m in schedule.batch_metrics}
    bs, shape = schedule.batch_size, (schedule.batch_size, *variant.feed_shape)
    curve = Curve()
    tick = _Progress(len(schedule.steps), progress)
    with tf.Session(graph=graph) as sess:
        sess.run(g.init)
        t_train = time.perf_counter()
        for i, step in enumerate(schedule.steps):
            batch_xs, batch_ys = mnist.train.next_batch(bs)
            feed = {g.x: batch_xs.reshape(shape), g.y: batch_ys}
            sess.run(g.train_op, feed_dict=feed)
            if metrics and step % schedule.every == 0:
                # The tutorials ran each metric in its own sess.run on the same batch: same numbers.
                values = {m: float(v) for m, v in zip(metrics, sess.run(list(metrics.values()), feed_dict=feed))}
                curve.points.extend(Point(m, step, v) for m, v in values.items())
                if echo:
                    for line in variant.print_event(Event(step, values)):
                        echo(line)
            curve.steps_run = i + 1
            tick(i + 1)
        curve.train_time_s = time.perf_counter() - t_train
    curve.wall_time_s = time.perf_counter() - t0
    return curve
