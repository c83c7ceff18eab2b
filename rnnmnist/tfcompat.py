"""The one place TensorFlow is imported: TF1 behaviour, legacy Keras, and no start-up noise.

Variants write `tf = tfcompat.v1` and read like the TF1 code they reproduce. TensorFlow 2.21
reads TF_USE_LEGACY_KERAS when the TF1 cells are first looked up, not when it is imported, so a
learner who imported TensorFlow in an earlier notebook cell is fine; if the cells are still
refused, `LegacyCellsUnavailable` says in one line what to do.

Its own log lines and deprecation warnings show where the entry point asked for them before this
import (`rnnmnist.tflogs`: the CLIs' --verbose, $RNNMNIST_VERBOSE).
"""
from __future__ import annotations

import os
import warnings

from . import tflogs

VERBOSE = tflogs.shown



class LegacyCellsUnavailable(ImportError):
    """tf.compat.v1.nn.rnn_cell.BasicLSTMCell is refused (Keras 3 took its place)."""

# Keras 3 refuses tf.compat.v1.nn.rnn_cell.BasicLSTMCell; tf-keras provides it, but
# TensorFlow reads this switch only once, when it is first imported.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
if not VERBOSE:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


with tflogs.quiet_fd2(not VERBOSE):
    import tensorflow as tf  # noqa: E402
    v1 = tf.compat.v1
    if not VERBOSE:  # before disable_v2_behavior, which logs a deprecation (to a notebook's output too)
        v1.logging.set_verbosity(v1.logging.ERROR)
    # TF1 semantics, not just graph mode: ref variables and v1 control flow in dynamic_rnn's
    # while_loop, as the tutorials ran (disable_eager_execution alone keeps TF2's resource variables).
    v1.disable_v2_behavior()

try:
    v1.nn.rnn_cell.BasicLSTMCell  # noqa: B018  (looked up once: the legacy cells come from tf-keras)
except (AttributeError, ImportError) as e:
    raise LegacyCellsUnavailable(
        f"TensorFlow refuses the TF1 cells ({e}): install tf-keras {tf.__version__.rsplit('.', 1)[0]}.* "
        "(pip install -e .), then restart the Python kernel and import rnnmnist before using tf.keras") from None

if not VERBOSE:  # TensorFlow's log level was set above, before it logged
    # The compat API warns on every deprecated call ("BasicLSTMCell is deprecated", ...).
    warnings.filterwarnings("ignore", message=r".*deprecated", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

__all__ = ["tf", "v1", "VERBOSE"]
