"""Is each tutorial's Keras 3 version the same computation as its TF1 graph? (python -m rnnmnist.equivalence)

Follows TensorFlow's migration guide, "Validating correctness & numerical equivalence"
(tensorflow/docs, site/en/guide/migrate/validate_correctness.ipynb), per tutorial:

  (a) the variables map one to one (rnnmnist.weightmap): count and shapes;
  (b) the TF1 graph's initial weights, transplanted into the Keras model: its output on the same batch;
  (c) the same batches for the first N steps: the loss of each step and every weight after it;
  (d) full-length seed ensembles of the Keras version against the documented numbers and the TF1
      ensemble: not here; they are `--impl keras` runs, pooled and judged like any other.

TF1 semantics (rnnmnist.tfcompat) switch eager execution off for the whole process, and Keras 3 needs
it (or JAX); a process also has one Keras backend, fixed when `keras` is first imported. So each side
runs in a process of its own and they exchange arrays through .npz files in a temporary directory:

  cases.json      what to check (written here)
  <i>.tf1.npz     the TF1 side (`--side tf1`): the graph built and fed exactly as rnnmnist.runner
                  does (era, seed, fixes, MNIST's next_batch): the N batches it fed, its trainable
                  variables before training, its output on the first batch, each step's loss and
                  the variables after each step
  <i>.<mode>.npz  a Keras side (`--side keras`, KERAS_BACKEND set): the same, from the TF1 weights
                  transplanted and the TF1 side's batches, with the weights mapped back to TF1's layout

This process imports neither TensorFlow nor Keras: it compares the arrays and prints the tables.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import registry, weightmap
from .request import jax_missing
from .settings import Settings
from .spec import titled

# The Keras modes each backend is checked in: its eager loop and its compiled one.
MODES = {"tensorflow": ("eager", "tf.function"), "jax": ("jit",)}
DEFAULT_STEPS = 10

# The tolerances. Why not zero: float32, and a different order of summation. Keras's LSTMCell
# computes x @ kernel + h @ recurrent_kernel + bias where BasicLSTMCell computes [x, h] @ kernel + bias:
# the same products summed in another order, a few ulps apart in each gate; and Keras keeps the forget
# bias inside `bias` (bias_f + 1, where an ulp is 1.2e-7) where TF1 keeps bias_f near 0. These ulps pass
# through 28 LSTM steps and, in (c), through training. Each tolerance is the largest difference measured
# over the five tutorials, both backends and every mode, 10 steps at their own seeds (docs/keras.md),
# times a margin, and stays below the smallest real difference seen: Keras's own from_logits loss silently undoing
# softmax-bug's double softmax moved the loss by 9.3e-3 and the weights by 4.7e-4 within 10 steps.
TOLERANCES = {
    # (b) measured 2.9e-6, on logits of order 10 (random_normal readouts over 128 units), where a float32
    # ulp is ~1e-6: a few ulps; 7x that
    "output": 2e-5,
    # (c) measured 6.9e-6 (final-state): 7x that
    "loss": 5e-5,
    # (c) measured 2.9e-5 (final-state; 3.6e-5 on the JAX backend). Adam divides each gradient by its
    # own root mean square, so a gradient entry near zero whose last bits differ moves its weight by a
    # different fraction of lr (1e-3) in a step; elsewhere the weights agree to ~1e-6. 2.8x the measure,
    # under a fourth of the smallest real difference (4.7e-4). Calibrated on 10 steps: longer runs drift
    # further apart.
    "weights": 1e-4,
}


@dataclass
class Row:
    check: str
    difference: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.difference)) and self.difference <= self.tolerance


@dataclass
class Table:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def render(self) -> str:
        from tabulate import tabulate
        body = tabulate([[r.check, f"{r.difference:.3g}", f"{r.tolerance:.3g}", "pass" if r.passed else "MISS"]
                         for r in self.rows], headers=["check", "largest difference", "tolerance", "result"],
                        tablefmt="github")
        return "\n".join([f"## {self.title}", *self.notes, "", body])


class SideFailed(RuntimeError):
    """A TF1 or Keras process ended with an error."""


# ---- the TF1 side (a process with TF1 semantics) -------------------------------------------------

def _tf1_side(case: dict, steps: int, data_dir: Path, out: Path) -> None:
    from . import loop, runner
    from .plan import resolve
    from .request import RunRequest
    plan = resolve(RunRequest.build(case["variant"], case["seed"], fixes=case["fixes"], data_dir=data_dir, out=None))
    variant, seed = plan.variant, plan.request.seed
    mnist = loop.data_sets(variant, data_dir, seed, plan.era)
    graph, g = runner.build_graph(variant, seed, plan.fixes, plan.era)
    shape = (plan.schedule.batch_size, *variant.feed_shape)
    batches = [mnist.train.next_batch(plan.schedule.batch_size) for _ in range(steps)]
    xs = np.stack([x.reshape(shape) for x, _ in batches])
    ys = np.stack([y for _, y in batches])
    with runner.session(graph, 1) as sess:
        sess.run(g.init)
        tvars = graph.get_collection(runner.tf.GraphKeys.TRAINABLE_VARIABLES)
        arrays = {"x": xs, "y": ys, "names": np.array([v.name for v in tvars]),
                  "output": sess.run(g.output, {g.x: xs[0], g.y: ys[0]}), "loss": np.zeros(steps, np.float32)}
        arrays.update({f"w0_{k}": w for k, w in enumerate(sess.run(tvars))})
        for i in range(steps):
            _, arrays["loss"][i] = sess.run([g.train_op, g.loss], {g.x: xs[i], g.y: ys[i]})
            arrays.update({f"w{i + 1}_{k}": w for k, w in enumerate(sess.run(tvars))})
    np.savez(out, **arrays)


# ---- a Keras side (a process of one Keras backend, TF1 semantics never imported) -------------------

def keras_weights(model) -> dict:
    """A Keras model's weights by "layer/weight", as KerasPort.tf1_variables and rnnmnist.weightmap name them."""
    return {f"{layer.name}/{v.name}": v for layer in model.layers for v in layer.weights}


