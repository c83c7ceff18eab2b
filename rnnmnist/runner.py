"""The shared session runner: a variant's declared graph and schedule, run in a tf.compat.v1.Session."""
from __future__ import annotations

import ctypes
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

import numpy as np

from . import checkpoints, cpu, eras, loop, tfcompat
from .curve import BATCH_ACCURACY, BATCH_LOSS, Curve, Point
from .eras import UNIFORM_UNIT_SCALING, Era
from .loop import Loop
from .spec import GraphHandles, Variant
from .stopping import Stop

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


class Training(Loop):
    """One run in progress: the variant's graph, a session, its data, and where the loop is.

    `advance(n)` trains the next n steps of the schedule exactly as the tutorial's loop would
    (printing what it printed); `finish()` runs what comes after the loop (rnnmnist.loop). `run()`
    does both at once; the benchmark alternates segments of it with the tutorial's own loop.
    """

    def _build(self) -> None:
        plan, variant = self.plan, self.variant
        self.graph, self.g = build_graph(variant, plan.request.seed, plan.fixes, plan.era)
        # TensorBoard, live: the graph now, each printed number as it is printed
        if plan.request.tensorboard is not None:
            from .tensorboard import Events
            events = plan.request.tensorboard / variant.name / plan.run_name()
            self.events, self.curve.events = Events(events, self.graph), str(events)

    def _start(self) -> None:
        self.sess = session(self.graph, self.plan.inter_op_threads)  # TF1: tf.Session(), as bare.py keeps it
        self.sess.run(self.g.init)
        g, s = self.g, self.schedule
        fetch = {BATCH_ACCURACY: g.accuracy, BATCH_LOSS: g.loss}
        # make_callable: the same graph execution as sess.run, without re-parsing fetches and feeds each call
        self._train = self.sess.make_callable([g.train_op, g.loss], [g.x, g.y])
        self._loss = self.sess.make_callable(g.loss, [g.x, g.y])
        self._metrics = self.sess.make_callable([fetch[m] for m in s.batch_metrics], [g.x, g.y])

    def _update(self, x: np.ndarray, y: np.ndarray) -> np.float32:
        return self._train(x, y)[1]

    def _evaluate(self, images: np.ndarray, labels: np.ndarray) -> np.float32:
        return evaluate(self.sess, self.g, images, labels, self.variant.feed_shape)

    def close(self) -> None:
        super().close()
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
    return loop.run(lambda stop: Training(plan, echo, progress, stop, on_record), plan, stop)
