"""What a run measures: the metrics' names, each printed number (`Point`) and the whole run's (`Curve`)."""
from __future__ import annotations

from dataclasses import dataclass, field

# Metric names, shared by curves, references and the comparison.
BATCH_ACCURACY = "batch_accuracy"  # on the training batch just used, after the update
BATCH_LOSS = "batch_loss"          # likewise
EPOCH_MEAN_LOSS = "epoch_mean_loss"  # mean over an epoch of the after-update batch loss
TRAIN_ACCURACY = "train_accuracy"  # on the whole training set (55,000), after an epoch
TEST_ACCURACY = "test_accuracy"    # on the whole test set (10,000), after an epoch
FINAL_TEST_ACCURACY = "final_test_accuracy"  # on the first N test images, after training
TRAIN_SIZE, TEST_SIZE = 55000, 10000


@dataclass(frozen=True)
class Point:
    metric: str
    at: int        # step counter for batch metrics, 1-based epoch for epoch metrics, last step for final
    value: float
    sd: float | None = None  # EPOCH_MEAN_LOSS: standard deviation of the losses averaged


@dataclass
class Curve:
    """What a run produced: every printed number, and how long it took."""
    points: list[Point] = field(default_factory=list)
    steps_run: int = 0
    wall_time_s: float = 0.0
    train_time_s: float = 0.0
    interrupted: str | None = None  # what stopped it early (KeyboardInterrupt, SIGTERM), if anything
    checkpoint: str | None = None   # the saved model's checkpoint prefix, if one was asked for
    checkpoint_sha256: str | None = None  # the digest of its files (rnnmnist.checkpoints)
    events: str | None = None       # where its TensorBoard events went, if they were asked for
