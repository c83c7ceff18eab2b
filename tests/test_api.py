"""rnnmnist from Python: train() returns a Run; runs load back; a model is kept; a kernel survives an interrupt."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import rnnmnist
from rnnmnist import compare


def test_import_rnnmnist_imports_no_tensorflow_nor_does_reading_saved_runs():
    """Only training imports TensorFlow (README): loading, pooling and comparing saved runs read the variants'
    documented numbers, and a variant module imports TensorFlow only when its graph is built."""
    results = Path(__file__).resolve().parent.parent / "results"
    code = ("import sys, rnnmnist; rnnmnist.variants(); print('tensorflow' in sys.modules); "
            f"runs = rnnmnist.load_runs({str(results)!r}, variant='morvan'); "
            f"groups = rnnmnist.load_ensembles({str(results)!r}); rnnmnist.ensemble(next(iter(groups.values()))); "
            "print(len(runs) > 5, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["False", "True", "False"], out.stderr


def test_train_returns_the_run_saves_it_and_loads_it_back(tmp_path, tiny_mnist):
    mnist_dir = tiny_mnist
    lines = []
    run = rnnmnist.train("morvan", steps=41, data_dir=mnist_dir, out=tmp_path, echo=lines.append)
    assert lines[-1].startswith("saved ") and sum(line[:2] == "0." for line in lines) == 3
    steps, values = run.metric("batch_accuracy")
    assert steps == [0, 20, 40] and all(0 <= v <= 1 for v in values)
    assert run.verdict in (compare.REPRODUCED, compare.NOT_REPRODUCED) and run.comparison.compared == 3
    assert run.path.parent == tmp_path / "morvan" and run.record["truncated"]
    assert [c["reference"] for c in run.record["comparison"]["also"]] == [c.reference for c in run.comparisons[1:]]
    assert "verdict:" in run._repr_markdown_() and "| batch accuracy | step 40" in run._repr_markdown_()
    (again,) = rnnmnist.load_runs(tmp_path, variant="morvan")
    assert again.points == run.points and again.verdict == run.verdict and again.path == run.path
    with pytest.raises(KeyError, match="this run measured batch_accuracy"):
        run.metric("test_accuracy")
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    (ax,) = run.plot().axes
    assert ax.get_legend_handles_labels()[1] == ["95% band of the verdict (1 seed)", "seed 1", "documented",
                                                   "final-state's first 40"]


def test_an_interrupt_saves_the_run_as_interrupted_and_the_next_train_works(tmp_path, tiny_mnist):
    """Jupyter's "Interrupt kernel" raises KeyboardInterrupt wherever the kernel is."""
    mnist_dir = tiny_mnist
    def echo(line):
        if line[:2] in ("0.", "1."):
            echo.accuracies += 1
            if echo.accuracies == 2:
                raise KeyboardInterrupt
    echo.accuracies = 0
    stopped = rnnmnist.train("morvan", steps=100, data_dir=mnist_dir, out=tmp_path, echo=echo)
    assert stopped.interrupted == "KeyboardInterrupt" and stopped.path.name.endswith("_interrupted.json")
    assert stopped.record["steps_run"] == 21
    after = rnnmnist.train("morvan", steps=21, data_dir=mnist_dir, out=None, quiet=True)
    assert after.interrupted is None and after.record["steps_run"] == 21 and after.path is None
    assert after.points == [p for p in stopped.points if p.at <= 20]  # the same seed, the same numbers


def test_a_checkpointed_model_restores_to_the_accuracy_it_was_saved_with(tmp_path, tiny_mnist):
    mnist_dir = tiny_mnist
    from rnnmnist.dataset import read_data_sets
    run = rnnmnist.train("static-split", steps=30, data_dir=mnist_dir, out=tmp_path, checkpoint=tmp_path / "model",
                         quiet=True)
    final = [p.value for p in run.points if p.metric == "final_test_accuracy"]
    test = read_data_sets(mnist_dir, one_hot=True).test
    model = rnnmnist.restore(run)
    try:
        assert model.evaluate(test.images[:128], test.labels[:128]) == final[0]
        predicted = model.predict(test.images[:128])
        assert predicted.shape == (128,) and (predicted == test.labels[:128].argmax(1)).mean() == pytest.approx(final[0])
    finally:
        model.close()
    fixed_batch = rnnmnist.train("morvan", steps=5, data_dir=mnist_dir, out=None, checkpoint=tmp_path / "m2",
                                 quiet=True)
    model = rnnmnist.restore(fixed_batch)  # zero_state(128): predictions go in batches of 128
    try:
        assert model.predict(test.images[:200]).shape == (200,)
    finally:
        model.close()


def test_a_learner_who_imported_tensorflow_first_can_still_train(mnist_dir, tmp_path):
    code = ("import tensorflow as tf\nimport rnnmnist\n"
            f"run = rnnmnist.train('morvan', steps=1, data_dir={str(mnist_dir)!r}, out=None, quiet=True)\n"
            "print(run.record['steps_run'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == "1", out.stderr[-2000:]


def test_bad_requests_are_one_line_value_errors():
    with pytest.raises(ValueError, match="unknown variant 'nope'; known variants: final-state"):
        rnnmnist.train("nope")
    with pytest.raises(ValueError, match="morvan counts steps, not epochs: use --steps"):
        rnnmnist.train("morvan", epochs=1)
    with pytest.raises(ValueError, match="softmax-bug has no fix 'soft'; its fixes: softmax"):
        rnnmnist.train("softmax-bug", fixes=["soft"])


def test_a_request_travels_whole_as_json():
    request = rnnmnist.RunRequest.build("softmax-bug", 3, epochs=2, fixes=("softmax",), out="somewhere")
    assert rnnmnist.RunRequest.from_json(request.to_json()) == request


def test_the_arithmetic_tests_run_without_tensorflow():
    tests = os.path.dirname(__file__)
    code = ("import sys, pytest\n"
            f"code = pytest.main(['-q', '-p', 'no:cacheprovider', {tests!r} + '/test_compare.py', "
            f"{tests!r} + '/test_printing.py'])\n"
            "print('tensorflow' in sys.modules, int(code))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "False 0", out.stdout[-2000:]
