"""What a variant declares: its graph, schedule, documented numbers and print statement (`Variant`)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from .curve import (BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS, FINAL_TEST_ACCURACY, TEST_ACCURACY, TEST_SIZE,
                    TRAIN_ACCURACY, TRAIN_SIZE, Point)

@dataclass(frozen=True)
class GraphHandles:
    """The tensors and ops a graph builder returns, not the graph (it is built inside a fresh tf.Graph)."""
    x: Any
    y: Any
    train_op: Any
    loss: Any
    accuracy: Any
    init: Any
    correct: Any = None  # per-example correctness (the tutorials' correct_pred)
    output: Any = None   # what the network outputs (the tutorial's pred: logits, or softmax-bug's probabilities)
    # A `zero_state(batch_size)` bakes the batch size into the graph: feed only that many.
    fixed_batch: int | None = None


@dataclass(frozen=True)
class Schedule:
    """The tutorial's training loop, as data."""
    batch_size: int
    steps: range                       # the values the tutorial's step counter takes, in order
    every: int = 0                     # evaluate batch_metrics when step % every == 0 (0: never)
    batch_metrics: tuple[str, ...] = ()  # BATCH_ACCURACY / BATCH_LOSS on the batch just used
    # Epoch loops (`for epoch in range(E): for i in range(steps_per_epoch)`): steps then count
    # all E * steps_per_epoch updates, and after each epoch come these:
    steps_per_epoch: int = 0
    epoch_mean_loss: bool = False      # every step's after-update loss, averaged over the epoch
    epoch_eval: tuple[str, ...] = ()   # TRAIN_ACCURACY / TEST_ACCURACY on the whole set
    final_test_images: int = 0         # accuracy on the first N test images after the loop

    @property
    def epochs(self) -> int:
        return len(self.steps) // self.steps_per_epoch if self.steps_per_epoch else 0

    def truncated(self, max_steps: int) -> "Schedule":
        return replace(self, steps=self.steps[:max_steps])

    def truncated_epochs(self, max_epochs: int) -> "Schedule":
        return self.truncated(max_epochs * self.steps_per_epoch)

    def is_checkpoint(self, step: int) -> bool:
        """Whether the tutorial prints its batch metrics after this step (the counter's value)."""
        return bool(self.batch_metrics) and bool(self.every) and step % self.every == 0

    def is_epoch_end(self, i: int) -> bool:
        """Whether the i-th update (0-based) ends an epoch of an epoch loop."""
        return bool(self.steps_per_epoch) and (i + 1) % self.steps_per_epoch == 0

    def checkpoints(self) -> list[int]:
        return [s for s in self.steps if self.is_checkpoint(s)]

    def describe(self) -> str:
        if self.steps_per_epoch and len(self.steps) % self.steps_per_epoch == 0:
            return f"{self.epochs} epochs x {self.steps_per_epoch} steps, batch {self.batch_size}"
        if self.steps_per_epoch:
            return f"{len(self.steps)} steps of {self.steps_per_epoch}-step epochs, batch {self.batch_size}"
        return f"{len(self.steps)} steps, batch {self.batch_size}"

    def sample_sizes(self) -> dict[str, int]:
        """How many images (or batches) each metric's number is measured on."""
        return {BATCH_ACCURACY: self.batch_size, BATCH_LOSS: self.batch_size,
                EPOCH_MEAN_LOSS: self.steps_per_epoch, TRAIN_ACCURACY: TRAIN_SIZE, TEST_ACCURACY: TEST_SIZE,
                FINAL_TEST_ACCURACY: self.final_test_images}


def titled(variant: str, fixes) -> str:
    """A variant as summaries name it, with its fixes: `softmax-bug --fix softmax`."""
    return variant + "".join(f" --fix {f}" for f in fixes)


def file_stem(variant: str, fixes) -> str:
    """The same in a file name: `softmax-bug_fix-softmax`."""
    return variant + "".join(f"_fix-{f}" for f in fixes)


def steps_while(start: int, batch_size: int, training_iters: int) -> range:
    """The counter values of `step = start; while step * batch_size < training_iters: ...; step += 1`."""
    return range(start, max(start, -(-training_iters // batch_size)))


@dataclass(frozen=True)
class Reference:
    """Documented numbers a variant is compared with, and where they come from.

    `also`: other documented numbers a run is compared with as well (another tutorial's, of the same
    recipe); they are shown beside these, and the verdict stays these numbers'.
    """
    source: str
    points: tuple[Point, ...]
    also: tuple["Reference", ...] = ()
    label: str = "documented"  # the numbers in a plot's legend


@dataclass(frozen=True)
class KerasPort:
    """A tutorial written in today's Keras 3 (a variant's `keras(fixes)` builds it), and how its weights
    meet the TF1 graph's (rnnmnist.weightmap).

    `tf1_variables`: for each of the TF1 graph's trainable variables, in the order the graph creates
    them, the Keras weight it becomes, as "layer/weight"; the BasicLSTMCell's kernel and bias are
    "<lstm>/kernel" and "<lstm>/bias", which the map splits and reorders (Keras's `kernel`,
    `recurrent_kernel` and `bias` of the layer named `lstm`).
    """
    model: Any                          # a keras.Model: the fed batch (feed_shape) -> the graph's output
    loss: Any                           # a keras loss on (labels, output), averaged over the batch
    optimizer: Any
    tf1_variables: tuple[str, ...]
    lstm: str = "lstm"
    forget_bias: float = 1.0            # BasicLSTMCell's, added in its forward pass; Keras keeps it in `bias`
    unlike: str = ""                    # what of the TF1 graph Keras cannot express (and why no number moves)


STEP, EPOCH, FINAL = "step", "epoch", "final"


@dataclass(frozen=True)
class Event:
    """One printing moment of the tutorial: when, and the values it printed."""
    kind: str      # STEP, EPOCH or FINAL
    at: int        # the step counter (STEP, FINAL) or the 1-based epoch (EPOCH)
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Variant:
    name: str                          # CLI name, e.g. "morvan"
    tutorial: str                      # the tutorial: author, title, date, address (where they are known)
    hyperparameters: Mapping[str, Any]
    build: Callable[[frozenset[str]], GraphHandles]   # called with the fixes switched on
    feed_shape: tuple[int, ...]        # each image is reshaped to this before feeding
    schedule: Schedule
    seed: int                          # default seed (the tutorial's own where it set one)
    print_event: Callable[[Event], list[str]]   # the tutorial's print statement
    reference: Reference | None = None
    # The tutorial's bugs stay in by default; each named fix here can be switched on.
    fixes: Mapping[str, str] = field(default_factory=dict)
    # What investigating a gap to the documented numbers found; the report prints it with the verdict.
    finding: str = ""
    # The TensorFlow release the tutorial ran on (a key of rnnmnist.eras.ERAS), and why that one
    era: str = "1.2"
    # The tutorial in today's Keras 3, called with the fixes switched on (keras is imported inside it)
    keras: Callable[[frozenset[str]], KerasPort] | None = None
