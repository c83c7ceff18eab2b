"""The weights of a TF1 graph and of its Keras 3 model, each into the other (NumPy only; no variant).

TF1's BasicLSTMCell (tf.compat.v1.nn.rnn_cell, rnn_cell_impl.py) keeps ONE kernel over the
concatenated [x, h] and one bias, its gates in the order i, j, f, o, and adds `forget_bias` in its
forward pass, outside any variable:

    i, j, f, o = split(concat([x, h]) @ kernel + bias, 4)            kernel: [n_in + units, 4 * units]
    c' = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j);  h' = tanh(c') * sigmoid(o)

Keras's LSTMCell keeps `kernel` (the x rows), `recurrent_kernel` (the h rows) and `bias`, its gates
in the order i, f, c, o (c is TF1's j), and has no forget bias in its forward pass:

    i, f, c, o = split(x @ kernel + h @ recurrent_kernel + bias, 4)
    c' = f * c + i * tanh(c);  ...  (sigmoid on i, f, o)

So, to Keras: split the kernel's rows at n_in, swap the j and f column blocks, and move the forget
bias into the bias (bias_f + forget_bias). Back: the same swap (it is its own inverse), the rows
joined again, and bias_f - forget_bias. Since bias_f enters both forward passes only as
bias_f (+ forget_bias), every gradient is the same and an optimizer moves both biases alike: the
shift holds at every step. (Keras's `unit_forget_bias=True` does the same at initialisation only.)

Every other weight (the tutorials' projections and readouts) is copied as it is.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

# TF1's blocks i, j, f, o, read in Keras's order i, f, c(=j), o; the same permutation maps back.
GATES = (0, 2, 1, 3)


def _gates(a: np.ndarray) -> np.ndarray:
    """The 4 gate blocks of the last axis, swapped j <-> f."""
    blocks = np.split(a, 4, axis=-1)
    return np.concatenate([blocks[g] for g in GATES], axis=-1)


def lstm_kernel_to_keras(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BasicLSTMCell's kernel [n_in + units, 4 units] -> Keras's (kernel [n_in, 4u], recurrent_kernel [u, 4u])."""
    units = kernel.shape[1] // 4
    k = _gates(kernel)
    return k[:-units], k[-units:]


def lstm_kernel_to_tf1(kernel: np.ndarray, recurrent_kernel: np.ndarray) -> np.ndarray:
    return _gates(np.concatenate([kernel, recurrent_kernel], axis=0))


def lstm_bias_to_keras(bias: np.ndarray, forget_bias: float) -> np.ndarray:
    """BasicLSTMCell's bias -> Keras's, the forward pass's forget_bias moved into the f block."""
    b = _gates(bias).copy()
    units = len(b) // 4
    b[units:2 * units] += np.asarray(forget_bias, b.dtype)
    return b


def lstm_bias_to_tf1(bias: np.ndarray, forget_bias: float) -> np.ndarray:
    b = bias.copy()
    units = len(b) // 4
    b[units:2 * units] -= np.asarray(forget_bias, b.dtype)
    return _gates(b)


def to_keras(tf1: Sequence[np.ndarray], names: Sequence[str], lstm: str,
             forget_bias: float) -> dict[str, np.ndarray]:
    """The TF1 graph's trainable variables (in creation order) as Keras weights, by "layer/weight".

    `names`: the Keras weight each TF1 variable becomes (KerasPort.tf1_variables).
    """
    if len(tf1) != len(names):
        raise ValueError(f"the TF1 graph has {len(tf1)} trainable variables; the map names {len(names)}")
    out: dict[str, np.ndarray] = {}
    for value, name in zip(tf1, names):
        if name == f"{lstm}/kernel":
            out[f"{lstm}/kernel"], out[f"{lstm}/recurrent_kernel"] = lstm_kernel_to_keras(value)
        elif name == f"{lstm}/bias":
            out[name] = lstm_bias_to_keras(value, forget_bias)
        else:
            out[name] = np.array(value)
    return out


def to_tf1(keras: Mapping[str, np.ndarray], names: Sequence[str], lstm: str,
           forget_bias: float) -> list[np.ndarray]:
    """Keras weights (by "layer/weight") as the TF1 graph's trainable variables, in its creation order."""
    out = []
    for name in names:
        if name == f"{lstm}/kernel":
            out.append(lstm_kernel_to_tf1(keras[f"{lstm}/kernel"], keras[f"{lstm}/recurrent_kernel"]))
        elif name == f"{lstm}/bias":
            out.append(lstm_bias_to_tf1(keras[name], forget_bias))
        else:
            out.append(np.array(keras[name]))
    return out
