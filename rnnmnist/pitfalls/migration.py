"""Lesson: what a straightforward Keras 3 port of these tutorials gets wrong, each shown for real, then fixed.

Keras 3 cannot run where TF1 semantics are on (rnnmnist.kerasport), and `--all` runs the other lessons,
which switch them on, in this process. So, as rnnmnist.equivalence does, each side runs in a process of
its own: equivalence's TF1 side (the graphs built, seeded and fed as the runner does, their batches,
weights and losses saved), then this module's Keras side on each backend (`--side tensorflow|jax`),
which loads them, measures each pitfall and its fix, and writes the numbers as JSON. This process
imports neither TensorFlow nor Keras.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .. import equivalence, registry, sources, weightmap
from ..equivalence import TOLERANCES, largest
from . import Board, Facts

PORT = "morvan"           # pitfalls 1-4: one tutorial is enough; its own seed (1)
BUGGY = "softmax-bug"     # pitfall 5: the tutorial whose double softmax a port must keep; its seed (0)
STEPS = 50                # the TF1 graph's training steps: its trained weights (pitfalls 1, 2); pitfall 3's run
HORIZON = 10              # the steps equivalence's tolerances were calibrated on (pitfalls 4, 5)
EVAL = 1000               # test images for the accuracy of transplanted weights
# Pitfall 3 compares draws, not arrays: a float32 draw's std is known to 1/sqrt(2n) of itself (0.3% for
# morvan's 128 x 512 input half, the smallest); 3% is 10 of those, and a tenth of the smallest real gap.
SCALE_TOLERANCE = 0.03


# ---- a Keras side (its own process, one backend; TF1 semantics never imported) -------------------------

class _Bench:
    """One tutorial's Keras port, its weights settable, trained on the TF1 side's batches."""

    def __init__(self, k, case: dict, tf1: Path):
        k.utils.set_random_seed(case["seed"])
        self.k = k
        self.port = registry.load(case["variant"]).keras(frozenset(case["fixes"]))
        self.held = equivalence.keras_weights(self.port.model)
        self.drawn = self.weights()  # Keras's own initial draw, from the tutorial's seed
        self.t = dict(np.load(tf1))
        self.n = sum(1 for key in self.t if key.startswith("w0_"))

    def tf1(self, step: int) -> list[np.ndarray]:
        """The TF1 graph's trainable variables after `step` steps (0: as initialised)."""
        return [self.t[f"w{step}_{j}"] for j in range(self.n)]

    def weights(self) -> dict[str, np.ndarray]:
        return {key: self.k.ops.convert_to_numpy(v) for key, v in self.held.items()}

    def load(self, weights: dict[str, np.ndarray]) -> None:
        for key, v in self.held.items():
            v.assign(weights[key])

    def mapped(self, step: int, forget_bias: float | None = None) -> dict[str, np.ndarray]:
        p = self.port
        return weightmap.to_keras(self.tf1(step), p.tf1_variables, p.lstm,
                                  p.forget_bias if forget_bias is None else forget_bias)

    def unswapped(self, step: int) -> dict[str, np.ndarray]:
        """The TF1 weights split into Keras's kernel, recurrent kernel and bias, the gates left in TF1's order.

        Everything else as the map does it, the forget bias included (added to Keras's f block, which
        here holds TF1's j): only the gate order is wrong.
        """
        p, out = self.port, self.mapped(step)
        tf1 = dict(zip(p.tf1_variables, self.tf1(step)))
        kernel, bias = tf1[f"{p.lstm}/kernel"], tf1[f"{p.lstm}/bias"].copy()
        units = len(bias) // 4
        bias[units:2 * units] += np.float32(p.forget_bias)
        out[f"{p.lstm}/kernel"], out[f"{p.lstm}/recurrent_kernel"] = kernel[:-units], kernel[-units:]
        out[f"{p.lstm}/bias"] = bias
        return out

    def output(self, weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        self.load(weights)
        return np.asarray(self.port.model.predict_on_batch(x))

    def optimizer(self, **change):
        """A fresh optimizer of the port's kind and settings, `change` applied."""
        o = self.port.optimizer
        return type(o).from_config({**o.get_config(), **change})

    def train(self, start: dict[str, np.ndarray], optimizer, loss, steps: int, compare: bool = True) -> Facts:
        """`steps` steps on the TF1 side's batches from `start`: each step's loss and (`compare`: from the
        TF1 graph's start) how far it is from the graph's, and the largest difference of any weight
        (mapped back to TF1's layout) from the graph's after each step."""
        p = self.port
        self.load(start)
        p.model.compile(optimizer=optimizer, loss=loss)
        out: Facts = {"loss": [], "weights_apart": []}
        for i in range(steps):
            out["loss"].append(float(np.asarray(p.model.train_on_batch(self.t["x"][i], self.t["y"][i])).ravel()[0]))
            if compare:
                back = weightmap.to_tf1(self.weights(), p.tf1_variables, p.lstm, p.forget_bias)
                out["weights_apart"].append(max(largest(a, b) for a, b in zip(back, self.tf1(i + 1))))
        out["loss_apart"] = [float(abs(a - b)) for a, b in zip(out["loss"], self.t["loss"])] if compare else []
        return out


def _scale(a: np.ndarray) -> dict[str, float]:
    return {"std": float(np.std(a)), "max": float(np.max(np.abs(a)))}


def _transplants(b: _Bench, data_dir: Path) -> Facts:
    """Pitfalls 1 and 2: TF1 weights loaded with the gates in TF1's order, or without the forget bias."""
    from ..dataset import read_data_sets
    test = read_data_sets(data_dir, one_hot=True).test
    x, labels = test.images[:EVAL].reshape(EVAL, *b.t["x"].shape[2:]), test.labels[:EVAL].argmax(1)
    loads = {"map": lambda s: b.mapped(s), "unswapped": b.unswapped, "no_forget_bias": lambda s: b.mapped(s, 0.0)}
    out: Facts = {}
    for name, load in loads.items():
        first = b.output(load(0), b.t["x"][0])
        trained = b.output(load(STEPS), x).argmax(1)
        out[name] = {"output_apart": largest(first, b.t["output"]),
                     "same_prediction": float(np.mean(first.argmax(1) == b.t["output"].argmax(1))),
                     "accuracy": float(np.mean(trained == labels))}
    return out


def _same(a: np.ndarray, b: np.ndarray) -> float:
    """The share of entries two draws have in common, over the rows both have."""
    n = min(len(a), len(b))
    return float(np.mean(a[:n] == b[:n]))


def _repeats(k, shape: tuple[int, ...], lstm) -> float:
    """The port's initialiser as one would write it, an instance without a SeedGenerator, called twice."""
    mine = lstm.cell.kernel_initializer
    plain = k.initializers.RandomUniform(mine.minval, mine.maxval)
    return _same(*(k.ops.convert_to_numpy(plain(shape, "float32")) for _ in range(2)))


def _initialisers(b: _Bench) -> Facts:
    """Pitfall 3: Keras's default LSTM initialisers against TF1's joint kernel, their scale and first steps."""
    p, k = b.port, b.k
    tf1 = dict(zip(p.tf1_variables, b.tf1(0)))
    units = tf1[f"{p.lstm}/bias"].shape[0] // 4
    joint = tf1[f"{p.lstm}/kernel"]
    defaults = k.layers.LSTM(units).cell  # what a port that sets nothing gets
    kernel, recurrent = f"{p.lstm}/kernel", f"{p.lstm}/recurrent_kernel"
    default = {**b.drawn,
               kernel: k.ops.convert_to_numpy(defaults.kernel_initializer(b.drawn[kernel].shape, "float32")),
               recurrent: k.ops.convert_to_numpy(defaults.recurrent_initializer(b.drawn[recurrent].shape, "float32"))}
    out: Facts = {"initialisers": [type(defaults.kernel_initializer).__name__, type(defaults.recurrent_initializer).__name__],
                  "tf1": {"input": _scale(joint[:-units]), "recurrent": _scale(joint[-units:])},
                  "identical": {"unseeded_instance": _repeats(k, b.drawn[recurrent].shape, b.port.model.get_layer(p.lstm)),
                                "port": _same(b.drawn[kernel], b.drawn[recurrent])}}
    for name, start in (("default", default), ("fixed", b.drawn)):
        out[name] = {"input": _scale(start[kernel]), "recurrent": _scale(start[recurrent]),
                     "loss": b.train(start, b.optimizer(), p.loss, STEPS, compare=False)["loss"]}
    out["tf1"]["loss"] = [float(v) for v in b.t["loss"][:STEPS]]
    return out


def _epsilon(b: _Bench) -> Facts:
    """Pitfall 4: Adam with Keras's default epsilon against TF1's, from the same transplanted weights."""
    keras_default = float(b.k.optimizers.Adam().epsilon)
    out: Facts = {"keras_default": keras_default, "tf1": b.port.optimizer.get_config()["epsilon"]}
    for name, optimizer in (("default", b.optimizer(epsilon=keras_default)), ("fixed", b.optimizer())):
        out[name] = b.train(b.mapped(0), optimizer, b.port.loss, HORIZON)
    return out


def _double_softmax(b: _Bench, which: tuple[str, ...]) -> Facts:
    """Pitfall 5: the double softmax as Dense(softmax) + CategoricalCrossentropy(from_logits=True), and written out."""
    losses = {"from_logits": b.k.losses.CategoricalCrossentropy(from_logits=True), "by_hand": b.port.loss}
    out: Facts = {"tf1_loss": [float(v) for v in b.t["loss"][:HORIZON]]}
    for name in which:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            out[name] = b.train(b.mapped(0), b.optimizer(), losses[name], HORIZON)
        out[name]["warnings"] = sorted({str(w.message) for w in seen if "from_logits" in str(w.message)})
    return out


def _side(backend: str, directory: Path) -> None:
    from ..kerasport import keras
    spec = json.loads((directory / "cases.json").read_text())
    equivalence.one_reduction_order()
    k = keras()
    facts: Facts = {"keras": k.__version__, "backend": k.backend.backend()}
    buggy = _Bench(k, spec["cases"][1], directory / "1.tf1.npz")
    if backend == "jax":
        facts["double_softmax"] = _double_softmax(buggy, ("from_logits",))
    else:
        port = _Bench(k, spec["cases"][0], directory / "0.tf1.npz")
        facts.update(transplants=_transplants(port, Path(spec["data_dir"])), initialisers=_initialisers(port),
                     epsilon=_epsilon(port), double_softmax=_double_softmax(buggy, ("from_logits", "by_hand")))
    (directory / f"{backend}.json").write_text(json.dumps(facts))


def main(argv: list[str] | None = None) -> int:
    """The Keras side's entry: `python -m rnnmnist.pitfalls.migration --side BACKEND DIRECTORY` (run() starts it)."""
    p = argparse.ArgumentParser(prog="python -m rnnmnist.pitfalls.migration")
    p.add_argument("--side", choices=("tensorflow", "jax"), required=True)
    p.add_argument("directory", type=Path)
    args = p.parse_args(argv)
    _side(args.side, args.directory)
    return 0


# ---- this process: run the sides, then the lesson ---------------------------------------------------------

def measure(data_dir: Path) -> Facts:
    """Every number of the lesson: the TF1 side, then the Keras side on each backend installed."""
    backends = ["tensorflow"] + (["jax"] if importlib.util.find_spec("jax") else [])
    cases = [dict(variant=PORT, fixes=[], seed=registry.load(PORT).seed),
             dict(variant=BUGGY, fixes=[], seed=registry.load(BUGGY).seed, steps=HORIZON)]
    with tempfile.TemporaryDirectory(prefix="rnnmnist-migration-") as tmp:
        directory = Path(tmp)
        equivalence.write_cases(directory, cases, STEPS, data_dir, [])
        equivalence.run_side(directory, "tf1")
        # one process per backend (a process has one), both at once: they only read the TF1 side's files
        equivalence.run_sides(directory, [(b, equivalence.keras_env(b)) for b in backends], module=__name__)
        return {backend: json.loads((directory / f"{backend}.json").read_text()) for backend in backends}


def run(board: Board, data_dir: Path, **_) -> Facts:
    sources.ensure(data_dir, sources.to_stderr)  # here, so that a missing or bad MNIST is said as in the other lessons
    board.did(f"A learner ports a tutorial to Keras 3 the straightforward way: keras.layers.LSTM, the same "
              f"projection and readout, keras.optimizers.Adam(lr), the loss as CategoricalCrossentropy, and the "
              f"TF1 graph's weights loaded into it. Five things go wrong. Each is shown below against the TF1 "
              f"graph, on the tutorial's seed and the batches the graph was fed ({PORT} for the first four, "
              f"{BUGGY} for the fifth), then fixed as rnnmnist's Keras ports do (variants/*.py, keras_model). "
              f"'The same' means within python -m rnnmnist.equivalence's tolerances: outputs "
              f"{TOLERANCES['output']:g}, losses {TOLERANCES['loss']:g}, weights {TOLERANCES['weights']:g} "
              f"(float32 and another order of summation, calibrated on {HORIZON} steps).")
    measured = measure(data_dir)
    tf = measured["tensorflow"]
    board.happens(f"A TF1 process trained {PORT} {STEPS} steps and {BUGGY} {HORIZON} steps, saving its batches and "
                  f"weights; Keras {tf['keras']} processes (TensorFlow backend"
                  + (", and JAX" if "jax" in measured else "; JAX is not installed") + ") took them from there.")
    facts: Facts = {"measured": measured}
    facts["gates"] = _gates(board, tf["transplants"])
    facts["forget_bias"] = _forget_bias(board, tf["transplants"])
    facts["initialisers"] = _initialisers_told(board, tf["initialisers"])
    facts["epsilon"] = _epsilon_told(board, tf["epsilon"])
    facts["double_softmax"] = _double_softmax_told(board, tf["double_softmax"], measured.get("jax", {}).get("double_softmax"))
    return facts


def _transplanted(t: Facts) -> str:
    return (f"from the TF1 graph's initial weights, its logits on the graph's first batch are {t['output_apart']:.3g} "
            f"apart from the graph's (the same prediction for {t['same_prediction']:.0%} of the batch); from its "
            f"weights after {STEPS} steps, accuracy {t['accuracy']:.3f} on {EVAL:,} test images")


def _gates(board: Board, t: Facts) -> Facts:
    board.note("1. The gates left in TF1's order:",
               "BasicLSTMCell keeps one kernel over [x, h], its gate blocks in the order i, j, f, o; Keras's "
               "LSTM keeps kernel (the x rows) and recurrent_kernel (the h rows), in the order i, f, c, o. "
               "A port that splits the rows and copies the columns as they are (the forget bias added, all "
               "else right) reads TF1's forget gate as its cell input and TF1's cell input as its forget gate: "
               + _transplanted(t["unswapped"]) + ".")
    board.fix(1, "swap the j and f column blocks (rnnmnist.weightmap.to_keras)",
              _transplanted(t["map"]) + ": the TF1 model's own.")
    return {"wrong": t["unswapped"]["output_apart"], "fixed": t["map"]["output_apart"],
            "accuracy": (t["unswapped"]["accuracy"], t["map"]["accuracy"])}


def _forget_bias(board: Board, t: Facts) -> Facts:
    board.note("2. The forget bias lost:",
               "BasicLSTMCell(forget_bias=1.0) adds 1 to the forget gate in its forward pass, outside any "
               "variable; Keras's LSTM has no such term. unit_forget_bias=True does not make up for it: it only "
               "starts Keras's bias at 1 in the f block, and loading TF1's bias (near 0 there) overwrites that. "
               "Gates reordered, the bias loaded as it is: " + _transplanted(t["no_forget_bias"]) + ".")
    board.fix(2, "add forget_bias to the f block of the bias when loading (and subtract it when saving back)",
              _transplanted(t["map"]) + ".")
    return {"wrong": t["no_forget_bias"]["output_apart"], "fixed": t["map"]["output_apart"],
            "accuracy": (t["no_forget_bias"]["accuracy"], t["map"]["accuracy"])}


def _half(h: Facts) -> str:
    return f"std {h['std']:.4f}, largest |w| {h['max']:.4f}"


def _off(h: Facts, tf1: Facts) -> float:
    return abs(h["std"] / tf1["std"] - 1)


def _initialisers_told(board: Board, f: Facts) -> Facts:
    tf1, default, fixed = f["tf1"], f["default"], f["fixed"]
    last = slice(STEPS - HORIZON, STEPS)
    loss = {name: (f[name]["loss"][0], float(np.mean(f[name]["loss"][last]))) for name in ("tf1", "default", "fixed")}
    board.note("3. Keras's default initialisers:",
               f"A port that sets no initialiser gets {f['initialisers'][0]} on kernel and {f['initialisers'][1]} "
               f"on recurrent_kernel, each over its own shape. The TF1 graph drew ONE kernel over [x, h] from "
               f"its release's default ({PORT}'s TF 0.12: uniform_unit_scaling; TF 1.x: glorot_uniform over the "
               f"joint shape), so both halves share one scale. The initial LSTM weights, from the tutorial's seed:\n"
               f"  TF1 graph        input half {_half(tf1['input'])}\n"
               f"                   recurrent half {_half(tf1['recurrent'])}\n"
               f"  Keras defaults   input half {_half(default['input'])}\n"
               f"                   recurrent half {_half(default['recurrent'])}\n"
               f"The recurrent half's spread is {_off(default['recurrent'], tf1['recurrent']):.0%} off TF1's, the "
               f"input half's {_off(default['input'], tf1['input']):.0%}. What it costs in training, {STEPS} steps "
               f"on the same batches from the same seed (loss of the first batch; mean loss of steps "
               f"{STEPS - HORIZON + 1}-{STEPS}): Keras defaults {loss['default'][0]:.3f}, {loss['default'][1]:.3f}; "
               f"TF1's initialiser in Keras {loss['fixed'][0]:.3f}, {loss['fixed'][1]:.3f}; the TF1 graph (its own "
               f"draw from that initialiser) {loss['tf1'][0]:.3f}, {loss['tf1'][1]:.3f}. On one seed, two draws "
               f"from the SAME initialiser differ as much as the two initialisers do: the cost is not one run's "
               f"loss but that the port starts from another distribution than the tutorial, which only seed "
               f"ensembles can weigh.")
    board.fix(3, "give both halves the joint kernel's initialiser (rnnmnist.kerasport.tf1_lstm_initializer)",
              f"input half: {_half(fixed['input'])};  recurrent half: {_half(fixed['recurrent'])}: "
              f"{_off(fixed['input'], tf1['input']):.1%} and {_off(fixed['recurrent'], tf1['recurrent']):.1%} "
              f"off TF1's (a draw's spread is known to a fraction of a percent). One trap inside the fix: a Keras 3 "
              f"initialiser seeded with an integer or none draws the same numbers at every call, so ONE instance "
              f"passed as both kernel_initializer and recurrent_initializer makes the recurrent kernel a copy of "
              f"the kernel: {f['identical']['unseeded_instance']:.0%} of the entries equal here. Seeded with a "
              f"keras.random.SeedGenerator, as kerasport's is, it moves on: "
              f"{f['identical']['port']:.0%} equal.")
    return {"std_off": {"default": max(_off(default[h], tf1[h]) for h in ("input", "recurrent")),
                        "fixed": max(_off(fixed[h], tf1[h]) for h in ("input", "recurrent"))},
            "loss": loss, "identical": f["identical"]}


def _epsilon_told(board: Board, f: Facts) -> Facts:
    wrong, fixed = f["default"], f["fixed"]
    board.note("4. Adam's epsilon:",
               f"keras.optimizers.Adam(lr) has epsilon {f['keras_default']:g}; TF1's AdamOptimizer {f['tf1']:g}. "
               f"Adam moves each weight by lr * m / (sqrt(v) + epsilon): where a gradient is about as small as "
               f"epsilon, the step is a different fraction of lr. From the same transplanted weights, on the same "
               f"batches: every weight (mapped back) within {wrong['weights_apart'][0]:.2g} of the graph's after "
               f"step 1, {max(wrong['weights_apart']):.2g} after {HORIZON} steps (tolerance "
               f"{TOLERANCES['weights']:g}); the losses {max(wrong['loss_apart']):.2g} apart (tolerance "
               f"{TOLERANCES['loss']:g}). Small, but the port no longer computes the tutorial's steps, and it "
               f"grows with training.")
    board.fix(4, f"Adam(lr, epsilon={f['tf1']:g})",
              f"the weights {max(fixed['weights_apart']):.2g} apart after {HORIZON} steps, the losses "
              f"{max(fixed['loss_apart']):.2g}.")
    return {"wrong": max(wrong["weights_apart"]), "fixed": max(fixed["weights_apart"]),
            "loss": (max(wrong["loss_apart"]), max(fixed["loss_apart"]))}


def _double_softmax_told(board: Board, f: Facts, jax: Facts | None) -> Facts:
    naive, by_hand = f["from_logits"], f["by_hand"]
    on_jax = (f"On Keras's JAX backend the same code keeps the bug: first loss {jax['from_logits']['loss'][0]:.6f}, "
              f"the weights {max(jax['from_logits']['weights_apart']):.2g} from the graph's after {HORIZON} steps. "
              if jax else "(JAX is not installed: pip install -e .[jax] to see the JAX backend keep the bug.) ")
    warning = naive["warnings"][0].strip('"') if naive["warnings"] else "none"
    board.note("5. The double softmax, ported as from_logits=True on a softmax output:",
               f"{BUGGY} applies softmax and hands the probabilities to softmax_cross_entropy_with_logits, which "
               f"applies softmax again. The literal port: a Softmax layer as the model's output and "
               f"CategoricalCrossentropy(from_logits=True). On the TensorFlow backend Keras 3 sees that its input "
               f"came out of a softmax and silently takes the logits before it: it FIXES the tutorial's bug, with "
               f"only a Python warning ({warning}). Loss of the first batch: the TF1 graph "
               f"{f['tf1_loss'][0]:.6f}, this port {naive['loss'][0]:.6f}; after {HORIZON} steps the losses "
               f"{max(naive['loss_apart']):.2g} apart (tolerance {TOLERANCES['loss']:g}), the weights "
               f"{max(naive['weights_apart']):.2g} (tolerance {TOLERANCES['weights']:g}). " + on_jax
               + "One model, two backends, two different computations.")
    board.fix(5, "write the loss out, -sum(y * log_softmax(output)), as variants/softmax_bug.py does: no "
                 "softmax op for Keras to see through",
              f"first loss {by_hand['loss'][0]:.6f}; after {HORIZON} steps the losses {max(by_hand['loss_apart']):.2g} "
              f"apart, the weights {max(by_hand['weights_apart']):.2g}: the tutorial's bug, kept on both backends.")
    return {"wrong": max(naive["loss_apart"]), "fixed": max(by_hand["loss_apart"]),
            "weights": (max(naive["weights_apart"]), max(by_hand["weights_apart"])),
            "jax": max(jax["from_logits"]["loss_apart"]) if jax else None, "warnings": naive["warnings"]}


if __name__ == "__main__":
    import sys
    sys.exit(main())