def _keras_side(case: dict, mode: str, tf1: Path, out: Path) -> None:
    from .kerasport import keras
    k = keras()
    k.utils.set_random_seed(case["seed"])
    port = registry.load(case["variant"]).keras(frozenset(case["fixes"]))
    model = port.model
    model.compile(optimizer=port.optimizer, loss=port.loss, run_eagerly=mode == "eager", jit_compile=mode == "jit")
    held = keras_weights(model)
    arrays = {"map": np.array(port.tf1_variables), "lstm": np.array(port.lstm),
              "forget_bias": np.float32(port.forget_bias), "unlike": np.array(port.unlike), "keras_names": np.array(list(held)),
              **{f"k0_{j}": k.ops.convert_to_numpy(v) for j, v in enumerate(held.values())}}
    t = np.load(tf1)
    n = sum(1 for key in t.files if key.startswith("w0_"))
    mapped = weightmap.to_keras([t[f"w0_{i}"] for i in range(n)], port.tf1_variables, port.lstm, port.forget_bias)
    if set(mapped) != set(held) or any(mapped[key].shape != tuple(held[key].shape) for key in held):
        np.savez(out, **arrays)  # (a) fails: nothing to transplant
        return
    for key, v in held.items():
        v.assign(mapped[key])
    arrays["output"] = np.asarray(model.predict_on_batch(t["x"][0]))
    steps = len(t["loss"])
    arrays["loss"] = np.zeros(steps, np.float32)
    for i in range(steps):
        arrays["loss"][i] = np.asarray(model.train_on_batch(t["x"][i], t["y"][i])).ravel()[0]
        now = {key: k.ops.convert_to_numpy(v) for key, v in held.items()}
        back = weightmap.to_tf1(now, port.tf1_variables, port.lstm, port.forget_bias)
        arrays.update({f"w{i + 1}_{j}": w for j, w in enumerate(back)})
    np.savez(out, **arrays)


# ---- this process: run the sides, compare -----------------------------------------------------------

def _side_main(side: str, directory: Path) -> None:
    spec = json.loads((directory / "cases.json").read_text())
    if side == "tf1":
        for i, case in enumerate(spec["cases"]):
            _tf1_side(case, case.get("steps", spec["steps"]), Path(spec["data_dir"]), directory / f"{i}.tf1.npz")
        return
    one_reduction_order()
    for i, case in enumerate(spec["cases"]):
        for mode in spec["modes"]:
            _keras_side(case, mode, directory / f"{i}.tf1.npz", directory / f"{i}.{_file(mode)}.npz")


