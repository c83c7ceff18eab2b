"""A run's curve as TensorBoard event files, written while it trains, and its graph.

`tensorboard --logdir DIR` shows a run as it goes: each printed number is written when the
tutorial prints it and flushed then. The tutorial's graph is in the first event, for the graph view.
TensorFlow 2.21 writes the events without the viewer: `pip install -e ".[tensorboard]"` brings it.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from .curve import Point
from .tfcompat import v1 as tf


class Events:
    """An event file for one run: its graph now, its points as they come."""

    def __init__(self, directory: Path, graph: "tf.Graph | None" = None):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.writer = tf.summary.FileWriter(str(directory), graph=graph)

    def add(self, points: list[Point]) -> None:
        """One scalar per point, at the tutorial's own step (or epoch) counter; flushed at once."""
        for p in points:
            summary = tf.Summary(value=[tf.Summary.Value(tag=p.metric, simple_value=p.value)])
            self.writer.add_summary(summary, global_step=p.at)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def viewer_installed() -> bool:
    """Whether the `tensorboard` viewer is there: TensorFlow 2.21 writes events without depending on it."""
    return importlib.util.find_spec("tensorboard") is not None
