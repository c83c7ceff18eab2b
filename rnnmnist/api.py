"""rnnmnist from Python: train a tutorial again, look at its curve and comparison, load saved runs.

    import rnnmnist
    run = rnnmnist.train("morvan", steps=100)   # prints what the tutorial printed
    run                                          # in Jupyter: the comparison table and the verdict
    run.metric("batch_accuracy")                 # (steps, values)
    run.plot()

The command line is a thin layer over `execute`, the one code path that trains a resolved `Plan`.
TensorFlow is imported on the first training, not by `import rnnmnist`.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, TextIO, TypedDict

from . import compare, pooling, registry, results
from .plan import Plan, resolve
from .places import RUNS
from .request import RunRequest  # noqa: F401  (rnnmnist.RunRequest)
from .run import Run
from .settings import Settings
from .curve import Point
from .stopping import Stop

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11 on

Say = Callable[[str], None]


def variants() -> list[str]:
    """The tutorials rnnmnist reproduces, by variant name."""
    return registry.names()


def execute(plan: Plan, echo: Say | None = print, progress: TextIO | None = sys.stderr,
            stop: Stop | None = None, on_record: Callable[[list[Point], int, float], None] | None = None) -> Run:
    """Train what `plan` says; the tutorial's lines go to `echo`. Does not save.
    `on_record`: as `runner.run`'s. The run is stamped with the command this process was started with.

    A Keras run this process cannot take (TF1 semantics on, or Keras imported with another backend: a
    notebook that trained a TF1 run first) trains in a `python -m rnnmnist.worker` process of its own,
    its lines and numbers passed on as they come (rnnmnist.ownprocess)."""
    if plan.impl == "keras":
        from . import kerasrunner
        if not kerasrunner.runs_here(plan.backend):
            from . import ownprocess
            return ownprocess.execute(plan, echo, progress, stop, on_record)
        curve = kerasrunner.run(plan, echo=echo, progress=progress, stop=stop, on_record=on_record)
    else:
        from . import runner
        curve = runner.run(plan, echo=echo, progress=progress, stop=stop, on_record=on_record)
    return Run.finished(plan, curve, provenance(plan), invoked_as=results.command_line())


def provenance(plan: Plan) -> dict:
    """Where a run trains, as its record says: the machine, the software, and what trained it."""
    if plan.impl == "keras":
        from importlib import metadata
        from . import kerasrunner
        return results.provenance(metadata.version("tensorflow"), session_threads=plan.session_threads,
                                  implementation=kerasrunner.implementation(plan))
    from .tfcompat import tf
    return results.provenance(tf.__version__, session_threads=plan.session_threads, implementation={"impl": "tf1"})


def version(plan: Plan) -> str:
    """What a run's header names: TensorFlow's version (a TF1 run), Keras's (a Keras run, without importing it)."""
    if plan.impl == "keras":
        from importlib import metadata
        return metadata.version("keras")
    from .tfcompat import tf
    return tf.__version__


def keep(run: Run, say: Say = print) -> None:
    """What follows a run: save it where its request says, and its TensorBoard events."""
    if run.request.out is not None:
        say(f"saved {run.save()}")
    if run.curve.events:
        from . import tensorboard
        say(f"TensorBoard events in {run.curve.events}; to see them: tensorboard --logdir "
            f"{run.request.tensorboard}"
            + ("" if tensorboard.viewer_installed() else ' (TensorBoard is not installed: pip install -e ".[tensorboard]")'))
    if run.curve.checkpoint:
        say(f"model saved as {run.curve.checkpoint}")


