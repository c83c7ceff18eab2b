"""Each lesson's outcome, as TensorFlow produces it now."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from rnnmnist.equivalence import TOLERANCES
from rnnmnist.pitfalls import LESSONS, Board, load
from rnnmnist.pitfalls.migration import SCALE_TOLERANCE
from rnnmnist import registry
from rnnmnist.pitfalls.api_drift import tf1_originals

REUSE_ERROR = ("Variable rnn/basic_lstm_cell/kernel already exists, disallowed. "
               "Did you mean to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?")


def lesson(name, **kwargs):
    lines = []
    facts = load(name).run(Board(echo=lines.append), **kwargs)
    return facts, "\n".join(lines)


def test_variable_reuse_shows_the_tutorials_error_then_three_fixes():
    facts, text = lesson("variable-reuse")
    kind, message = facts["error"]
    assert kind == "ValueError" and message.startswith(REUSE_ERROR)
    assert REUSE_ERROR.split(" Did")[0] in text
    error, names = facts["reset_default_graph"]
    assert error is None and len(names) == 4
    assert facts["fresh_graph"] == (None, [4, 4])
    error, first, after = facts["auto_reuse"]
    assert error is None
    # the LSTM weights are shared (listed once), the tf.Variable readout is duplicated
    assert [n for n in after if "basic_lstm_cell" in n] == ["model/rnn/basic_lstm_cell/kernel:0",
                                                            "model/rnn/basic_lstm_cell/bias:0"]
    assert [n for n in after if n not in first] == ["model/Variable_2:0", "model/Variable_3:0"]
    assert "SHARES" in text


def test_fixed_batch_state_fails_on_the_test_set_and_all_fixes_agree(mnist_dir):
    facts, text = lesson("fixed-batch-state", data_dir=mnist_dir)
    kind, message = facts["error"]
    assert kind == "InvalidArgumentError"
    assert "[10000,128] vs. shape[1] = [128,128]" in message
    accuracy_1, error_1 = facts["batch-state"]
    accuracy_2, error_2 = facts["no-initial-state"]
    assert error_1 is None and error_2 is None
    assert accuracy_1 == accuracy_2 == facts["batched"]  # same weights, three ways to feed them
    assert facts["batched"] > 0.3


def test_double_softmax_has_smaller_gradients_and_learns_slower(mnist_dir):
    facts, text = lesson("double-softmax", data_dir=mnist_dir)
    buggy, fixed = facts["buggy"], facts["fixed"]
    assert buggy["first_grad_norm"] < fixed["first_grad_norm"] / 3
    assert buggy["mean_grad_norm"] < fixed["mean_grad_norm"] / 2
    assert buggy["test_loss"] >= facts["loss_floor"] > 1.46
    assert 0.2 < buggy["test_accuracy"] < fixed["test_accuracy"]  # it learns, more slowly


def part(name, *args):
    """One part of the api-drift lesson: its facts and what it printed."""
    from rnnmnist.pitfalls import api_drift
    lines = []
    facts = getattr(api_drift, name)(Board(echo=lines.append), *args)
    return facts, "\n".join(lines)


def test_api_drift_errors_are_todays():
    facts, _ = part("removed_and_changed")
    assert facts["examples"] == ("ModuleNotFoundError", "No module named 'tensorflow.examples'")
    assert facts["contrib"][0] == "AttributeError" and "contrib" in facts["contrib"][1]
    assert facts["unpack"][0] == "AttributeError" and "unpack" in facts["unpack"][1]
    assert facts["arg_max_runs"] and facts["initialize_all_variables_runs"]
    assert facts["keras3"] == ("AttributeError", "`BasicLSTMCell` is not available with Keras 3.")
    # TF 1.x refused the positional loss call; compat.v1 now takes it, swapped, and training fails
    assert facts["positional_call"] is None
    assert facts["positional_gradients"] == [None]
    assert facts["positional_minimize"][0] == "ValueError"
    assert facts["positional_minimize"][1].startswith("No gradients provided for any variable")


def test_api_drift_converter_findings():
    converter, _ = part("converted")  # from the variant modules' `# TF1:` lines: no tutorial pages needed
    assert converter["issues_reported"] == 0  # although it leaves code broken, and fails on one file
    assert converter["static_split"]["parse_failed"]
    assert "tf.unpack" in converter["morvan"]["still_broken"]
    for stem in ("morvan", "final_state", "softmax_bug", "static_projection"):
        assert "from tensorflow.examples.tutorials.mnist import ..." in converter[stem]["still_broken"]
    assert ("tf.contrib.rnn.BasicLSTMCell", "tf.compat.v1.nn.rnn_cell.BasicLSTMCell") in converter["final_state"]["renamed"]
    loss = converter["morvan_loss"]
    assert loss["swapped"] and "labels=tf.stop_gradient(pred), logits=y" in loss["converted"]
    assert loss["minimize"][1].startswith("No gradients provided for any variable")


def test_api_drift_shows_two_releases_defaults_in_numbers(mnist_dir):
    facts, text = part("release_defaults", mnist_dir)
    losses = facts["losses"]
    assert len(losses["1.0"]) == len(losses["1.2"]) == 10 and losses["1.0"] != losses["1.2"]
    assert "TF 1.0 (the tutorial's own" in text and "mnist.py@1.0.1" in text


def test_tf1_originals_are_the_lines_a_variant_records_beside_their_replacements():
    module = ('"""Lines changed carry the original beside them as `# TF1:`."""\n'
              "tf = tfcompat.v1  # TF1: import tensorflow as tf\n"
              "outputs = tf.unstack(x)  # TF1: tf.unpack(x)\n"
              "cost = f(logits=pred, labels=y)\n"
              "    # TF1: cost = f(pred, y)\n"
              "# TF1 (Python 2): print \"Iter \" + str(step)\n"
              "# a comment that mentions TF1 only in passing\n")
    assert tf1_originals(module) == 'import tensorflow as tf\ntf.unpack(x)\ncost = f(pred, y)\nprint "Iter " + str(step)\n'
    for name in registry.names():  # every variant records its imports as the tutorial had them
        assert "import tensorflow as tf\nfrom tensorflow.examples.tutorials.mnist import input_data\n" in \
            tf1_originals(registry.source(name))


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "rnnmnist.pitfalls", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_lists_lessons_and_refuses_unknown_ones():
    listing = cli()
    assert listing.returncode == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()[:len(LESSONS)]] == list(LESSONS)
    unknown = cli("nope")
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
    assert "unknown lesson 'nope'; lessons: variable-reuse" in unknown.stderr


def test_cli_runs_a_lesson_quietly():
    out = cli("variable-reuse")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("== variable-reuse:")
    assert "WARNING" not in out.stderr and "Traceback" not in out.stderr


def test_the_migration_lessons_five_pitfalls_are_real_and_fixed(mnist_dir):
    """The migration lesson, run once, from a process where TF1 semantics are on, as `--all` runs it after the
    other lessons. One test, not one per pitfall: under xdist a module-scoped fixture runs again in each test
    process that takes one of its tests, and this lesson is a minute of training processes."""
    import rnnmnist.tfcompat  # noqa: F401
    facts, text = lesson("migration", data_dir=mnist_dir)
    _gates_and_forget_bias(facts, text)
    _initialisers(facts)
    _adam_epsilon(facts)
    _from_logits_on_softmax(facts)


def _gates_and_forget_bias(facts, text):
    for pitfall in ("gates", "forget_bias"):
        f = facts[pitfall]
        assert f["wrong"] > 100 * TOLERANCES["output"] >= 100 * f["fixed"], pitfall  # logits of order 10
        wrong, fixed = f["accuracy"]
        assert wrong < fixed - 0.1 and fixed > 0.4, pitfall  # trained TF1 weights, loaded wrongly: worse
    assert facts["gates"]["accuracy"][0] < 0.2  # the forget gate read as the cell input: chance
    assert "1. The gates left in TF1's order" in text and "Fix 5:" in text


def _initialisers(facts):
    """Keras's defaults against the joint kernel."""
    f = facts["initialisers"]
    assert f["std_off"]["default"] > 3 * SCALE_TOLERANCE  # orthogonal's 1/sqrt(4 units) against the joint uniform
    assert f["std_off"]["fixed"] < SCALE_TOLERANCE
    # one unseeded Keras 3 initialiser instance repeats itself; kerasport's SeedGenerator does not
    assert f["identical"]["unseeded_instance"] == 1.0 and f["identical"]["port"] < 0.01


def _adam_epsilon(facts):
    """Keras's epsilon moves the weights beyond the tolerance; TF1's keeps them within it."""
    f = facts["epsilon"]
    assert f["wrong"] > TOLERANCES["weights"] >= f["fixed"]
    assert f["loss"][1] <= TOLERANCES["loss"]


def _from_logits_on_softmax(facts):
    """On the TensorFlow backend it silently fixes the tutorial's bug; on JAX it keeps it."""
    f = facts["double_softmax"]
    assert f["wrong"] > 10 * TOLERANCES["loss"] and f["weights"][0] > TOLERANCES["weights"]
    assert f["fixed"] <= TOLERANCES["loss"] and f["weights"][1] <= TOLERANCES["weights"]
    assert any("from_logits=True" in w for w in f["warnings"])  # Keras's only sign of it
    if importlib.util.find_spec("jax"):
        assert f["jax"] <= TOLERANCES["loss"]  # the same code keeps the bug on JAX


def test_the_lesson_list_read_by_head_ends_quietly(tmp_path):
    """`python -m rnnmnist.pitfalls | head -2`: the reader goes away; exit 141, no BrokenPipeError traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnmnist.pitfalls"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.close()  # gone before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err, err
