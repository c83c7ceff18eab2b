"""The shared session runner: a variant's declared graph and schedule, run in a tf.compat.v1.Session."""
from __future__ import annotations

import ctypes
import math
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

import numpy as np

from . import checkpoints, cpu, eras, tfcompat
from .compare import LABELS
from .dataset import read_data_sets
from .sources import to_stderr
from .printing import numpy113_str
from .progress import Progress
from .eras import UNIFORM_UNIT_SCALING, Era
from .stopping import Interrupted, Stop, StopNow
from .curve import BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS, FINAL_TEST_ACCURACY, TRAIN_ACCURACY, Curve, Point
from .spec import EPOCH, FINAL, STEP, Event, GraphHandles, Variant

if TYPE_CHECKING:
    from .plan import Plan

tf = tfcompat.v1


def session(graph: "tf.Graph", inter_op: int = 0) -> "tf.Session":
    """The tutorials' tf.Session(), with thread pools that fit these graphs.

    Their ops are small (batches of 16 to 128, 128 units): splitting one op across cores
    (intra-op) costs more than it gains, while running independent ops at once (inter-op)
    helps the dynamic_rnn loops (measured in separate processes on 2 cores: docs/MAINTAINING.md,
    the benchmark). The intra-op count also decides how reductions are split, so it changes
    a curve's last bits: fixed at one, a seed gives the same curve on any core count. The
    inter-op count changes no bit (tests/test_cli.py): a request sets it (0: one per core), and
    --jobs N gives each worker cores // N.
    """
    pools = cpu.session_threads(inter_op)
    return tf.Session(graph=graph, config=tf.ConfigProto(intra_op_parallelism_threads=pools["intra_op"],
                                                         inter_op_parallelism_threads=pools["inter_op"]))


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Give the heap's free pages back to the system (glibc keeps what training steps freed).

    Changes no number: no tensor is touched, only memory nobody holds. Elsewhere than glibc, nothing.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


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


def build_graph(variant: Variant, seed: int, fixes: frozenset[str] = frozenset(),
                era: Era | None = None) -> tuple["tf.Graph", GraphHandles]:
    """Build the variant's graph in a fresh tf.Graph, inside a variable scope named after it.

    `era`: the TensorFlow release whose get_variable default initializer the LSTM kernel gets
    (None: the tutorial's own release).
    """
    era = era or eras.get(variant.era)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        # TF1's BasicLSTMCell drew its kernel initialiser from the graph seed; tf-keras's legacy
        # cell seeds its (stateless) initialiser from Python's `random`, so seed that too.
        random.seed(seed)
        # 0.12's default initializer, given to the scope; from 1.0 on the default is today's
        initializer = (tf.uniform_unit_scaling_initializer()
                       if era.lstm_kernel_initializer == UNIFORM_UNIT_SCALING else None)
        with tf.variable_scope(variant.name, initializer=initializer):
            handles = variant.build(fixes)
    # initialize_all_variables() warns at exit if never run; a graph built only to inspect it is fine.
    getattr(handles.init, "mark_used", lambda: None)()
    return graph, handles


def evaluate(sess: "tf.Session", g: GraphHandles, images: np.ndarray, labels: np.ndarray,
             feed_shape: tuple[int, ...]) -> np.float32:
    """Accuracy on a whole set, fed at once as the tutorials did, or in fixed-size batches.

    A graph with a fixed batch (zero_state(batch_size)) accepts only that many rows: the set
    goes in chunks of that size, the last one padded with repeats of its first row, and only
    the real rows are counted (each row's prediction depends on that row alone).
    """
    x = images.reshape((-1, *feed_shape))
    if g.fixed_batch is None:
        release_free_memory()  # a whole set's activations are the run's peak: start it from the smallest heap
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


def _silent(line: str) -> None:
    pass


