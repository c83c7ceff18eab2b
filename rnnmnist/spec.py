"""What a variant declares and what a run produces: the types that cross module boundaries."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

# Metric names, shared by curves, references and the comparison.
BATCH_ACCURACY = "batch_accuracy"  # on the training batch just used, after the update
BATCH_LOSS = "batch_loss"          # likewise


@dataclass(frozen=True)
class Graph:
    """The handles a graph builder returns (built inside a fresh tf.Graph and variable scope)."""
    x: Any
    y: Any
    train_op: Any
    loss: Any
    accuracy: Any
    init: Any
    correct: Any = None  # per-example correctness (the tutorials' correct_pred)
    # A `zero_state(batch_size)` bakes the batch size into the graph: feed only that many.
    fixed_batch: int | None = None


@dataclass(frozen=True)
class Schedule:
    """The tutorial's training loop, as data."""
    batch_size: int
    steps: range                       # the values the tutorial's loop counter takes
    every: int                         # print when step % every == 0
    batch_metrics: tuple[str, ...]     # BATCH_ACCURACY / BATCH_LOSS, evaluated at that cadence

    def truncated(self, max_steps: int) -> "Schedule":
        return replace(self, steps=self.steps[:max_steps])

    def checkpoints(self) -> list[int]:
        return [s for s in self.steps if s % self.every == 0]


def steps_while(start: int, batch_size: int, training_iters: int) -> range:
    """The counter values of `step = start; while step * batch_size < training_iters: ...; step += 1`."""
    return range(start, max(start, -(-training_iters // batch_size)))


@dataclass(frozen=True)
class Point:
    metric: str
    at: int        # the loop counter value where it was printed
    value: float


@dataclass(frozen=True)
class Reference:
    """Documented numbers a variant is compared with, and where they come from."""
    source: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Event:
    """One printing moment of the tutorial: its loop counter and the values it printed."""
    at: int
    values: Mapping[str, float]


@dataclass(frozen=True)
class Variant:
    name: str                          # CLI name, e.g. "morvan"
    tutorial: str                      # file in shared/tutorials/
    hyperparameters: Mapping[str, Any]
    build: Callable[[], Graph]
    feed_shape: tuple[int, ...]        # each image is reshaped to this before feeding
    schedule: Schedule
    seed: int                          # default seed (the tutorial's own where it set one)
    print_event: Callable[[Event], list[str]]   # the tutorial's print statement
    reference: Reference | None = None


@dataclass
class Curve:
    """What a run produced: every printed number, and how long it took."""
    points: list[Point] = field(default_factory=list)
    steps_run: int = 0
    wall_time_s: float = 0.0
    train_time_s: float = 0.0
