"""The Keras 3 runner: a tutorial's Keras 3 version (`variant.keras`) trained through the tutorial's own loop.

The same loop as the TF1 session runner (rnnmnist.loop): the same batches (MNIST's next_batch under the
era's order, seeded with the run's seed), the same lines at the same checkpoints, epoch ends and final
evaluation, the same stops and the same Curve. What trains is the KerasPort's model, loss and optimizer,
compiled as rnnmnist.equivalence checks it: under tf.function on the TensorFlow backend, jitted on JAX.

A process has one Keras backend, fixed when `keras` is first imported, and Keras 3 cannot run where
rnnmnist.tfcompat switched TensorFlow to TF1 semantics: `runs_here` says whether this process can take a
run (api.execute sends it to a process of its own otherwise). Never imports rnnmnist.runner or tfcompat.
"""
from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TextIO

import numpy as np

from . import checkpoints, kerasport, loop, tflogs
from .curve import BATCH_ACCURACY, BATCH_LOSS, Curve, Point
from .loop import Loop
from .stopping import Stop

if TYPE_CHECKING:
    from .plan import Plan

EVAL_CHUNK = 5000  # whole-set accuracy in chunks: each row's prediction depends on that row alone
ACCURACY = "categorical_accuracy"  # argmax(output) == argmax(labels), the tutorials' correct_pred, averaged


def runs_here(backend: str) -> bool:
    """Whether this process can train a Keras run on `backend`: TF1 semantics never switched on, and Keras
    not imported yet or imported with that backend."""
    if "rnnmnist.tfcompat" in sys.modules:
        return False
    keras = sys.modules.get("keras")
    return keras is None or keras.backend.backend() == backend


def prepare(backend: str) -> None:
    """Before Keras's first import: its backend."""
    if "keras" not in sys.modules:
        # KERAS_BACKEND is Keras 3's own switch, read once when it is first imported
        os.environ["KERAS_BACKEND"] = backend


def import_keras(backend: str):
    """`keras` on `backend` (`runs_here(backend)` must hold), imported as rnnmnist.kerasport imports it."""
    prepare(backend)
    return kerasport.keras()


def versions(backend: str) -> dict[str, str]:
    """The packages a Keras run on `backend` trains with, installed here."""
    names = ("keras", "tensorflow") if backend == "tensorflow" else ("keras", "jax", "jaxlib")
    return {name: metadata.version(name) for name in names}


def implementation(plan: "Plan") -> dict[str, Any]:
    """What a Keras run records of what trained it: {"impl": "keras", "backend": ..., "keras": ..., ...}."""
    found = versions(plan.backend)
    return {"impl": "keras", "backend": plan.backend, "keras": found.pop("keras"), **found}


def _threads(plan: "Plan") -> None:
    """On the TensorFlow backend, the TF1 session's pools: one intra-op thread (one order of summation: a
    seed gives the same curve on any core count), the plan's inter-op threads. Set once per process:
    TensorFlow fixes them when it first runs an op. JAX sizes its own."""
    if plan.backend != "tensorflow":
        return
    import tensorflow as tf
    pools = plan.session_threads
    try:
        tf.config.threading.set_intra_op_parallelism_threads(pools["intra_op"])
        tf.config.threading.set_inter_op_parallelism_threads(pools["inter_op"])
    except RuntimeError:  # an earlier run in this process set them, the same way
        pass


class KerasTraining(Loop):
    """One Keras run in progress (rnnmnist.loop.Loop): the KerasPort's model, compiled, on the loop's batches."""

    def _build(self) -> None:
        plan = self.plan
        keras = import_keras(plan.backend)
        if keras.backend.backend() != plan.backend:
            raise RuntimeError(f"Keras runs on its {keras.backend.backend()} backend in this process, not "
                               f"{plan.backend}: api.execute runs it in a process of its own")
        _threads(plan)
        # Python's, NumPy's and Keras's generators: the weights. On JAX it also seeds TensorFlow, importing it:
        # its start-up lines hidden, as kerasport.keras() hides them
        with tflogs.quiet_fd2(not tflogs.shown and "tensorflow" not in sys.modules):
            keras.utils.set_random_seed(plan.request.seed)
        port = plan.variant.keras(plan.fixes)
        self.keras, self.model, self.port = keras, port.model, port
        # as rnnmnist.equivalence checks them: tf.function on TensorFlow, jit on JAX
        self.model.compile(optimizer=port.optimizer, loss=port.loss, metrics=[ACCURACY],
                           jit_compile=plan.backend == "jax")

    def _update(self, x: np.ndarray, y: np.ndarray) -> np.float32:
        logs = self.model.train_on_batch(x, y, return_dict=True)  # the loss of the forward pass before the update
        return np.float32(logs["loss"])

    def _measured(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.float32]:
        logs = self.model.test_on_batch(x, y, return_dict=True)
        return {BATCH_LOSS: np.float32(logs["loss"]), BATCH_ACCURACY: np.float32(logs[ACCURACY])}

    def _loss(self, x: np.ndarray, y: np.ndarray) -> np.float32:
        return self._measured(x, y)[BATCH_LOSS]

    def _metrics(self, x: np.ndarray, y: np.ndarray) -> list:
        measured = self._measured(x, y)
        return [measured[m] for m in self.schedule.batch_metrics]

    def _evaluate(self, images: np.ndarray, labels: np.ndarray) -> np.float32:
        """Accuracy on a whole set, in chunks (Keras has no fixed batch: zero_state(128) graphs take any size here)."""
        x = images.reshape((-1, *self.variant.feed_shape))
        hits = 0
        for start in range(0, len(x), EVAL_CHUNK):
            out = np.asarray(self.model.predict_on_batch(x[start:start + EVAL_CHUNK]))
            hits += int((out.argmax(1) == labels[start:start + EVAL_CHUNK].argmax(1)).sum())
        return np.float32(hits / len(x))

    def save_checkpoint(self, root: Path, name: str) -> None:
        """The trained weights as Keras saves them (model.save_weights, `model.weights.h5`) in root/<variant>/<name>/,
        a directory this run makes for itself; the record keeps its prefix (`.../model`) and digest."""
        directory = checkpoints.new_directory(root / self.variant.name, name)
        self.model.save_weights(directory / "model.weights.h5")
        prefix = str(directory / "model")
        self.curve.checkpoint, self.curve.checkpoint_sha256 = prefix, checkpoints.digest(prefix)


def run(plan: "Plan", echo: Callable[[str], None] | None = print, progress: TextIO | None = sys.stderr,
        stop: Stop | None = None, on_record: Callable[[list[Point], int, float], None] | None = None) -> Curve:
    """Train the plan's Keras run in this process (`runs_here` must hold) as `runner.run` trains a TF1 run."""
    return loop.run(lambda stop: KerasTraining(plan, echo, progress, stop, on_record), plan, stop)
