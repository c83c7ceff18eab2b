"""The tutorials' own training loop, written the way they wrote it: one sess.run per call.

It is the benchmark's baseline (the runner must be at least as fast) and the guard's
reference (the runner must print the very same numbers, bit for bit).
"""
from __future__ import annotations

from pathlib import Path

from . import loop, runner
from .curve import BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS, Point
from .spec import Schedule, Variant
from .tfcompat import v1 as tf


class BareLoop:
    def __init__(self, variant: Variant, data_dir: Path, seed: int, schedule: Schedule | None = None):
        self.schedule = schedule or variant.schedule
        # the release the tutorial ran on, as the runner's default
        self.mnist = loop.data_sets(variant, data_dir, seed)
        self.graph, self.g = runner.build_graph(variant, seed)
        self.sess = tf.Session(graph=self.graph)
        self.sess.run(self.g.init)
        self.shape = (self.schedule.batch_size, *variant.feed_shape)
        self.steps = enumerate(self.schedule.steps)
        self.points: list[Point] = []
        self.avg_cost = 0.

    def advance(self, count: int) -> int:
        s, g, sess = self.schedule, self.g, self.sess
        fetch = {BATCH_ACCURACY: g.accuracy, BATCH_LOSS: g.loss}
        done = 0
        for i, step in self.steps:
            batch_xs, batch_ys = self.mnist.train.next_batch(s.batch_size)
            batch_xs = batch_xs.reshape(self.shape)
            sess.run(g.train_op, feed_dict={g.x: batch_xs, g.y: batch_ys})
            if s.epoch_mean_loss:
                self.avg_cost += float(sess.run(g.loss, feed_dict={g.x: batch_xs, g.y: batch_ys})) / s.steps_per_epoch
            if s.is_checkpoint(step):
                for metric in s.batch_metrics:
                    value = sess.run(fetch[metric], feed_dict={g.x: batch_xs, g.y: batch_ys})
                    self.points.append(Point(metric, step, float(value)))
            if s.is_epoch_end(i) and s.epoch_mean_loss:
                self.points.append(Point(EPOCH_MEAN_LOSS, (i + 1) // s.steps_per_epoch, self.avg_cost))
                self.avg_cost = 0.
            done += 1
            if done >= count:
                break
        return done

    def close(self) -> None:
        self.sess.close()
