"""The one place TensorFlow is imported: TF1 behaviour, legacy Keras, and no start-up noise.

Import this module before anything else imports TensorFlow. Variants then write
`tf = tfcompat.v1` and read like the TF1 code they reproduce.

Set RNNMNIST_VERBOSE=1 (the CLIs' --verbose) before importing to see TensorFlow's own
log lines and deprecation warnings.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings

VERBOSE = os.environ.get("RNNMNIST_VERBOSE") == "1"

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise ImportError(
        "TensorFlow was imported before rnnmnist.tfcompat, without TF_USE_LEGACY_KERAS=1: "
        "import rnnmnist.tfcompat first (BasicLSTMCell needs legacy tf-keras)")

# Keras 3 refuses tf.compat.v1.nn.rnn_cell.BasicLSTMCell; tf-keras provides it, but
# TensorFlow reads this switch only once, when it is first imported.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
if not VERBOSE:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _quiet_fd2(quiet: bool):
    """Hide what TensorFlow's C++ side writes to fd 2 while it loads; replay it on failure."""
    if not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


with _quiet_fd2(not VERBOSE):
    import tensorflow as tf  # noqa: E402
    v1 = tf.compat.v1
    # TF1 semantics, not just graph mode: ref variables and v1 control flow in dynamic_rnn's
    # while_loop, as the tutorials ran (disable_eager_execution alone keeps TF2's resource variables).
    v1.disable_v2_behavior()

if not VERBOSE:
    v1.logging.set_verbosity(v1.logging.ERROR)
    # The compat API warns on every deprecated call ("BasicLSTMCell is deprecated", ...).
    warnings.filterwarnings("ignore", message=r".*deprecated", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

__all__ = ["tf", "v1", "VERBOSE"]