class Asked(TypedDict, total=False):
    """What `train` hands to the run's request (`RunRequest.build`): the command line's options, by name."""
    seed: int                   # graph and data-order seed (default: the tutorial's own)
    steps: int                  # stop after this many steps (a truncated run)
    epochs: int                 # the same in epochs, for the tutorials with an epoch loop
    fixes: Iterable[str]        # the tutorial's bugs switched off, by name
    data_dir: Path | str        # MNIST's directory (default: $RNNMNIST_DATA_DIR, else MNIST_data/)
    out: Path | str | None      # where the run is saved (default runs/; None: not saved)
    tensorboard: Path | str     # also write TensorBoard events under DIR/<variant>/<run>
    checkpoint: Path | str      # save the trained model in a new directory of its own under DIR/<variant>/
    era: str                    # another TensorFlow release's data order and default initializer
    impl: str                   # "tf1" (default) or "keras": the tutorial's Keras 3 version
    backend: str                # Keras 3's backend: "tensorflow" (default) or "jax"


def train(variant: str, *, quiet: bool = False, echo: Say | None = None, progress: TextIO | None = None,
          **asked: Unpack[Asked]) -> Run:
    """Train a tutorial again with its published recipe and compare it with its documented numbers.

    Prints the tutorial's own lines (`quiet=True`: nothing; `echo`: send them elsewhere). The run
    is saved under `out` (default runs/; None: not saved). MNIST is fetched and verified into
    `data_dir` the first time. An interrupt (Jupyter's "Interrupt kernel", Ctrl-C) stops the run
    after the step in progress; it is returned and saved marked as interrupted, and the next
    `train` starts afresh. `era`: run under another TensorFlow release's data order and default
    initializer (`rnnmnist.eras`); default, the one the tutorial ran on. `impl="keras"`: the tutorial's
    Keras 3 version on the same batches (docs/keras.md), on `backend` "tensorflow" (default) or "jax"; in a
    process of its own if this one cannot take it (after a TF1 run, or Keras on another backend).
    """
    from . import sources, tflogs
    from .dataset import load_raw
    given = Settings.read()  # the environment's data directory, threads, mirror and verbosity
    tflogs.show(given.verbose)  # if TensorFlow is still to be imported
    # every argument checked (types, ranges, the paths it reads and writes, the fixes) before any fetch or training
    plan = resolve(RunRequest.build(variant, asked.pop("seed", None), settings=given, **{"out": RUNS, **asked}))
    say = (lambda line: None) if quiet else (echo or print)
    load_raw(plan.request.data_dir, say=(lambda line: None) if quiet else sources.to_stderr,
             url=given.mnist_url)  # fetch, verify
    run = execute(plan, echo=None if quiet else say, progress=None if quiet else (progress or sys.stderr),
                  stop=Stop())
    keep(run, say=say)
    return run


def load_runs(results_dir: Path | str = RUNS, variant: str | None = None) -> list[Run]:
    """Saved runs, each checked (schema, fields, checksum), oldest first; `variant` picks one tutorial."""
    runs = []
    for path in sorted(Path(results_dir).glob("*/*.json"), key=lambda p: p.name):
        if path.parent.name == "bench" or (variant and path.parent.name != variant):
            continue
        runs.append(Run.from_record(results.load(path), path))
    return runs


def load_ensembles(results_dir: Path | str = RUNS) -> dict[str, list[Run]]:
    """The complete, untruncated runs, the latest of each seed, by variant, fixes and era (as the report pools
    them): `{"morvan, TF 0.12 (its own)": [Run, ...], "morvan, Keras 3 (tensorflow), TF 0.12 (its own)": ...}`."""
    from . import report
    groups, _ = report.collect(Path(results_dir))
    return {report.group_title(*key): [Run.from_record(record, path) for path, record in runs]
            for key, runs in groups.items()}


def plot(runs: list[Run], ax=None):
    """Several seeds of one recipe against the documented numbers, with the verdict's band (matplotlib).
    The runs pool as `ensemble` pools them: the same refusals, and only the seeds it counts are drawn."""
    from . import plotting
    pool, _ = _one_recipe(runs)
    first = pool.seeds[0].request
    return plotting.draw(first.variant, first.fixes, [run.record for run in pool.seeds], ax=ax)


