"""What users do to a long run, done for real: interruptions, faults, bad files, concurrent runs."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace

import pytest

from conftest import train
from rnnmnist import idx, registry, results, settings
from rnnmnist.loop import NonFiniteLoss
from rnnmnist.idx import DataError
from rnnmnist.tfcompat import v1

MORVAN = registry.load("morvan")


def start(*args, cwd, env=None):
    return subprocess.Popen([sys.executable, "-m", "rnnmnist.reproduce", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_until_training(proc: subprocess.Popen, runs: int = 1, accuracies: int = 3) -> str:
    """Read stdout until each of `runs` runs has printed `accuracies` accuracies (--jobs: "[run] " lines); what it read."""
    printed: Counter[str] = Counter()
    seen = []
    for line in proc.stdout:
        seen.append(line)
        run, _, text = line.partition("] ") if line.startswith("[") else ("", "", line)
        if text[:2] in ("0.", "1."):
            printed[run] += 1
        if len(printed) == runs and min(printed.values()) >= accuracies:
            break
    return "".join(seen)


@pytest.mark.parametrize("sig, code, name", [(signal.SIGINT, 130, "KeyboardInterrupt"),
                                             (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_mid_run_stops_cleanly_and_keeps_an_interrupted_run(tmp_path, mnist_dir, sig, code, name):
    proc = start("--variant", "morvan", "--data-dir", str(mnist_dir), "--out", "res", cwd=tmp_path)
    wait_until_training(proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert f"INTERRUPTED ({name}) after" in out and "Traceback" not in err
    (saved,) = (tmp_path / "res" / "morvan").glob("*.json")
    assert saved.name.endswith("_seed1_interrupted.json")
    record = results.load(saved)  # complete JSON, valid checksum
    assert record["status"] == results.INTERRUPTED and record["interrupted_by"] == name
    assert 40 <= record["steps_run"] < 782 and record["steps_total"] == 782
    assert not list((tmp_path / "res").rglob("*.tmp"))


def printed_accuracies(out: str, label: str = "") -> list[float]:
    """The batch accuracies a morvan run printed (--jobs: its "[label] " lines)."""
    lines = [line[len(label):] for line in out.splitlines() if line.startswith(label)]
    return [float(line) for line in lines if line[:2] in ("0.", "1.")]


def keeps_what_it_printed(record: dict, printed: list[float]) -> bool:
    """Every printed checkpoint is in the saved curve, in order (printed as float32's shortest text)."""
    saved = [p.value for p in results.curve_of(record) if p.metric == "batch_accuracy"]
    return len(printed) > 0 and saved[:len(printed)] == pytest.approx(printed, abs=1e-6)


def test_two_signals_close_together_stop_at_once_and_keep_the_run(tmp_path, mnist_dir):
    # `timeout -s INT` signals its child, then its group, 20 ms apart: a second Ctrl-C once killed the
    # process by the signal, and the run in progress with it
    proc = start("--variant", "morvan", "--data-dir", str(mnist_dir), "--out", "res", cwd=tmp_path)
    out = wait_until_training(proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # the reason is still the first
    rest, err = proc.communicate(timeout=120)
    out += rest
    assert proc.returncode == 130 and "Traceback" not in err, err
    (saved,) = (tmp_path / "res" / "morvan").glob("*_interrupted.json")
    record = results.load(saved)
    assert record["interrupted_by"] == "KeyboardInterrupt" and record["steps_run"] >= 41
    assert keeps_what_it_printed(record, printed_accuracies(out))


def tensorflow_loading(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as maps:
        return "libtensorflow_framework" in maps.read()


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="finds the TensorFlow import in /proc")
@pytest.mark.parametrize("sig, code, name", [(signal.SIGINT, 130, "KeyboardInterrupt"),
                                             (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_during_the_tensorflow_import_is_one_line(tmp_path, mnist_dir, sig, code, name):
    # was some 60 lines of KeyboardInterrupt traceback (SIGTERM: no line at all)
    proc = start("--variant", "morvan", "--steps", "3", "--data-dir", str(mnist_dir), "--out", "res", cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not tensorflow_loading(proc.pid):  # its shared library is mapped: the import is under way
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert err == f"rnnmnist: stopped by {name} before any run started; nothing was saved\n" and out == ""
    assert not (tmp_path / "res").exists()


def numpy_loading(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as maps:
        return "_multiarray_umath" in maps.read()


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="finds rnnmnist's imports in /proc")
@pytest.mark.parametrize("command", [["-m", "rnnmnist.reproduce"],  # and the console script's entry:
                                     ["-c", "import rnnmnist.script; rnnmnist.script.main()"]])
@pytest.mark.parametrize("after", [0, 0.05, 0.1])
def test_ctrl_c_while_python_still_imports_rnnmnist_is_one_line(tmp_path, mnist_dir, command, after):
    """Ctrl-C at once, while the command's modules are imported (NumPy's library is mapped: rnnmnist's
    imports are under way), before the command takes signals over: was a KeyboardInterrupt traceback.
    Earlier than that it is Python's own start-up, which says so itself."""
    proc = subprocess.Popen([sys.executable, *command, "--variant", "morvan", "--steps", "3", "--data-dir",
                             str(mnist_dir), "--out", "res"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            # as a terminal starts it: a test run in the background (CI's `&`) ignores SIGINT
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not numpy_loading(proc.pid):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.002)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, -signal.SIGINT) and out == "", (proc.returncode, err)
    assert err == "rnnmnist: stopped by KeyboardInterrupt before any run started; nothing was saved\n"
    assert not (tmp_path / "res").exists()


def test_a_reader_that_goes_away_mid_run_stops_it_cleanly_and_keeps_an_interrupted_run(tmp_path, mnist_dir):
    # `python -m rnnmnist.reproduce ... | head`: stdout closes while the tutorial still prints
    proc = start("--variant", "morvan", "--data-dir", str(mnist_dir), "--out", "res", cwd=tmp_path)
    wait_until_training(proc)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 128 + signal.SIGPIPE and "Traceback" not in err, err
    assert "stdout was closed" in err
    (saved,) = (tmp_path / "res" / "morvan").glob("*.json")
    record = results.load(saved)
    assert record["status"] == results.INTERRUPTED and record["interrupted_by"] == "BrokenPipe"
    assert 40 <= record["steps_run"] < 782


def test_sigterm_to_jobs_stops_every_worker_and_keeps_their_runs(tmp_path, mnist_dir):
    proc = start("--variant", "morvan", "--seeds", "2", "--jobs", "2", "--data-dir", str(mnist_dir), "--out", "res",
                 cwd=tmp_path)
    wait_until_training(proc, runs=2, accuracies=2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert out.count("INTERRUPTED (SIGTERM) after") == 2 and "Traceback" not in out + err
    saved = sorted((tmp_path / "res" / "morvan").glob("*.json"))
    assert sorted(p.name.split("_", 1)[1] for p in saved) == ["seed1_interrupted.json", "seed2_interrupted.json"]
    assert all(results.load(p)["interrupted_by"] == "SIGTERM" for p in saved)
    # one closing line, and the summary's rows say the runs stopped early (their verdicts are partial)
    assert err.strip().splitlines()[-1] == ("rnnmnist: stopped (SIGTERM): 2 of 2 runs saved as interrupted, each "
                                            "with every checkpoint it printed; 0 finished"), err
    rows = [line for line in out.splitlines() if line.startswith("| morvan")]
    assert len(rows) == 2 and all("(interrupted after " in row for row in rows)


def test_a_reader_that_goes_away_stops_every_worker_of_jobs(tmp_path, mnist_dir):
    # The parent finds its stdout closed; its workers write to the parent, not to the closed pipe.
    proc = start("--variant", "morvan", "--seeds", "2", "--jobs", "2", "--data-dir", str(mnist_dir), "--out", "res",
                 cwd=tmp_path)
    wait_until_training(proc, runs=2, accuracies=2)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 128 + signal.SIGPIPE and "Traceback" not in err, err
    saved = sorted((tmp_path / "res" / "morvan").glob("*.json"))
    assert sorted(p.name.split("_", 1)[1] for p in saved) == ["seed1_interrupted.json", "seed2_interrupted.json"]
    assert all(results.load(p)["steps_run"] < 782 and results.load(p)["interrupted_by"] == "BrokenPipe" for p in saved)


def test_a_signal_inside_the_loop_is_a_stop_request_not_an_exception(mnist_dir, monkeypatch):
    # Raised from a handler, SIGTERM once surfaced inside Session.run, re-wrapped as a TypeError.
    from rnnmnist import stopping
    previous = {s: signal.getsignal(s) for s in stopping.NAMES}
    accuracies = []

    def echo(line):
        if line[:2] in ("0.", "1."):  # not the "Extracting ..." lines
            accuracies.append(line)
            if len(accuracies) == 2:  # printed at step 20: the signal lands while a run is mid-schedule
                os.kill(os.getpid(), signal.SIGTERM)

    with stopping.on_signals(stopping.Stop()) as stop:
        curve = train(MORVAN, mnist_dir, seed=1, schedule=MORVAN.schedule.truncated(100), echo=echo,
                           progress=None, stop=stop)
    assert curve.interrupted == "SIGTERM" and curve.steps_run == 21  # the step in progress finished
    assert {s: signal.getsignal(s) for s in stopping.NAMES} == previous  # the handlers are put back


def test_a_second_signal_stops_at_once_only_where_what_ran_is_kept():
    from rnnmnist import stopping
    stop = stopping.Stop()
    stop.signalled("SIGTERM")  # the first: after the step in progress
    stop.signalled("KeyboardInterrupt")  # a second, outside an interruptible region (saving): a flag
    assert (stop.requested, stop.now) == ("SIGTERM", "SIGTERM")
    with pytest.raises(stopping.StopNow, match="SIGTERM"), stop.interruptible():
        pass  # entering one after it: at once
    stop = stopping.Stop()
    with stop.interruptible():
        stop.signalled("KeyboardInterrupt")
        with stop.interruptible(False):  # inside a part that must finish: still a flag
            stop.signalled("KeyboardInterrupt")
        with pytest.raises(stopping.StopNow, match="KeyboardInterrupt"):
            stop.signalled("SIGTERM")
    assert not isinstance(stopping.StopNow("x"), Exception)  # TensorFlow's `except Exception` passes it on
    starting = stopping.Stop()
    with pytest.raises(stopping.StopNow, match="KeyboardInterrupt"), starting.at_once():
        starting.signalled("KeyboardInterrupt")  # before any run: the first one already


def test_an_interrupt_stops_one_run_and_the_next_run_starts_afresh(tiny_mnist):
    mnist_dir = tiny_mnist
    """As in a Jupyter kernel: "Interrupt kernel" raises KeyboardInterrupt; no handler, no leftover state."""
    def echo(line):
        if line[:2] in ("0.", "1.") and echo.count == 1:  # the second accuracy, at step 20
            raise KeyboardInterrupt
        echo.count += line[:2] in ("0.", "1.")
    echo.count = 0
    first = train(MORVAN, mnist_dir, seed=1, schedule=MORVAN.schedule.truncated(60), echo=echo, progress=None)
    assert first.interrupted == "KeyboardInterrupt" and 0 < first.steps_run < 60
    second = train(MORVAN, mnist_dir, seed=1, schedule=MORVAN.schedule.truncated(30), echo=None, progress=None)
    assert second.interrupted is None and second.steps_run == 30


def test_a_non_finite_loss_stops_the_run_at_once(tiny_mnist):
    mnist_dir = tiny_mnist
    def absurd(fixes):
        g = MORVAN.build(fixes)
        # inf, not merely huge: at 1e30 the loss stayed finite (about 1e31) for all 782 steps with
        # one intra-op thread, while with two it overflowed at once
        return replace(g, train_op=v1.train.GradientDescentOptimizer(float("inf")).minimize(g.loss))

    with pytest.raises(NonFiniteLoss) as e:
        train(replace(MORVAN, build=absurd), mnist_dir, seed=1, echo=None, progress=None)
    assert e.value.step < 5 and "the training loss became" in str(e.value)


def test_no_network_and_no_fallback_is_one_line_with_what_to_do(tmp_path):
    env = {**os.environ, settings.MNIST_URL: "http://127.0.0.1:9/", "PIP_CONFIG_FILE": os.devnull,
           "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "", "PIP_RETRIES": "0",
           "PIP_TIMEOUT": "3"}
    data = tmp_path / "data"
    out = subprocess.run([sys.executable, "-m", "rnnmnist.data", "--data-dir", str(data)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in out.stderr
    assert "MNIST unavailable" in errors[0] and f"copy the four .gz files into {data}" in errors[0]
    assert not [p for p in data.iterdir() if not p.name.startswith(".")]  # nothing half-made


def test_a_stale_partial_download_is_never_used(tmp_path, mnist_dir):
    for spec in idx.FILES:
        shutil.copy(mnist_dir / spec.name, tmp_path / spec.name)
    (tmp_path / idx.TEST_IMAGES.name).unlink()
    (tmp_path / f".{idx.TEST_IMAGES.name}.abc123.part").write_bytes(b"\x1f\x8b half")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: missing"):
        idx.load(idx.TEST_IMAGES, tmp_path)


def test_two_processes_saving_under_one_name_lose_nothing(tmp_path):
    """Two runs of one seed finishing in the same second, in two processes: every save under the same
    name, at once, as often as it takes to collide (no TensorFlow: saving is what is tested)."""
    save = ("import sys; from pathlib import Path; from rnnmnist import results\n"
            "for i in range(25): results.write_json(Path(sys.argv[1]), 'seed1', {'by': sys.argv[2], 'i': i})")
    procs = [subprocess.Popen([sys.executable, "-c", save, str(tmp_path), by]) for by in "ab"]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0]
    saved = [json.loads(p.read_text()) for p in tmp_path.glob("seed1*.json")]
    assert sorted((r["by"], r["i"]) for r in saved) == [(by, i) for by in "ab" for i in range(25)]
    assert not list(tmp_path.glob(".*.tmp"))


def test_many_threads_saving_the_same_record_get_a_file_each(tmp_path):
    record = {"variant": "v", "seed": 1, "truncated": True, "status": results.COMPLETE}
    paths = []
    threads = [threading.Thread(target=lambda i=i: paths.append(results.save(dict(record, i=i), tmp_path)))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 8
    assert sorted(json.loads(p.read_text())["i"] for p in paths) == list(range(8))


def sealed(tmp_path):
    record = {"schema": results.SCHEMA, "variant": "morvan", "seed": 1, "status": results.COMPLETE,
              "truncated": False, "steps_run": 1, "steps_total": 1, "schedule": {}, "curve": [{"value": 0.5}],
              "comparison": {}, "provenance": {}, "command": "x", "wall_time_s": 1.0}
    return results.save(record, tmp_path)


def test_a_results_file_edited_by_hand_is_detected(tmp_path):
    path = sealed(tmp_path)
    assert results.load(path)["curve"] == [{"value": 0.5}]
    path.write_text(path.read_text().replace('"value": 0.5', '"value": 0.9'))
    with pytest.raises(results.ResultsError, match="checksum mismatch"):
        results.load(path)


@pytest.mark.parametrize("text, expect", [
    ('{"schema": 2, "variant": "m"', "not a readable JSON run record"),
    ("[1, 2]", "not a run record"),
    ('{"schema": 1}', "schema 1, expected 2"),
    ('{"schema": 2, "variant": "m"}', "field 'seed' missing"),
])
def test_a_malformed_results_file_is_detected(tmp_path, text, expect):
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(results.ResultsError, match=expect):
        results.load(path)