def one_reduction_order() -> None:
    """In a Keras process on the TensorFlow backend: one thread per op, as the TF1 session, so one order of summation."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(1)


def keras_env(backend: str) -> dict[str, str]:
    """The environment of a Keras side: its backend, and Keras 3 (not tf-keras) behind tf.keras."""
    return {"KERAS_BACKEND": backend, "TF_USE_LEGACY_KERAS": "0"}


def _file(mode: str) -> str:
    return mode.replace(".", "_")


def write_cases(directory: Path, specs: list[dict], steps: int, data_dir: Path, modes: list[str]) -> None:
    """cases.json, what the sides read: each case a dict(variant=, fixes=[...], seed=[, steps=N: not `steps`])."""
    (directory / "cases.json").write_text(json.dumps(dict(cases=specs, steps=steps, data_dir=str(data_dir),
                                                          modes=modes)))


def run_side(directory: Path, side: str, env: dict[str, str] | None = None,
             module: str = "rnnmnist.equivalence") -> None:  # not __name__: run as a command, that is __main__
    """`python -m <module> --side <side> <directory>` in a process of its own; raises SideFailed if it fails.

    The TF1 side is this module's; another module (rnnmnist.pitfalls.migration) may run its own Keras side.
    """
    run_sides(directory, [(side, env)], module)


def run_sides(directory: Path, sides: list[tuple[str, dict[str, str] | None]],
              module: str = "rnnmnist.equivalence") -> None:
    """Several sides that need only what is already in `directory`, at once (each a process of its own: one
    Keras backend per process); raises SideFailed for the first that failed, once all have ended."""
    started = [(side, subprocess.Popen([sys.executable, "-m", module, "--side", side, str(directory)],
                                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
               for side, env in sides]
    try:
        ended = [(side, proc.communicate()[1], proc.returncode) for side, proc in started]
    finally:
        for _, proc in started:  # torn down (Ctrl-C): no side left behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for side, stderr, code in ended:
        if code:
            lines = stderr.strip().splitlines() or [f"exit code {code}"]
            raise SideFailed(f"the {side} side failed: {lines[-1]}\n" + "\n".join(lines[-30:]))


def largest(a, b) -> float:
    """The largest absolute difference between two arrays (0 for empty ones)."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if np.size(a) else 0.0


def compare(tf1: dict, ker: dict, mode: str) -> list[Row]:
    """The rows (a)-(c) of one Keras mode against the TF1 side."""
    n = sum(1 for key in tf1 if key.startswith("w0_"))
    w0 = [tf1[f"w0_{k}"] for k in range(n)]
    names, held = list(ker["map"]), list(ker["keras_names"])
    shapes = {key: ker[f"k0_{j}"].shape for j, key in enumerate(held)}
    try:
        mapped = weightmap.to_keras(w0, names, str(ker["lstm"]), float(ker["forget_bias"]))
        unmatched = len(set(mapped) ^ set(shapes)) + sum(mapped[key].shape != shapes[key]
                                                         for key in set(mapped) & set(shapes))
    except ValueError:
        unmatched = abs(n - len(names)) or 1
    rows = [Row(f"(a) variables: TF1 {n} -> Keras {len(held)}, unmatched or misshapen", unmatched, 0)]
    if "output" not in ker:
        return rows + [Row(f"({c}) {mode}: not run, (a) failed", np.inf, 0) for c in "bc"]
    steps = len(tf1["loss"])
    return rows + [
        Row(f"(b) {mode}: output on the first batch", largest(ker["output"], tf1["output"]), TOLERANCES["output"]),
        Row(f"(c) {mode}: loss, steps 1-{steps}", largest(ker["loss"], tf1["loss"]), TOLERANCES["loss"]),
        Row(f"(c) {mode}: every weight after each step",
            max(largest(ker[f"w{i}_{k}"], tf1[f"w{i}_{k}"]) for i in range(1, steps + 1) for k in range(n)),
            TOLERANCES["weights"]),
    ]


