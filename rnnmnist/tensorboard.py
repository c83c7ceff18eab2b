"""A run's curve as TensorBoard event files, for those who would rather look at it there."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from .spec import Point
from .tfcompat import v1 as tf


def write(points: list[Point], directory: Path) -> Path:
    """One scalar series per metric, indexed by the tutorial's own step (or epoch) counter."""
    directory.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.FileWriter(str(directory))
    try:
        for p in points:
            summary = tf.Summary(value=[tf.Summary.Value(tag=p.metric, simple_value=p.value)])
            writer.add_summary(summary, global_step=p.at)
    finally:
        writer.close()
    return directory


def viewer_installed() -> bool:
    """Whether the `tensorboard` viewer is there: TensorFlow 2.21 writes events without depending on it."""
    return importlib.util.find_spec("tensorboard") is not None
