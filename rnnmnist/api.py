"""rnnmnist from Python: train a tutorial again, look at its curve and comparison, load saved runs.

    import rnnmnist
    run = rnnmnist.train("morvan", steps=100)   # prints what the tutorial printed
    run                                          # in Jupyter: the comparison table and the verdict
    run.metric("batch_accuracy")                 # (steps, values)
    run.plot()

The command line is a thin layer over `execute`, the one code path that trains a `RunRequest`.
TensorFlow is imported on the first training, not by `import rnnmnist`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, TextIO

from . import compare, pooling, registry, results
from .request import RunRequest  # noqa: F401  (rnnmnist.RunRequest)
from .places import RUNS
from .spec import Curve, Point
from .stopping import Stop

Say = Callable[[str], None]


def variants() -> list[str]:
    """The tutorials rnnmnist reproduces, by variant name."""
    return registry.names()


@dataclass
class Run:
    """One training run: what was asked, what it printed and measured, and how it compares."""
    request: RunRequest
    record: dict[str, Any]        # the document that is saved: curve, schedule, provenance, ...
    comparison: compare.Comparison
    path: Path | None = None      # where it was saved, once saved

    @property
    def curve(self) -> list[Point]:
        return results.curve_of(self.record)

    @property
    def verdict(self) -> str:
        return self.comparison.verdict

    @property
    def comparisons(self) -> tuple[compare.Comparison, ...]:
        """The verdict's comparison first, then those with other documented numbers of the same recipe."""
        return (self.comparison, *self.comparison.also)

    @property
    def interrupted(self) -> str | None:
        return self.record["interrupted_by"]

    def metrics(self) -> list[str]:
        return sorted({p.metric for p in self.curve})

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """One metric's curve: the steps (or epochs) it was measured at, and its values."""
        points = [p for p in self.curve if p.metric == name]
        if not points:
            raise KeyError(f"{name!r}: this run measured {', '.join(self.metrics())}")
        return [p.at for p in points], [p.value for p in points]

    def save(self, out: Path | str | None = None) -> Path:
        """Write the run under out/<variant>/ (default: the request's `out`, else runs/), atomically."""
        self.path = results.save(self.record, Path(out or self.request.out or RUNS))
        return self.path

    def to_dict(self) -> dict[str, Any]:
        return dict(self.record)

    def summary(self) -> list[str]:
        """What the command line prints after the tutorial's own lines."""
        r, c, steps = self.record, self.comparison, self.record["steps_run"]
        lines = [""]
        if self.interrupted:
            last = results.schedule_of(r).steps[steps - 1] if steps else None
            lines.append(f"INTERRUPTED ({self.interrupted}) after {steps} of {len(results.schedule_of(r).steps)} steps"
                         + (f" (last finished step {last})" if last is not None else "")
                         + ": saving what it finished as an interrupted run")
        lines.append(f"{r['variant']}: {steps} steps in {r['wall_time_s']:.1f} s "
                     f"({r['train_time_s'] / max(steps, 1) * 1000:.0f} ms/step)"
                     + (" [TRUNCATED run]" if r["truncated"] else ""))
        if self.request.fixes:
            lines.append(f"with fixes: {', '.join(self.request.fixes)}: this is not the tutorial's graph")
        if c.reference and c.compared:
            lines += [f"reference: {c.reference}", *compare.table(c).splitlines()]
        partial = "interrupted run, over the checkpoints it reached: " if self.interrupted else ""
        lines.append(f"verdict: {partial}{compare.describe(c)}")
        return lines + compare.also_lines(c)

    def _repr_markdown_(self) -> str:
        head = (f"**{self.request.title}**, seed {self.request.seed}: {self.record['steps_run']} of "
                f"{self.record['steps_total']} steps" + (f", interrupted ({self.interrupted})" if self.interrupted else ""))
        table = f"\n\nReference: {self.comparison.reference}\n\n{compare.table(self.comparison)}" \
            if self.comparison.compared else ""
        also = "".join(f"\n{line}\n" for line in compare.also_lines(self.comparison))
        return f"{head}{table}\n\n**verdict: {compare.describe(self.comparison)}**\n{also}"

    def __repr__(self) -> str:
        return (f"Run({self.request.title!r}, seed={self.request.seed}, steps={self.record['steps_run']}, "
                + (f"interrupted={self.interrupted!r}, " if self.interrupted else "")
                + ("truncated=True, " if self.record["truncated"] else "") + f"verdict={self.verdict!r})")

    def plot(self, ax=None):
        """Each metric's curve against the documented numbers (matplotlib; `pip install -e ".[plot]"`)."""
        from . import plotting
        return plotting.draw(self.request.variant, self.request.fixes, [self.record], ax=ax)


