"""Keras runs everywhere a run goes (issue 23, item 5): --impl keras and --backend jax on the command line,
train(impl="keras") from Python, --seeds with --jobs; each run records what trained it.

Keras 3 cannot run in a process with TF1 semantics, and this test process may have them (other tests):
every Keras run here trains in a process of its own, as a user's would.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from rnnmnist import api, idx, pooling, registry, report, results
from rnnmnist.plan import resolve
from rnnmnist.request import RequestError, RunRequest
from rnnmnist.run import Run

REPO = Path(__file__).resolve().parent.parent
MORVAN = sorted((REPO / "results" / "morvan").glob("20261129T121247Z_seed*.json"))  # seeds 1-5, TF 0.12, complete
TIMEOUT_S = 400


def reproduce(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnmnist.reproduce", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT_S)


def shape(line: str) -> str:
    """A printed line with its numbers blanked: the format, not the values."""
    return re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "N", line)


def as_keras(record: dict, backend: str = "tensorflow") -> dict:
    """A committed TF1 record, as if a Keras run had made it (pooling reads the request)."""
    request = replace(Run.from_record(record).request, impl="keras", backend=backend)
    return dict(record, request=request.to_dict())


# ---- refused in one line, before any work ----------------------------------------------------------------

def test_bad_combinations_are_refused_in_one_line_before_any_work(tmp_path, monkeypatch, reproduce_here):
    with pytest.raises(RequestError, match="impl must be one of tf1, keras, got 'pytorch'"):
        RunRequest.build("morvan", impl="pytorch", out=None)
    with pytest.raises(RequestError, match=r"backend 'jax' is a Keras 3 backend: give it with impl='keras'"):
        RunRequest.build("morvan", backend="jax", out=None)
    with pytest.raises(RequestError, match="backend must be one of tensorflow, jax, got 'torch'"):
        RunRequest.build("morvan", impl="keras", backend="torch", out=None)
    with pytest.raises(RequestError, match="tensorboard is written by TF1 runs only"):
        RunRequest.build("morvan", impl="keras", tensorboard=tmp_path / "tb", out=None)
    with pytest.raises(RequestError, match=r"morvan's Keras 3 version starts from the initializer of the TF release "
                                           r"it ran on \(0.12\): leave out the era"):
        resolve(RunRequest.build("morvan", impl="keras", era="1.2", out=None))
    no_keras = replace(registry.load("morvan"), keras=None)
    monkeypatch.setattr(registry, "load", lambda name: no_keras)
    with pytest.raises(RequestError, match="morvan has no Keras 3 version: run it with impl='tf1'"):
        resolve(RunRequest.build("morvan", impl="keras", out=None))
    monkeypatch.undo()
    assert RunRequest.build("morvan", impl="keras", out=None).backend == "tensorflow"  # made explicit
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    with pytest.raises(RequestError, match=r'the jax backend needs JAX, which is not installed: pip install -e "\.\[jax\]"'):
        RunRequest.build("morvan", impl="keras", backend="jax", out=None)
    monkeypatch.undo()
    for args, message in ((["--backend", "jax"], "--backend jax is Keras 3's backend: give it with --impl keras"),
                          (["--impl", "keras", "--tensorboard", str(tmp_path / "tb")], "tensorboard is written by TF1"),
                          (["--impl", "keras", "--tf-semantics", "1.2"], "leave out the era (--tf-semantics)")):
        ran = reproduce_here("--variant", "morvan", "--out", str(tmp_path / "runs"), *args, cwd=tmp_path)
        assert ran.returncode == 2 and ran.stdout == "" and message in ran.stderr, ran
        assert len([line for line in ran.stderr.splitlines() if "error" in line]) == 1, ran.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "tb").exists()


# ---- the record: names, commands, pooling, the report ------------------------------------------------

def test_keras_runs_never_pool_with_tf1_runs_nor_one_backend_with_another(tmp_path):
    tf1 = [results.load(path) for path in MORVAN]
    keras = [as_keras(record) for record in tf1]
    jax = [as_keras(record, "jax") for record in tf1]
    assert {pooling.recipe_of(r).implementation for r in tf1 + keras + jax} == {"tf1", "keras", "keras-jax"}
    pooled, _ = pooling.pools(tf1 + keras + jax, lambda r: r)
    assert len(pooled) == 3 and all(len(pool.seeds) == 5 for pool in pooled)  # never one ensemble
    with pytest.raises(ValueError, match=r"not seeds of one recipe \(implementation: tf1 \(5 runs\), keras \(5 runs\)\)"):
        api.ensemble([Run.from_record(r) for r in tf1 + keras])
    for record in keras + jax:  # saved beside the TF1 runs, under names of their own
        Run.from_record(record).save(tmp_path)
    for path in MORVAN:
        (tmp_path / "morvan" / path.name).write_bytes(path.read_bytes())
    names = sorted(p.name for p in (tmp_path / "morvan").glob("*.json"))
    assert sum("_keras-jax" in n for n in names) == 5 and sum(n.endswith("_keras.json") for n in names) == 5
    groups, _ = report.collect(tmp_path)
    assert [report.group_title(*key) for key in groups] == [
        "morvan, TF 0.12 (its own)", "morvan, Keras 3 (tensorflow), TF 0.12 (its own)",
        "morvan, Keras 3 (jax), TF 0.12 (its own)"]
    assert [report.plot_name(*key) for key in groups] == ["morvan_tf0.12.png", "morvan_keras_tf0.12.png",
                                                          "morvan_keras-jax_tf0.12.png"]
    assert list(api.load_ensembles(tmp_path)) == [report.group_title(*key) for key in groups]


def test_the_redo_command_and_the_run_name_say_the_implementation():
    plan = resolve(RunRequest.build("morvan", 3, steps=5, impl="keras", backend="jax", out=None))
    assert results.redo_command(plan.request).endswith("--seed 3 --steps 5 --impl keras --backend jax")
    assert plan.run_name().endswith("_seed3_keras-jax_truncated")
    keras = resolve(RunRequest.build("morvan", 3, impl="keras", out=None))
    assert results.redo_command(keras.request).endswith("--seed 3 --impl keras") and keras.run_name().endswith("_keras")
    assert "--impl" not in results.redo_command(RunRequest.build("morvan", 3, out=None))
    from rnnmnist import task
    from rnnmnist.messages import Job
    assert "keras" in task.CHECKED and task.checked([Job(keras.request)]) == task.CHECKED  # a worker's Keras, always
    assert task.checked([Job(keras.request), Job(plan.request)]) == task.CHECKED + task.JAX  # and its JAX for jax runs


# ---- real Keras runs, each in a process of its own ----------------------------------------------------

def test_the_command_line_trains_a_keras_run_and_python_gets_the_same_curve_from_a_tf1_process(tmp_path, mnist_dir):
    """--impl keras from the command line (no TF1 semantics in its process); then train(impl="keras") here, where
    TF1 semantics are on: it goes to a process of its own and comes back with the same curve (same seed)."""
    ran = reproduce("--variant", "morvan", "--impl", "keras", "--steps", "21", "--seed", "3", "--data-dir",
                    str(mnist_dir), "--out", str(tmp_path / "runs"), "--checkpoint", str(tmp_path / "ck"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    header, *lines = ran.stdout.splitlines()
    assert header.startswith("# morvan (") and "Keras 3." in header and "(tensorflow backend)" in header
    printed = [line for line in lines if re.fullmatch(r"0\.\d+", line)]
    assert len(printed) == 2  # steps 0 and 20, as the TF1 run prints them (numpy 1.13's str of a float32)
    (path,) = (tmp_path / "runs" / "morvan").glob("*.json")
    assert path.name.endswith("_seed3_keras_truncated.json")
    record = results.load(path)
    implementation = record["provenance"]["implementation"]
    assert implementation["impl"] == "keras" and implementation["backend"] == "tensorflow"
    assert implementation["keras"].startswith("3.") and implementation["tensorflow"]
    assert record["command"].endswith("--seed 3 --steps 21 --impl keras")
    run = Run.from_record(json.loads(json.dumps(record)), path)
    assert run.to_record() == {k: v for k, v in record.items() if k != "checksum"}  # the round trip
    (weights,) = (tmp_path / "ck" / "morvan").glob("*_seed3_keras_truncated/model.weights.h5")
    assert record["checkpoint"] == str(weights.parent / "model") and record["checkpoint_sha256"]
    with pytest.raises(ValueError, match=r"model.weights.h5 is a Keras run's: load it into the tutorial's Keras 3"):
        api.restore(run)

    from rnnmnist import tfcompat  # noqa: F401  (this process: TF1 semantics on, as after a TF1 run)
    seen: list[str] = []
    again = api.train("morvan", seed=3, steps=21, impl="keras", data_dir=mnist_dir, out=None, echo=seen.append)
    assert again.points == run.points  # the same seed, the same curve, in a fresh process each
    assert seen[:7] == lines[:7]  # MNIST's Extracting lines, the two accuracies, the truncation line
    assert again.provenance["implementation"] == implementation and again.invoked_as


CHILD = textwrap.dedent("""
    # A Keras run of a cut schedule on the tiny data set, in a fresh process; prints its lines and curves as JSON.
    import json, sys
    from dataclasses import replace
    from rnnmnist import api, idx, registry
    from rnnmnist.plan import Plan
    from rnnmnist.request import RunRequest
    spec = json.loads(sys.argv[1])
    idx.FILES = tuple(replace(f, count=spec["files"][f.name][0], md5=spec["files"][f.name][1]) for f in idx.FILES)
    out = {}
    for name, seed in spec["runs"]:
        variant = registry.load(name)
        cut = {k: range(v["start"], v["stop"]) if k == "steps" else v for k, v in spec["cuts"][name].items()}
        variant = replace(variant, schedule=replace(variant.schedule, **cut))
        request = RunRequest(name, seed, data_dir=spec["data_dir"], out=None, impl="keras", backend="tensorflow")
        lines = []
        run = api.execute(Plan.of(variant, request), echo=lines.append, progress=None)
        out.setdefault(name, []).append({"lines": lines, "curve": [p.__dict__ for p in run.points]})
    print(json.dumps(out))
