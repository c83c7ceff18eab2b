"""A run resolved once: what a `RunRequest` means for its tutorial.

`resolve(request)` works out, once, everything a run needs besides the data: the variant, its schedule
cut as asked, the TensorFlow era it runs under, the session's threads, and notes on what was asked
beyond the schedule. The command line, the Python API and a `--jobs` worker all call it; the runner,
the run's document and its comparison read the plan and work none of it out again.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import cpu, eras, registry, results
from .request import RequestError, RunRequest
from .spec import Reference, Schedule, Variant


@dataclass(frozen=True)
class Plan:
    request: RunRequest
    variant: Variant
    schedule: Schedule          # the tutorial's, cut as asked
    era: eras.Era               # the release whose data order and default initializer it runs with
    inter_op_threads: int       # the session's inter-op pool (the intra-op pool is always one)
    notes: tuple[str, ...] = ()  # what was asked beyond the tutorial's schedule, said before it runs

    @classmethod
    def of(cls, variant: Variant, request: RunRequest, schedule: Schedule | None = None,
           inter_op_threads: int = 0) -> "Plan":
        """The plan of `variant` (any Variant, also one not in the registry) as `request` asks, unchecked."""
        return cls(request, variant, schedule or variant.schedule, eras.get(request.era or variant.era),
                   inter_op_threads or request.inter_op_threads or cpu.count())

    @property
    def steps_total(self) -> int:
        """The tutorial's own number of steps."""
        return len(self.variant.schedule.steps)

    @property
    def impl(self) -> str:
        return self.request.impl

    @property
    def backend(self) -> str | None:
        """A Keras run's Keras 3 backend (tensorflow unless asked); None for a TF1 run."""
        return (self.request.backend or "tensorflow") if self.impl == "keras" else None

    @property
    def implementation(self) -> str:
        """How the run is named in files and titles: tf1, keras, keras-jax."""
        return results.implementation_name(self.impl, self.backend)

    @property
    def truncated(self) -> bool:
        return len(self.schedule.steps) < self.steps_total

    @property
    def own_era(self) -> bool:
        """Whether the era is the one the tutorial ran on."""
        return self.era.name == self.variant.era

    @property
    def fixes(self) -> frozenset[str]:
        return frozenset(self.request.fixes)

    @property
    def reference(self) -> Reference | None:
        """The documented numbers; none with a fix: that is not the tutorial's graph."""
        return None if self.request.fixes else self.variant.reference

    @property
    def session_threads(self) -> dict[str, int]:
        """The session's thread pools, recorded with each run (the intra-op count changes last bits)."""
        return cpu.session_threads(self.inter_op_threads)

    def run_name(self, interrupted: bool = False) -> str:
        """The run's directory name for what it writes besides its record (checkpoint, TensorBoard)."""
        return results.run_stem(self.request.seed, self.request.fixes, self.truncated, interrupted,
                                None if self.own_era else self.era.name, self.implementation)

    def header(self, version: str) -> str:
        """The line a command prints before the run: which tutorial, how much of it, and under what.
        `version`: TensorFlow's (a TF1 run), Keras's (a Keras run)."""
        v = self.variant
        under = (f"Keras {version} ({self.backend} backend), its Keras 3 version, with TF {self.era.name}'s data order"
                 if self.impl == "keras" else f"TensorFlow {version} with TF {self.era.name} semantics")
        return (f"# {v.name} ({v.tutorial}): {len(self.schedule.steps)} of {self.steps_total} steps, "
                f"seed {self.request.seed}, {under}"
                + (" (the tutorial's own)" if self.own_era else f" (the tutorial ran on {v.era})")
                + (f", fixes: {', '.join(self.request.fixes)}" if self.request.fixes else ""))


def resolve(request: RunRequest, inter_op_threads: int = 0) -> Plan:
    """The plan of a request; a RequestError (one line) for a fix the tutorial lacks or --epochs on a step loop.

    `inter_op_threads`: the share of the cores a `--jobs` worker gives the run (0: the request's, else one
    per core).
    """
    variant = registry.load(request.variant)
    unknown = sorted(set(request.fixes) - set(variant.fixes))
    if unknown:
        raise RequestError(f"{variant.name} has no fix {unknown[0]!r}; its fixes: {', '.join(variant.fixes) or 'none'}")
    if request.impl == "keras":
        _keras_version_of(variant, request)
    schedule, notes = _cut(variant, request)
    return replace(Plan.of(variant, request, schedule, inter_op_threads), notes=notes)


def _keras_version_of(variant: Variant, request: RunRequest) -> None:
    """A Keras run needs the tutorial's Keras 3 version, which is written for the tutorial's own era."""
    if variant.keras is None:
        raise RequestError(f"{variant.name} has no Keras 3 version: run it with impl='tf1' (--impl tf1)")
    if request.era is not None and eras.get(request.era).behaviour != eras.get(variant.era).behaviour:
        raise RequestError(f"{variant.name}'s Keras 3 version starts from the initializer of the TF release it ran on "
                           f"({variant.era}): leave out the era (--tf-semantics) with impl='keras'")


def _cut(variant: Variant, request: RunRequest) -> tuple[Schedule, tuple[str, ...]]:
    """The tutorial's schedule cut by --epochs and --steps; notes on what was asked beyond it."""
    schedule, notes = variant.schedule, []
    if request.epochs is not None:
        if not schedule.steps_per_epoch:
            raise RequestError(f"{variant.name} counts steps, not epochs: use --steps")
        if request.epochs > schedule.epochs:
            notes.append(f"{variant.name} has {schedule.epochs} epochs: --epochs {request.epochs} runs all "
                         f"{schedule.epochs}")
        schedule = schedule.truncated_epochs(request.epochs)
    if request.steps is not None:
        if request.steps > len(schedule.steps):
            notes.append(f"{variant.name} has {len(schedule.steps)} steps: --steps {request.steps} runs all "
                         f"{len(schedule.steps)}")
        schedule = schedule.truncated(request.steps)
    return schedule, tuple(notes)