def check(cases: list[tuple[str, tuple[str, ...]]], steps: int = DEFAULT_STEPS, backend: str = "tensorflow",
          data_dir: Path | None = None, seed: int | None = None) -> list[Table]:
    """Check (a)-(c) for each (variant, fixes); one table per case. Raises SideFailed if a side fails.

    `data_dir`: MNIST's directory (default: the environment's, rnnmnist.settings).
    """
    data_dir = Path(data_dir or Settings.read().data_dir)
    specs = [_case(v, f, seed) for v, f in cases]
    with tempfile.TemporaryDirectory(prefix="rnnmnist-equivalence-") as tmp:
        directory = Path(tmp)
        write_cases(directory, specs, steps, data_dir, list(MODES[backend]))
        run_side(directory, "tf1")
        run_side(directory, "keras", keras_env(backend))
        tables = []
        for i, case in enumerate(specs):
            tf1 = dict(np.load(directory / f"{i}.tf1.npz"))
            table = Table(f"{titled(case['variant'], case['fixes'])}: TF1 graph vs Keras 3 ({backend} backend), "
                          f"seed {case['seed']}, {steps} steps")
            for mode in MODES[backend]:
                ker = dict(np.load(directory / f"{i}.{_file(mode)}.npz"))
                if str(ker["unlike"]) and not table.notes:
                    table.notes.append(f"Keras cannot express: {ker['unlike']}")
                rows = compare(tf1, ker, mode)
                table.rows.extend(rows if not table.rows else rows[1:])  # (a) once: the same model in each mode
            tables.append(table)
    return tables


def _case(variant: str, fixes, seed: int | None) -> dict:
    return dict(variant=variant, fixes=list(fixes), seed=registry.load(variant).seed if seed is None else seed)


def tf1_side(variant: str, fixes=(), steps: int = DEFAULT_STEPS, data_dir: Path | None = None,
             seed: int | None = None) -> dict[str, np.ndarray]:
    """The TF1 side's arrays for one tutorial (see the module's docstring), computed in a process of its own.

    This process imports no TensorFlow for it, so it stays free to run Keras 3 (notebooks/tf1_to_keras.ipynb).
    Raises SideFailed if the TF1 process fails.
    """
    with tempfile.TemporaryDirectory(prefix="rnnmnist-equivalence-") as tmp:
        directory = Path(tmp)
        write_cases(directory, [_case(variant, fixes, seed)], steps, Path(data_dir or Settings.read().data_dir), [])
        run_side(directory, "tf1")
        with np.load(directory / "0.tf1.npz") as arrays:
            return dict(arrays)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rnnmnist.equivalence",
        description="Check that each tutorial's Keras 3 version computes what its TF1 graph does: "
                    "(a) variables one to one, (b) the same output from the same weights, (c) the same "
                    "losses and weights over the first training steps on the same batches.",
        epilog="(d), full-length seed ensembles of the Keras version against the documented numbers and "
               "the TF1 ensemble, is not run here: it is `--impl keras` runs compared like any other.")
    p.add_argument("--variant", default="all", choices=[*registry.names(), "all"])
    p.add_argument("--fix", action="append", default=[], metavar="NAME",
                   help="switch off one of the tutorial's bugs (with a single --variant)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"training steps compared (default {DEFAULT_STEPS})")
    p.add_argument("--backend", default="tensorflow", choices=list(MODES))
    p.add_argument("--seed", type=int, default=None, help="default: each tutorial's own")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST's directory (default: as the runner's)")
    p.add_argument("--side", choices=("tf1", "keras"), help=argparse.SUPPRESS)
    p.add_argument("directory", nargs="?", type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.side:
        _side_main(args.side, args.directory)
        return 0
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    if args.fix and args.variant == "all":
        parser.error("--fix names one tutorial's bug: give --variant NAME with it")
    names = registry.names() if args.variant == "all" else [args.variant]
    for name in args.fix:
        if name not in registry.load(args.variant).fixes:
            parser.error(f"{args.variant} has no fix {name!r}; its fixes: "
                         f"{', '.join(registry.load(args.variant).fixes) or 'none'}")
    if args.backend == "jax" and jax_missing():
        parser.error(jax_missing())
    try:
        tables = check([(n, tuple(sorted(set(args.fix)))) for n in names], args.steps, args.backend,
                       args.data_dir, args.seed)
    except SideFailed as e:
        print(f"rnnmnist: error: {str(e).splitlines()[0]}", file=sys.stderr)
        print("\n".join(str(e).splitlines()[1:]), file=sys.stderr)
        return 1
    for table in tables:
        print(table.render(), end="\n\n")
    missed = [t.title.split(":")[0] for t in tables if not t.passed]
    print(f"{len(tables) - len(missed)} of {len(tables)} tutorials pass (a)-(c)"
          + (f"; missed: {', '.join(missed)}" if missed else "")
          + ". (d), the full-length seed ensembles, is not checked here.")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
