"""The tutorials' training loop, whatever trains the model: the TF1 session runner (rnnmnist.runner) and the
Keras 3 runner (rnnmnist.kerasrunner) both go through it.

`Loop` feeds MNIST's next_batch under the plan's era, decides when to print, evaluate and end an epoch
as the tutorial's loop did, prints its lines through the variant's print_event, and records the curve;
a subclass gives the model: one update, the metrics on a batch, the accuracy on a whole set. `run` drives
one: stop requests, the checkpoint, the timing. No TensorFlow here: a Keras run must never import TF1
semantics (rnnmnist.tfcompat).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

import numpy as np

from . import eras
from .compare import LABELS
from .curve import EPOCH_MEAN_LOSS, FINAL_TEST_ACCURACY, TRAIN_ACCURACY, Curve, Point
from .dataset import read_data_sets
from .eras import Era
from .printing import numpy113_str
from .progress import Progress
from .sources import to_stderr
from .spec import EPOCH, FINAL, STEP, Event, Variant
from .stopping import Interrupted, Stop, StopNow

if TYPE_CHECKING:
    from .plan import Plan

OnRecord = Callable[[list[Point], int, float], None]


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite."""

    def __init__(self, step: int, value: float):
        super().__init__(f"the training loss became {value} at step {step}")
        self.step, self.value = step, value


def data_sets(variant: Variant, data_dir: Path, seed: int, era: Era | None = None, **kwargs):
    """MNIST as read_data_sets gives it under `era`'s next_batch (None: the tutorial's own release)."""
    era = era or eras.get(variant.era)
    return read_data_sets(data_dir, one_hot=True, seed=seed, first_epoch_shuffled=era.first_epoch_shuffled,
                          tail_carried=era.tail_carried, **kwargs)


def _silent(line: str) -> None:
    pass