class Training:
    """One run in progress: the variant's graph, a session, its data, and where the loop is.

    `advance(n)` trains the next n steps of the schedule exactly as the tutorial's loop would
    (printing what it printed); `finish()` runs what comes after the loop. `run()` does both
    at once; the benchmark alternates segments of it with the tutorial's own loop.
    """

    def __init__(self, plan: "Plan", echo: Callable[[str], None] | None = print, progress: TextIO | None = None,
                 stop: Stop | None = None, on_record: Callable[[list[Point], int, float], None] | None = None):
        variant, seed = plan.variant, plan.request.seed
        self.plan, self.variant, self.schedule, self.echo = plan, variant, plan.schedule, echo
        self.stop = stop or Stop()
        self.on_record = on_record
        # tf.set_random_seed(seed) came before read_data_sets in TF1, which seeded its shuffle with it.
        self.mnist = data_sets(variant, plan.request.data_dir, seed, plan.era, say=to_stderr if progress else _silent,
                               echo=echo or _silent)
        self.graph, self.g = build_graph(variant, seed, plan.fixes, plan.era)
        self.curve = Curve()
        # TensorBoard, live: the graph now, each printed number as it is printed
        self.events = None
        if plan.request.tensorboard is not None:
            from .tensorboard import Events
            events = plan.request.tensorboard / variant.name / plan.run_name()
            self.events, self.curve.events = Events(events, self.graph), str(events)
        self.tick = Progress(len(self.schedule.steps), progress, label=variant.name)
        self.echo = self.tick.lines_around(echo)
        self.sess = session(self.graph, plan.inter_op_threads)  # TF1: tf.Session(), as bare.py keeps it
        self.sess.run(self.g.init)
        g, s = self.g, self.schedule
        fetch = {BATCH_ACCURACY: g.accuracy, BATCH_LOSS: g.loss}
        # make_callable: the same graph execution as sess.run, without re-parsing fetches and feeds each call
        self._update = self.sess.make_callable([g.train_op, g.loss], [g.x, g.y])
        self._loss = self.sess.make_callable(g.loss, [g.x, g.y])
        self._metrics = self.sess.make_callable([fetch[m] for m in s.batch_metrics], [g.x, g.y])
        self._shape = (s.batch_size, *variant.feed_shape)
        self._steps = enumerate(s.steps)
        self._epoch_losses: list[float] = []
        self.started = time.perf_counter()

    def close(self) -> None:
        self.tick.close()
        if self.events is not None:
            self.events.close()
        self.sess.close()

    def save_checkpoint(self, root: Path, name: str) -> None:
        """The trained variables as a tf.compat.v1.train.Saver checkpoint, as TF1 users kept a model, in
        root/<variant>/<name>/, a directory this run makes for itself: no other run's is ever written over."""
        directory = checkpoints.new_directory(root / self.variant.name, name)
        with self.graph.as_default():
            saver = tf.train.Saver()
        prefix = saver.save(self.sess, str(directory / "model"), global_step=self.curve.steps_run,
                            write_meta_graph=False)
        self.curve.checkpoint, self.curve.checkpoint_sha256 = prefix, checkpoints.digest(prefix)

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
        s, batch_size, spe = self.schedule, self.schedule.batch_size, self.schedule.steps_per_epoch
        done = 0
        for i, step in self._steps:
            self.stop.check()
            batch_xs, batch_ys = self.mnist.train.next_batch(batch_size)
            batch_xs = batch_xs.reshape(self._shape)
            # The loss comes from the same forward pass as the update: checking it costs nothing.
            _, loss = self._update(batch_xs, batch_ys)
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
                self._end_epoch((i + 1) // spe)
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
            values[metric] = evaluate(self.sess, self.g, data.images, data.labels, self.variant.feed_shape)
            points.append(Point(metric, epoch, float(values[metric])))
        self.emit(EPOCH, epoch, values, points)

    def finish(self) -> None:
        """What the tutorial does after its loop: the final test accuracy, the closing print."""
        s = self.schedule
        last = s.steps[self.curve.steps_run - 1] if self.curve.steps_run else s.steps.start
        values, points = {}, []
        if s.final_test_images:
            n = s.final_test_images
            values[FINAL_TEST_ACCURACY] = evaluate(self.sess, self.g, self.mnist.test.images[:n],
                                                   self.mnist.test.labels[:n], self.variant.feed_shape)
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


def run(plan: "Plan", echo: Callable[[str], None] | None = print, progress: TextIO | None = sys.stderr,
        stop: Stop | None = None, on_record: Callable[[list[Point], int, float], None] | None = None) -> Curve:
    """Train as `plan` says, printing what the tutorial printed; the curve.

    `echo=None` prints nothing; `progress=None` shows no progress lines. A request on `stop`, or
    a Ctrl-C that reaches Python as KeyboardInterrupt (a Jupyter kernel's interrupt), stops the run
    after the step in progress and returns what it finished, with `curve.interrupted` set; a NaN or
    infinite loss raises NonFiniteLoss at once. A checkpoint asked for is saved in a new directory
    of its own under DIR/<variant>/, named like the run, also when interrupted; TensorBoard events
    are written as the run goes. A second signal (`StopNow`) ends the step in progress at once, and
    the run returns the same way. `on_record(points, steps_run, seconds)` gets each printed number
    as it is recorded (a --jobs run sends them on).
    """
    t0 = time.perf_counter()
    stop = stop or Stop()
    with stop.interruptible():  # nothing trained yet: a stop-now leaves nothing to keep
        training = Training(plan, echo, progress, stop, on_record)
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
