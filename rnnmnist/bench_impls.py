"""The benchmark's Keras 3 side (`python -m rnnmnist.bench --impls ...`): what a user would write today, timed.

Each kind is a worker process of its own (rnnmnist.bench's `--worker NAME --kind KIND`) that trains the
tutorial's Keras 3 version through the Keras runner (rnnmnist.kerasrunner, on rnnmnist.loop: the same
batches and the same schedule as the TF1 runner's worker), its model compiled as the kind says. It never
imports rnnmnist.tfcompat: Keras 3 cannot run beside TF1 semantics, and a process has one Keras backend.
Nothing here imports TensorFlow or Keras; the worker imports Keras when it builds the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .request import jax_missing

# kind: (Keras backend, what the benchmark sets on the Keras runner's compiled model before its first step)
KINDS: dict[str, tuple[str, dict[str, bool]]] = {
    "keras-eager": ("tensorflow", {"run_eagerly": True}),   # each step's ops dispatched one by one from Python
    "keras-function": ("tensorflow", {}),                   # the Keras runner as it trains: a tf.function per step
    "keras-xla": ("tensorflow", {"jit_compile": True}),     # that tf.function compiled whole by XLA
    "keras-jax": ("jax", {}),                               # the Keras runner on JAX: the step jitted (XLA)
}
NONE = "none"


@dataclass(frozen=True)
class Implementation:
    variant: str
    kind: str                     # one of KINDS
    backend: str                  # Keras 3's backend in that worker
    steps_per_s: float            # the median over the rounds
    runner_steps_per_s: float     # the TF1 session runner's median over the same rounds
    ratio: float                  # Keras kind / TF1 runner: the median of round_ratios
    rounds: int
    steps_per_segment: int
    round_ratios: tuple[float, ...] = ()          # kind / runner within each round
    ratio_ci95: tuple[float, float] | None = None  # of the median; None with too few rounds


def chosen(text: str | None) -> tuple[tuple[str, ...], dict[str, str]]:
    """The kinds `--impls` names (None: all that can run here) and those left out, with why; a ValueError
    (one line) for an unknown kind, or for one asked for by name that cannot run here."""
    if text is None:
        kinds, asked = tuple(KINDS), False
    else:
        kinds = () if text.strip() == NONE else tuple(dict.fromkeys(k.strip() for k in text.split(",")))
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"--impls: unknown kind {unknown[0]!r}; choose from {', '.join(KINDS)}, comma-separated, "
                             f"or {NONE}")
        asked = True
    missing = {k: jax_missing() for k in kinds if KINDS[k][0] == "jax" and jax_missing()}
    if missing and asked:
        raise ValueError(f"--impls {next(iter(missing))}: {next(iter(missing.values()))}")
    return tuple(k for k in kinds if k not in missing), missing


def versions(kinds: tuple[str, ...]) -> dict[str, str]:
    """The packages the kinds train with."""
    names = ["keras"] + (["jax", "jaxlib"] if any(KINDS[k][0] == "jax" for k in kinds) else [])
    return {name: metadata.version(name) for name in names} if kinds else {}


def training(variant, data_dir: Path, schedule, threads: int, kind: str):
    """The worker's loop for `kind`: the Keras runner's training of `variant` on `schedule` (rnnmnist.loop.Loop)."""
    from . import kerasrunner, tflogs
    from .plan import Plan
    from .request import RunRequest
    backend, options = KINDS[kind]
    kerasrunner.prepare(backend)  # before Keras's first import, in this process of its own

    class Compiled(kerasrunner.KerasTraining):
        def _build(self) -> None:
            super()._build()
            # Keras builds its train function at the first step, from these: set before it
            for attribute, value in options.items():
                setattr(self.model, attribute, value)
                if getattr(self.model, attribute) != value:  # Keras turns jit_compile off, warning, where XLA cannot
                    raise RuntimeError(f"{variant.name}: Keras would not set {attribute}={value} for {kind}")

    request = RunRequest(variant.name, variant.seed, data_dir=data_dir, out=None, impl="keras", backend=backend)
    # On JAX, keras.utils.set_random_seed imports TensorFlow (to seed it too) after Keras's quiet import:
    # its start-up lines would land in the benchmark's output
    with tflogs.quiet_fd2(not tflogs.shown):
        return Compiled(Plan.of(variant, request, schedule, threads), echo=None)


def table(rows: list[Implementation]) -> str:
    from tabulate import tabulate
    body = [[m.variant, m.kind, m.backend, f"{m.runner_steps_per_s:.1f}", f"{m.steps_per_s:.1f}",
             f"{m.ratio:.3f}" + (f" ({m.ratio_ci95[0]:.3f}-{m.ratio_ci95[1]:.3f})" if m.ratio_ci95 else "")]
            for m in rows]
    return tabulate(body, headers=["variant", "Keras 3 as", "backend", "TF1 runner steps/s", "Keras steps/s",
                                   "Keras / TF1 runner (95% CI)"], tablefmt="github", disable_numparse=True)