""")


def test_keras_runs_print_the_tf1_runs_lines_at_the_same_moments_and_repeat_with_their_seed(tiny_mnist):
    """An epoch loop (static-projection: mean loss, train and test accuracy each epoch) and a whole step loop
    (static-split: accuracy and loss, then 'Optimization Finished!' and the final accuracy), cut to fit the tiny
    data; the same lines as the TF1 runner's, number for number in format; a seed run twice gives the same curve."""
    cuts = {"static-projection": {"steps": {"start": 0, "stop": 6}, "steps_per_epoch": 3},  # 2 epochs of 3 steps
            "static-split": {"steps": {"start": 1, "stop": 4}, "every": 1}}  # whole: the closing lines too
    spec = {"files": {f.name: [f.count, f.md5] for f in idx.FILES}, "data_dir": str(tiny_mnist), "cuts": cuts,
            "runs": [["static-projection", 1], ["static-split", 2], ["static-split", 2]]}
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                           timeout=TIMEOUT_S, cwd=REPO)
    assert child.returncode == 0, child.stderr[-3000:]
    keras = json.loads(child.stdout.splitlines()[-1])
    from conftest import train
    for name, seed in (("static-projection", 1), ("static-split", 2)):
        variant = registry.load(name)
        variant = replace(variant, schedule=replace(variant.schedule, **{
            k: range(v["start"], v["stop"]) if k == "steps" else v for k, v in cuts[name].items()}))
        lines: list[str] = []
        tf1 = train(variant, tiny_mnist, seed, echo=lines.append)
        ours = keras[name][0]
        assert [shape(line) for line in ours["lines"]] == [shape(line) for line in lines], name
        assert [(p["metric"], p["at"]) for p in ours["curve"]] == [(p.metric, p.at) for p in tf1.points], name
    assert keras["static-split"][0]["curve"] == keras["static-split"][1]["curve"]  # seeded: the same curve again