def ensemble(runs: list[Run]) -> compare.Comparison:
    """Several seeds of one recipe against the documented numbers: the band their spread gives.

    Runs pool by one rule (`rnnmnist.pooling`): the same variant, fixes, era, schedule and implementation
    (a TF1 graph's runs never pool with its Keras version's, nor one Keras backend's with another's), one run per
    seed. Runs of several recipes raise a ValueError that says what differs. Interrupted runs are not
    seeds, and a seed run more than once counts as its latest complete run: both are left out, and the
    result's `notes` say so.
    """
    pool, interrupted = _one_recipe(runs)
    first = pool.seeds[0]
    _, result = pooling.compared(first.request.variant, first.request.fixes, [run.record for run in pool.seeds])
    notes = [f"{_named(run)} left out: {why}" for run, why in interrupted + pool.left_out]
    return replace(result, notes=tuple(notes))


def _one_recipe(runs: list[Run]) -> tuple[pooling.Pool[Run], list[tuple[Run, str]]]:
    """The runs' one recipe and its seeds, and the interrupted runs left out; else a ValueError saying why not."""
    if not runs:
        raise ValueError("no runs to pool: give the runs of one recipe, e.g. from rnnmnist.load_ensembles(dir)")
    chronological = sorted(runs, key=lambda run: run.provenance.get("finished_utc", ""))
    pooled, interrupted = pooling.pools(chronological, lambda run: run.record)
    if not pooled:
        raise ValueError(f"no complete run to pool: the {len(interrupted)} given were interrupted, and an "
                         "interrupted run is not a seed")
    if len(pooled) > 1:
        raise ValueError("these runs are not seeds of one recipe ("
                         + pooling.differences(pooled, lambda run: run.record)
                         + "): give one recipe's runs, as rnnmnist.load_ensembles(dir) groups them")
    return pooled[0], interrupted


def _named(run: Run) -> str:
    return run.path.name if run.path else f"the unsaved run of seed {run.request.seed}"


class Model:
    """A trained variant restored from its checkpoint (`train(..., checkpoint=DIR)`): evaluate, predict."""

    def __init__(self, run: Run):
        from . import checkpoints, runner
        prefix = checkpoints.own(run.record)  # before TensorFlow: a checkpoint not the run's own is refused
        if run.request.impl != "tf1":
            raise ValueError(f"{prefix}.weights.h5 is a Keras run's: load it into the tutorial's Keras 3 model "
                             f"(variant.keras(fixes).model.load_weights), not a TF1 session")
        from .tfcompat import v1 as tf
        self.variant = run.plan.variant
        self.graph, self.g = runner.build_graph(self.variant, run.request.seed, run.plan.fixes, run.plan.era)
        self.sess = runner.session(self.graph)
        with self.graph.as_default():
            tf.train.Saver().restore(self.sess, prefix)
        # every tutorial's correct_pred is tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1)): its first input
        self.prediction = self.g.correct.op.inputs[0]

    def evaluate(self, images, labels) -> float:
        """Accuracy on these images (rows of 784 pixels scaled to [0, 1]) and one-hot labels."""
        from . import runner
        return float(runner.evaluate(self.sess, self.g, images, labels, self.variant.feed_shape))

    def predict(self, images):
        """The predicted digit of each image."""
        import numpy as np
        x = np.asarray(images, dtype=np.float32).reshape((-1, *self.variant.feed_shape))
        n = self.g.fixed_batch or len(x)
        out = []
        for start in range(0, len(x), n):  # a zero_state(128) graph takes batches of exactly 128
            chunk = x[start:start + n]
            padded = np.concatenate([chunk, np.repeat(chunk[:1], n - len(chunk), axis=0)]) if len(chunk) < n else chunk
            out.append(self.sess.run(self.prediction, feed_dict={self.g.x: padded})[:len(chunk)])
        return np.concatenate(out)

    def close(self) -> None:
        self.sess.close()


def restore(run: Run) -> Model:
    """The model a run saved with `checkpoint=DIR`, ready to evaluate and predict; a ValueError if the
    checkpoint is missing or its files are not the ones the run wrote (rnnmnist.checkpoints)."""
    return Model(run)