def execute(request: RunRequest, echo: Say | None = print, progress: TextIO | None = sys.stderr,
            stop: Stop | None = None, on_record: Callable[[list[Point], int, float], None] | None = None) -> Run:
    """Train what `request` asks for; the tutorial's lines go to `echo`. Does not save."""
    from . import runner
    variant = registry.load(request.variant)
    schedule, _, _ = request.schedule(variant)
    events = request.tensorboard and (request.tensorboard / request.variant
                                      / results.run_stem(request.seed, request.fixes, truncated=False, interrupted=False))
    curve = runner.run(variant, request.data_dir, request.seed, schedule, fixes=frozenset(request.fixes), echo=echo,
                       progress=progress, stop=stop, inter_op=request.inter_op_threads, checkpoint=request.checkpoint,
                       events=events, era=request.era_of(variant), on_record=on_record)
    return assemble(request, curve, events)


def assemble(request: RunRequest, curve: Curve, events: Path | None = None,
             provenance: dict[str, Any] | None = None) -> Run:
    """A run's document and comparison from its curve; `provenance`: the machine's that trained it, if not this one's."""
    from . import runner
    from .tfcompat import tf
    variant = registry.load(request.variant)
    schedule, truncated, _ = request.schedule(variant)
    era = request.era_of(variant)
    reference = None if request.fixes else variant.reference
    comparison = over_schedule(compare.compare(curve.points, reference, schedule.sample_sizes()),
                               len(schedule.steps), len(variant.schedule.steps))
    record = results.record(request, variant.tutorial, variant.hyperparameters, schedule, truncated, curve,
                            comparison, len(variant.schedule.steps), tf.__version__,
                            runner.threads(request.inter_op_threads), era, variant.era, events)
    if provenance:
        record["provenance"] = {**provenance, "finished_utc": record["provenance"]["finished_utc"]}
    return Run(request, record, comparison)


def keep(run: Run, say: Say = print) -> None:
    """What follows a run: save it where its request says, and its TensorBoard events."""
    if run.request.out is not None:
        say(f"saved {run.save()}")
    if run.record.get("tensorboard"):
        from . import tensorboard
        say(f"TensorBoard events in {run.record['tensorboard']}; to see them: tensorboard --logdir "
            f"{run.request.tensorboard}"
            + ("" if tensorboard.viewer_installed() else ' (TensorBoard is not installed: pip install -e ".[tensorboard]")'))
    if run.record.get("checkpoint"):
        say(f"model saved as {run.record['checkpoint']}")


def train(variant: str, *, seed: int | None = None, steps: int | None = None, epochs: int | None = None,
          fixes: Iterable[str] = (), data_dir: Path | str | None = None, out: Path | str | None = RUNS,
          tensorboard: Path | str | None = None, checkpoint: Path | str | None = None, era: str | None = None,
          quiet: bool = False, echo: Say | None = None, progress: TextIO | None = None) -> Run:
    """Train a tutorial again with its published recipe and compare it with its documented numbers.

    Prints the tutorial's own lines (`quiet=True`: nothing; `echo`: send them elsewhere). The run
    is saved under `out` (default runs/; None: not saved). MNIST is fetched and verified into
    `data_dir` the first time. An interrupt (Jupyter's "Interrupt kernel", Ctrl-C) stops the run
    after the step in progress; it is returned and saved marked as interrupted, and the next
    `train` starts afresh. `era`: run under another TensorFlow release's data order and default
    initializer (`rnnmnist.eras`); default, the one the tutorial ran on.
    """
    from . import sources
    from .dataset import load_raw
    # every argument checked (types, ranges, the paths it reads and writes) before any fetch or training
    request = RunRequest.build(variant, seed, steps=steps, epochs=epochs, fixes=fixes, data_dir=data_dir,
                               out=out, tensorboard=tensorboard, checkpoint=checkpoint, era=era)
    say = (lambda line: None) if quiet else (echo or print)
    load_raw(request.data_dir, say=(lambda line: None) if quiet else sources.to_stderr)  # fetch, verify
    run = execute(request, echo=None if quiet else say, progress=None if quiet else (progress or sys.stderr),
                  stop=Stop())
    keep(run, say=say)
    return run


def load_runs(results_dir: Path | str = RUNS, variant: str | None = None) -> list[Run]:
    """Saved runs, each checked (schema, fields, checksum), oldest first; `variant` picks one tutorial."""
    runs = []
    for path in sorted(Path(results_dir).glob("*/*.json"), key=lambda p: p.name):
        if path.parent.name == "bench" or (variant and path.parent.name != variant):
            continue
        runs.append(from_record(results.load(path), path))
    return runs