def test_keras_seeds_on_two_jobs_on_the_jax_backend(tmp_path, mnist_dir):
    """--seeds with --jobs: each run in a worker process of its own, its backend set there before Keras's import;
    the workers must have this machine's Keras and JAX."""
    pytest.importorskip("jax")
    ran = reproduce("--variant", "morvan", "--impl", "keras", "--backend", "jax", "--seeds", "2", "--jobs", "2",
                    "--steps", "2", "--data-dir", str(mnist_dir), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert any(line.startswith("[morvan seed 1] # morvan (") and "(jax backend)" in line
               for line in ran.stdout.splitlines()), ran.stdout
    paths = sorted((tmp_path / "runs" / "morvan").glob("*.json"))
    assert len(paths) == 2 and all(p.name.endswith("_keras-jax_truncated.json") for p in paths)
    records = [results.load(p) for p in paths]
    assert sorted(r["seed"] for r in records) == [1, 2]
    for record in records:
        implementation = record["provenance"]["implementation"]
        assert implementation["backend"] == "jax" and implementation["jax"] and implementation["keras"].startswith("3.")
        assert record["command"].endswith("--impl keras --backend jax") and record["curve"][0]["at"] == 0
    assert "morvan: 2 seeds against" in ran.stdout  # pooled: one recipe, the Keras version's on JAX
    # seeding Keras on JAX imports TensorFlow too: its start-up lines stay hidden, as on the TF backend
    assert "cuda" not in ran.stdout + ran.stderr and "absl" not in ran.stdout + ran.stderr


# ---- a Ctrl-C reaches a Keras run in a process of its own --------------------------------------------------

def no_worker_left(cwd: Path) -> bool:
    import psutil
    return not [p for p in psutil.process_iter(["cmdline", "cwd"])
                if "rnnmnist.worker" in (p.info["cmdline"] or []) and p.info["cwd"] == str(cwd)]


def test_jupyters_interrupt_in_echo_stops_a_keras_run_in_its_own_process_and_it_comes_back(tmp_path, mnist_dir,
                                                                                          monkeypatch):
    """After a TF1 run a notebook's Keras run trains in a process of its own; "Interrupt kernel" raises
    KeyboardInterrupt wherever the kernel is, here in `echo`: was a lost run (the process killed, nothing back)."""
    from rnnmnist import kerasrunner
    monkeypatch.setattr(kerasrunner, "runs_here", lambda backend: False)  # as after a TF1 run in this process
    monkeypatch.chdir(tmp_path)
    def echo(line):
        if re.fullmatch(r"0\.\d+", line):
            echo.accuracies += 1
            if echo.accuracies == 2:
                raise KeyboardInterrupt
    echo.accuracies = 0
    stopped = api.train("morvan", seed=3, steps=300, impl="keras", data_dir=mnist_dir, out=tmp_path / "runs",
                        echo=echo)
    assert stopped.interrupted == "KeyboardInterrupt" and stopped.path.name.endswith("_seed3_keras_truncated_interrupted.json")
    # it stops after the step its process is at when the request arrives: step 20 printed, not yet step 300
    assert 21 <= stopped.record["steps_run"] < 300 and [p.at for p in stopped.points][:2] == [0, 20]
    assert results.load(stopped.path)["interrupted_by"] == "KeyboardInterrupt"
    assert no_worker_left(tmp_path)


SIGINT_CHILD = textwrap.dedent("""
    import json, sys
    from rnnmnist import api, tfcompat  # TF1 semantics on: the Keras run goes to a process of its own
    run = api.train("morvan", seed=3, steps=300, impl="keras", data_dir=sys.argv[1], out="runs",
                    echo=lambda line: print(line, flush=True))
    print(json.dumps({"interrupted": run.interrupted, "steps_run": run.record["steps_run"], "path": str(run.path)}))
""")


def test_ctrl_c_to_python_stops_a_keras_run_in_its_own_process_and_it_comes_back(tmp_path, mnist_dir):
    """A real SIGINT to the Python that called train() (a terminal's Ctrl-C), while it waits for the run's
    lines: the run's process (a session of its own) is told, stops after its step and sends its run back."""
    import signal
    import time
    proc = subprocess.Popen([sys.executable, "-c", SIGINT_CHILD, str(mnist_dir)], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # as a terminal starts it: a test run in the background (CI's `&`) ignores SIGINT
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline, accuracies = time.monotonic() + TIMEOUT_S, 0
    while accuracies < 2:
        line = proc.stdout.readline()
        assert line and time.monotonic() < deadline, proc.stderr.read()
        accuracies += bool(re.fullmatch(r"0\.\d+", line.strip()))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0 and "Traceback" not in err, err
    came_back = json.loads(out.splitlines()[-1])
    assert came_back["interrupted"] == "KeyboardInterrupt" and 21 <= came_back["steps_run"] < 300
    assert came_back["path"].endswith("_seed3_keras_truncated_interrupted.json")
    assert results.load(tmp_path / came_back["path"])["interrupted_by"] == "KeyboardInterrupt"
    assert no_worker_left(tmp_path)
