"""What the variants' Keras 3 versions share: Keras imported on first use, and TF1's LSTM initialiser.

Keras 3 needs eager execution or tf.function (or JAX); rnnmnist.tfcompat switches TensorFlow to TF1
semantics process-wide. The two never meet in one process: a Keras model is built only where
rnnmnist.tfcompat was not imported (rnnmnist.equivalence runs each side in its own process).
"""
from __future__ import annotations

import math
import os
import sys

from . import eras, tflogs


def keras():
    """The `keras` package (Keras 3), refused in a process where TF1 semantics are on."""
    if "rnnmnist.tfcompat" in sys.modules:
        raise RuntimeError("Keras 3 cannot run in a process with TF1 semantics (rnnmnist.tfcompat was imported): "
                           "build the Keras model in a process of its own (python -m rnnmnist.equivalence)")
    if not tflogs.shown:  # as rnnmnist.tfcompat: no TensorFlow start-up noise (in a notebook's output too)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tflogs.quiet_fd2(not tflogs.shown and "keras" not in sys.modules):
        import keras as k
    return k


def tf1_lstm_initializer(n_input: int, units: int, era: str):
    """BasicLSTMCell's kernel initialiser under `era`, for Keras's `kernel` and `recurrent_kernel` alike.

    TF1 drew ONE kernel over [x, h], shape [n_input + units, 4 units], from get_variable's default:
    glorot_uniform from 1.0 (limit sqrt(6 / (fan_in + fan_out)) over the joint shape), and 0.12's
    uniform_unit_scaling (limit sqrt(3 / (n_input + units))). Keras's defaults differ (glorot over
    [n_input, 4u] alone for `kernel`, orthogonal for `recurrent_kernel`): both halves get the joint
    limit here, so the Keras model starts from TF1's distribution.

    The variants pass this one initialiser for both halves. A Keras 3 initialiser seeded with an
    integer or None draws the same numbers at every call: the recurrent kernel would repeat the
    kernel (entry for entry where n_input == units, as in morvan). A SeedGenerator (seeded from
    keras.utils.set_random_seed) moves on at each call, so the halves are drawn apart.
    """
    fan_in, fan_out = n_input + units, 4 * units
    if eras.get(era).lstm_kernel_initializer == eras.UNIFORM_UNIT_SCALING:
        limit = math.sqrt(3 / fan_in)
    else:
        limit = math.sqrt(6 / (fan_in + fan_out))
    k = keras()
    return k.initializers.RandomUniform(-limit, limit, seed=k.random.SeedGenerator())


def basic_lstm_cell(n_input: int, units: int, era: str) -> dict:
    """The Keras LSTM (or LSTMCell) arguments that make it start as TF1's BasicLSTMCell(units, forget_bias=1.0):
    the era's initialiser over the joint [x, h] kernel for both halves, a zero bias, and the forget bias,
    which TF1 adds in the forward pass and Keras keeps in `bias` (unit_forget_bias starts its f block at 1)."""
    init = tf1_lstm_initializer(n_input, units, era)
    return dict(kernel_initializer=init, recurrent_initializer=init, bias_initializer="zeros", unit_forget_bias=True)


def adam_as_tf1(learning_rate: float):
    """tf.train.AdamOptimizer(learning_rate): its betas, and its epsilon 1e-8 (Keras's default is 1e-7)."""
    return keras().optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