def from_record(record: dict[str, Any], path: Path | None = None) -> Run:
    """A saved run as a Run, compared again with today's reference."""
    schedule = results.schedule_of(record)
    request = RunRequest(record["variant"], record["seed"], steps=len(schedule.steps) if record["truncated"] else None,
                         fixes=tuple(record.get("fixes", ())), out=path.parent.parent if path else None,
                         era=results.era_of(record))
    reference = None if request.fixes else registry.load(request.variant).reference
    comparison = compare.compare(results.curve_of(record), reference, schedule.sample_sizes())
    return Run(request, record, over_schedule(comparison, len(schedule.steps), record["steps_total"]), path)


def load_ensembles(results_dir: Path | str = RUNS) -> dict[str, list[Run]]:
    """The complete, untruncated runs, the latest of each seed, by variant, fixes and era (as the report pools
    them): `{"morvan, TF 0.12 (its own)": [Run, ...], ...}`."""
    from . import report
    groups, _ = report.collect(Path(results_dir))
    return {report.group_title(name, fixes, era): [from_record(record, path) for path, record in runs]
            for (name, fixes, era), runs in groups.items()}


def plot(runs: list[Run], ax=None):
    """Several seeds of one recipe against the documented numbers, with the verdict's band (matplotlib).
    The runs pool as `ensemble` pools them: the same refusals, and only the seeds it counts are drawn."""
    from . import plotting
    pool, _ = _one_recipe(runs)
    first = pool.seeds[0].request
    return plotting.draw(first.variant, first.fixes, [run.record for run in pool.seeds], ax=ax)


def ensemble(runs: list[Run]) -> compare.Comparison:
    """Several seeds of one recipe against the documented numbers: the band their spread gives.

    Runs pool by one rule (`rnnmnist.pooling`): the same variant, fixes, era and schedule, one run per
    seed. Runs of several recipes raise a ValueError that says what differs. Interrupted runs are not
    seeds, and a seed run more than once counts as its latest complete run: both are left out, and the
    result's `notes` say so.
    """
    pool, interrupted = _one_recipe(runs)
    first = pool.seeds[0]
    _, result = pooling.compared(first.request.variant, first.request.fixes, [run.record for run in pool.seeds])
    schedule = results.schedule_of(first.record)
    notes = [f"{_named(run)} left out: {why}" for run, why in interrupted + pool.left_out]
    return replace(over_schedule(result, len(schedule.steps), first.record["steps_total"]), notes=tuple(notes))


def _one_recipe(runs: list[Run]) -> tuple[pooling.Pool[Run], list[tuple[Run, str]]]:
    """The runs' one recipe and its seeds, and the interrupted runs left out; else a ValueError saying why not."""
    if not runs:
        raise ValueError("no runs to pool: give the runs of one recipe, e.g. from rnnmnist.load_ensembles(dir)")
    chronological = sorted(runs, key=lambda run: run.record["provenance"].get("finished_utc", ""))
    pooled, interrupted = pooling.pools(chronological, lambda run: run.record)
    if not pooled:
        raise ValueError(f"no complete run to pool: the {len(interrupted)} given were interrupted, and an "
                         "interrupted run is not a seed")
    if len(pooled) > 1:
        raise ValueError("these runs are not seeds of one recipe ("
                         + pooling.differences(pooled, lambda run: run.record)
                         + "): give one recipe's runs, as rnnmnist.load_ensembles(dir) groups them")
    return pooled[0], interrupted


def over_schedule(result: compare.Comparison, steps: int, steps_total: int) -> compare.Comparison:
    """A verdict over a cut schedule says so: it is a verdict on the steps run, not on the tutorial's."""
    if steps >= steps_total:
        return result
    return replace(result, reason=f"over a truncated schedule, {steps} of {steps_total} steps: {result.reason}")


def _named(run: Run) -> str:
    return run.path.name if run.path else f"the unsaved run of seed {run.request.seed}"


class Model:
    """A trained variant restored from its checkpoint (`train(..., checkpoint=DIR)`): evaluate, predict."""

    def __init__(self, run: Run):
        from . import checkpoints, runner
        prefix = checkpoints.own(run.record)  # before TensorFlow: a checkpoint not the run's own is refused
        from .tfcompat import v1 as tf
        self.variant = registry.load(run.request.variant)
        self.graph, self.g = runner.build_graph(self.variant, run.request.seed, frozenset(run.request.fixes))
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