class Loop:
    """One run in progress: its data, its model (a subclass's `_build`), and where the loop is.

    `advance(n)` trains the next n steps of the schedule exactly as the tutorial's loop would
    (printing what it printed); `finish()` runs what comes after the loop.
    """

    def __init__(self, plan: "Plan", echo: Callable[[str], None] | None = print, progress: TextIO | None = None,
                 stop: Stop | None = None, on_record: OnRecord | None = None):
        variant, seed = plan.variant, plan.request.seed
        self.plan, self.variant, self.schedule, self.echo = plan, variant, plan.schedule, echo
        self.stop = stop or Stop()
        self.on_record = on_record
        # tf.set_random_seed(seed) came before read_data_sets in TF1, which seeded its shuffle with it.
        self.mnist = data_sets(variant, plan.request.data_dir, seed, plan.era, say=to_stderr if progress else _silent,
                               echo=echo or _silent)
        self.curve = Curve()
        self.events = None
        self._build()
        self.tick = Progress(len(self.schedule.steps), progress, label=variant.name)
        self.echo = self.tick.lines_around(echo)
        self._start()
        self._shape = (self.schedule.batch_size, *variant.feed_shape)
        self._steps = enumerate(self.schedule.steps)
        self._epoch_losses: list[float] = []
        self.started = time.perf_counter()

    # ---- the model, given by a subclass -------------------------------------------------------------
    def _build(self) -> None:
        """Build the model (seeded by the plan)."""
        raise NotImplementedError

    def _start(self) -> None:
        """Initialise it, once the progress line is set up."""

    def _update(self, x: np.ndarray, y: np.ndarray) -> np.float32:
        """One training step on the batch; the loss of its forward pass (before the update)."""
        raise NotImplementedError

    def _loss(self, x: np.ndarray, y: np.ndarray) -> np.float32:
        """The loss on the batch, as the model is now."""
        raise NotImplementedError

    def _metrics(self, x: np.ndarray, y: np.ndarray) -> list:
        """The schedule's batch metrics on the batch, as the model is now, in its order."""
        raise NotImplementedError

    def _evaluate(self, images: np.ndarray, labels: np.ndarray) -> np.float32:
        """The accuracy on a whole set."""
        raise NotImplementedError

    def save_checkpoint(self, root: Path, name: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.tick.close()

    # ---- the tutorial's loop --------------------------------------------------------------------------
    def record(self, points: list[Point]) -> None:
        self.curve.points.extend(points)
        if self.on_record is not None and points:  # before the lines that print them
            self.on_record(points, self.curve.steps_run, time.perf_counter() - self.started)
        if self.events is not None and points:
            self.events.add(points)

    def emit(self, kind: str, at: int, values: dict, points: list[Point]) -> None:
        self.record(points)
        if self.echo:
            for line in self.variant.print_event(Event(kind, at, values)):
                self.echo(line)

    def advance(self, count: int | None = None) -> int:
        """Train up to `count` more steps (all that are left if None); return how many it trained."""
        s, batch_size = self.schedule, self.schedule.batch_size
        done = 0
        for i, step in self._steps:
            self.stop.check()
            batch_xs, batch_ys = self.mnist.train.next_batch(batch_size)
            batch_xs = batch_xs.reshape(self._shape)
            # The loss comes from the same forward pass as the update: checking it costs nothing.
            loss = self._update(batch_xs, batch_ys)
            if not math.isfinite(loss):
                raise NonFiniteLoss(step, float(loss))
            self.curve.steps_run = i + 1  # the update is done
            if s.epoch_mean_loss:
                # the tutorial runs cost again after the update, on the same batch
                self._epoch_losses.append(float(self._loss(batch_xs, batch_ys)))
            if s.is_checkpoint(step):
                # The tutorials ran each metric in its own sess.run on the same batch: same numbers.
                values = dict(zip(s.batch_metrics, self._metrics(batch_xs, batch_ys)))
                self.emit(STEP, step, values, [Point(m, step, float(v)) for m, v in values.items()])
            if s.is_epoch_end(i):
                self._end_epoch((i + 1) // s.steps_per_epoch)
            self.tick(i + 1)
            done += 1
            if count is not None and done >= count:
                break
        return done

    def _end_epoch(self, epoch: int) -> None:
        values, points = {}, []
        if self.schedule.epoch_mean_loss:
            # avg_cost += sess.run(cost, ...) / total_batch, step by step; NumPy before 2.0
            # computed float32 / int in float64, hence the Python floats.
            avg_cost = 0.
            for c in self._epoch_losses:
                avg_cost += c / self.schedule.steps_per_epoch
            values[EPOCH_MEAN_LOSS] = avg_cost
            points.append(Point(EPOCH_MEAN_LOSS, epoch, avg_cost, sd=float(np.std(self._epoch_losses))))
            self._epoch_losses = []
        for metric in self.schedule.epoch_eval:
            data = self.mnist.train if metric == TRAIN_ACCURACY else self.mnist.test
            values[metric] = self._evaluate(data.images, data.labels)
            points.append(Point(metric, epoch, float(values[metric])))
        self.emit(EPOCH, epoch, values, points)

    def finish(self) -> None:
        """What the tutorial does after its loop: the final test accuracy, the closing print."""
        s = self.schedule
        last = s.steps[self.curve.steps_run - 1] if self.curve.steps_run else s.steps.start
        values, points = {}, []
        if s.final_test_images:
            n = s.final_test_images
            values[FINAL_TEST_ACCURACY] = self._evaluate(self.mnist.test.images[:n], self.mnist.test.labels[:n])
            points.append(Point(FINAL_TEST_ACCURACY, last, float(values[FINAL_TEST_ACCURACY])))
        if len(s.steps) < len(self.variant.schedule.steps):
            # "Optimization Finished!" after 200 of 781 steps would not be true: say what ran instead
            self.record(points)
            if self.echo:
                # counted as the header counts them: steps run, not the tutorial's counter (0- or 1-based)
                ran = f"{self.curve.steps_run} of {len(self.variant.schedule.steps)} steps"
                self.echo(f"[truncated after {ran}: the tutorial's closing lines come only after its last step]")
                for metric, value in values.items():
                    self.echo(f"[truncated] {LABELS[metric]} after {ran}: {numpy113_str(value)}")
            return
        self.emit(FINAL, last, values, points)  # also where a tutorial prints "Optimization Finished!"


def run(start: Callable[[Stop], Loop], plan: "Plan", stop: Stop | None = None) -> Curve:
    """Train the loop `start(stop)` makes to its end; the curve (as `runner.run` describes)."""
    t0 = time.perf_counter()
    stop = stop or Stop()
    with stop.interruptible():  # nothing trained yet: a stop-now leaves nothing to keep
        training = start(stop)
    curve = training.curve
    try:
        t_train = time.perf_counter()
        try:
            with stop.interruptible():
                training.advance()
                curve.train_time_s = time.perf_counter() - t_train
                training.finish()
        except (KeyboardInterrupt, Interrupted, StopNow) as e:
            curve.interrupted = type(e).__name__ if isinstance(e, KeyboardInterrupt) else str(e) or "Interrupted"
            curve.train_time_s = time.perf_counter() - t_train
        if plan.request.checkpoint is not None:
            training.save_checkpoint(plan.request.checkpoint, plan.run_name(bool(curve.interrupted)))
    finally:
        training.close()
    # to the millisecond, as the record keeps them: a run and its record read back are the same
    curve.wall_time_s, curve.train_time_s = round(time.perf_counter() - t0, 3), round(curve.train_time_s, 3)
    return curve
