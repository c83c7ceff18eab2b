"""Runnable lessons: each pitfall these tutorials fell into, reproduced for real, explained, then fixed.

Every error and number a lesson shows comes from running TensorFlow at that moment.
"""
from __future__ import annotations

import importlib
import textwrap
from typing import Any, Callable, TypeVar

# name -> (module, one-line title); modules are imported only when a lesson runs (they import TensorFlow)
LESSONS = {
    "variable-reuse": ("variable_reuse", "re-running the graph-building cell: 'Variable ... already exists'"),
    "fixed-batch-state": ("fixed_batch_state", "zero_state(batch_size) bakes 128 into the graph"),
    "double-softmax": ("double_softmax", "softmax applied before softmax_cross_entropy_with_logits"),
    "api-drift": ("api_drift", "what TF 2 removed or changed, and what tf_upgrade_v2 makes of the tutorials"),
    "migration": ("migration", "what a straightforward Keras 3 port gets wrong: gates, forget bias, init, epsilon, softmax"),
}

WIDTH = 100
T = TypeVar("T")


def load(name: str):
    return importlib.import_module(f"{__name__}.{LESSONS[name][0]}")


class Board:
    """Prints a lesson in the same plain shape: what was done, what happens, why, the fixes."""

    def __init__(self, echo: Callable[[str], None] = print):
        self.echo = echo

    def _block(self, label: str, text: str) -> None:
        lines = []
        for para in text.split("\n"):
            lines += textwrap.wrap(para, WIDTH - 4, break_on_hyphens=False) or [""]
        self.echo(label)
        for line in lines:
            self.echo("    " + line)

    def title(self, name: str, title: str) -> None:
        self.echo(f"== {name}: {title} ==")

    def did(self, text: str) -> None:
        self._block("What the learner did:", text)

    def happens(self, text: str) -> None:
        self._block("What happens (just now, for real):", text)

    def why(self, text: str) -> None:
        self._block("Why:", text)

    def fix(self, n: int, what: str, result: str) -> None:
        self._block(f"Fix {n}: {what}", result)

    def note(self, label: str, text: str) -> None:
        self._block(label, text)


def attempt(fn: Callable[[], T]) -> tuple[T | None, tuple[str, str] | None]:
    """Run fn; return (its result, None) or (None, (exception type, first line of its message))."""
    try:
        return fn(), None
    except Exception as e:  # a lesson shows whatever TensorFlow raises
        return None, (type(e).__name__, _headline(str(e)))


def _headline(message: str) -> str:
    """The line that says what went wrong: for a session's op error, the one after its traceback."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if lines and lines[0].startswith("Graph execution error"):
        skip = ("Graph execution error", "Detected at node", "File ", "Node:", "[[")
        lines = [line for line in lines if not line.startswith(skip)] or lines
    return lines[0] if lines else ""


def error_text(error: tuple[str, str] | None) -> str:
    return "no error" if error is None else f"{error[0]}: {error[1]}"


Facts = dict[str, Any]
