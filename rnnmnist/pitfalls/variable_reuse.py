"""Lesson: re-running the graph-building cell of the softmax-bug tutorial in the same kernel."""
from __future__ import annotations

from .. import registry
from ..tfcompat import v1 as tf
from . import Board, Facts, attempt, error_text


def _names(graph) -> list[str]:
    return [v.name for v in graph.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)]


def run(board: Board, **_) -> Facts:
    build = registry.load("softmax-bug").build
    board.did("The softmax-bug tutorial builds its graph in a Jupyter cell: placeholders, weights, then "
              "RNN(x, weights, biases) with a BasicLSTMCell. The learner ran that cell a second time "
              "in the same kernel, so the graph was built again into the same default graph.")
    return {"error": _built_twice(board, build), "reset_default_graph": _reset_default_graph(board, build),
            "fresh_graph": _fresh_graphs(board, build), "auto_reuse": _auto_reuse(board, build)}


def _built_twice(board: Board, build) -> tuple[str, str] | None:
    """The tutorial's cell run twice into one graph: the error."""
    graph = tf.Graph()
    with graph.as_default():
        build(frozenset())
        _, error = attempt(lambda: build(frozenset()))
    board.happens(error_text(error))
    board.why("tf.Variable(...) quietly makes another variable each time (Variable_2, Variable_3, ...). "
              "But BasicLSTMCell makes its weights with tf.get_variable, which looks them up by name "
              "(rnn/basic_lstm_cell/kernel) and refuses to make one that already exists unless the "
              "variable scope says reuse. The first build left them in the default graph.")
    return error


def _reset_default_graph(board: Board, build) -> tuple:
    """Fix 1: what a notebook user types at the top of the cell."""
    tf.reset_default_graph()
    build(frozenset())
    tf.reset_default_graph()
    _, error = attempt(lambda: build(frozenset()))
    names = _names(tf.get_default_graph())
    tf.reset_default_graph()
    board.fix(1, "tf.reset_default_graph() before building",
              f"{error_text(error)}; the graph holds {len(names)} variables, "
              "the tutorial's 4. It throws away the old graph (and any session on it).")
    return error, names


def _fresh_graphs(board: Board, build) -> tuple:
    """Fix 2: what rnnmnist's runner does."""
    counts = []
    for _ in range(2):
        with tf.Graph().as_default() as fresh:
            _, error = attempt(lambda: build(frozenset()))
            counts.append(len(_names(fresh)))
    board.fix(2, "build each model in its own graph: with tf.Graph().as_default(): ...",
              f"{error_text(error)}; two builds, two graphs of {counts[0]} and {counts[1]} variables. "
              "This is what rnnmnist's runner does for every run.")
    return error, counts


def _auto_reuse(board: Board, build) -> tuple:
    """Fix 3: the AUTO_REUSE scope of the static-projection tutorial -- it silences the error, but shares."""
    with tf.Graph().as_default() as shared:
        with tf.variable_scope("model", reuse=tf.AUTO_REUSE):
            build(frozenset())
            first = _names(shared)
            _, error = attempt(lambda: build(frozenset()))
        names = _names(shared)
    reused = [n for n in first if "basic_lstm_cell" in n]
    new = [n for n in names if n not in first]
    board.fix(3, "variable_scope(..., reuse=tf.AUTO_REUSE), as the static-projection tutorial does",
              f"{error_text(error)}. But look at the variables after two builds:\n"
              + "\n".join(f"  {n}" for n in names) + "\n"
              f"The second build silently SHARES the first one's LSTM weights ({', '.join(reused)}), "
              f"while its readout gets new ones ({', '.join(new)}): tf.Variable ignores reuse. Two "
              "models that train the same LSTM are not a fresh model. Use it only when sharing is "
              "what you mean.")
    return error, first, names
