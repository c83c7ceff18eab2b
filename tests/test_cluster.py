"""Runs on Dask, for real: a LocalCluster under Ctrl-C, and a `dask scheduler` with two `dask worker`
processes on 127.0.0.1 that the test starts, loses a worker of, and stops. Every wait is bounded."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from rnnmnist import cluster, idx, results, settings, sources, task
from rnnmnist.request import RunRequest

TIMEOUT_S = 240  # any one wait here: a run of 120 steps takes seconds, even on the slow box


def reproduce(*args: str, cwd: Path) -> subprocess.Popen:
    # a session of its own: the test can Ctrl-C it and its LocalCluster as a terminal would, as a group
    return subprocess.Popen([sys.executable, "-m", "rnnmnist.reproduce", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def read_until(proc: subprocess.Popen, done, seen: list[str]) -> None:
    """Read stdout into `seen` until done(seen) (bounded by the caller's timeout on the process)."""
    deadline = time.monotonic() + TIMEOUT_S
    for line in proc.stdout:
        seen.append(line)
        if done(seen):
            return
        assert time.monotonic() < deadline, "".join(seen[-20:])
    pytest.fail("stdout ended early:\n" + "".join(seen[-20:]) + proc.stderr.read())


def training(seen: list[str], labels: tuple[str, ...], accuracies: int = 2) -> bool:
    return all(sum(line.startswith(f"[{label}] 0.") for line in seen) >= accuracies for label in labels)


def test_ctrl_c_as_timeout_sends_it_stops_every_run_on_a_local_cluster_and_keeps_what_each_printed(tmp_path, mnist_dir):
    # `timeout -s INT` signals this process, then its whole group (the Dask workers too) 20 ms later: the
    # second signal stops at once. It once ended the process with nothing saved; now each run keeps
    # every checkpoint it printed, as an interrupted run.
    from test_reliability import keeps_what_it_printed, printed_accuracies
    proc = reproduce("--variant", "morvan", "--seeds", "2", "--jobs", "2", "--data-dir", str(mnist_dir),
                     "--out", "res", cwd=tmp_path)
    seen: list[str] = []
    read_until(proc, lambda s: training(s, ("morvan seed 1", "morvan seed 2")), seen)
    os.kill(proc.pid, signal.SIGINT)
    time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    out = "".join(seen) + out
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err and err.endswith(
        "rnnmnist: stopped at once (KeyboardInterrupt): 2 of 2 runs saved, each with every checkpoint it had "
        "printed\n"), err
    saved = {results.load(p)["seed"]: results.load(p) for p in (tmp_path / "res" / "morvan").glob("*_interrupted.json")}
    assert sorted(saved) == [1, 2]
    for seed, record in saved.items():
        assert record["interrupted_by"] == "KeyboardInterrupt"
        assert keeps_what_it_printed(record, printed_accuracies(out, f"[morvan seed {seed}] "))
    deadline = time.monotonic() + 30  # the runs' processes end with their workers
    while [p for p in psutil.process_iter(["cmdline", "cwd"])
           if "rnnmnist.worker" in (p.info["cmdline"] or []) and p.info["cwd"] == str(tmp_path)]:
        assert time.monotonic() < deadline, "a run's process outlived its cluster"
        time.sleep(0.2)


@pytest.fixture
def localhost_cluster(tmp_path, mnist_dir):
    """`dask scheduler` and two `dask worker` (one thread each) on 127.0.0.1, in a directory without
    MNIST, which they fetch from a mirror (the test's own copy) as a new machine would from the
    internet; stopped, with all they started, after."""
    here = tmp_path / "workers"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RNNMNIST_", "DASK_"))}
    env[settings.MNIST_URL] = f"file://{mnist_dir.resolve()}/"
    started = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--scheduler-file", "scheduler.json"], cwd=here, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not (here / "scheduler.json").exists():
            assert time.monotonic() < deadline and started[0].poll() is None, "the scheduler did not start"
            time.sleep(0.2)
        address = json.loads((here / "scheduler.json").read_text())["address"]
        for name in ("w1", "w2"):
            started.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                                             "--host", "127.0.0.1", "--no-dashboard", "--name", name], cwd=here,
                                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True))
        from distributed import Client
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, here, started
    finally:
        gone = (ProcessLookupError, psutil.NoSuchProcess)
        for proc in started:
            children = []
            with contextlib.suppress(*gone):
                children = psutil.Process(proc.pid).children(recursive=True)
            for pid in [proc.pid, *(c.pid for c in children)]:
                with contextlib.suppress(*gone):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_an_ensemble_on_a_real_cluster_survives_a_killed_worker_and_a_lost_scheduler(tmp_path, localhost_cluster,
                                                                                      mnist_dir):
    address, workers_dir, started = localhost_cluster
    client_dir = tmp_path / "client"  # no MNIST here: the workers see to it on their machine
    client_dir.mkdir()
    from distributed import Client
    with Client(address, timeout=30) as client:
        pids = client.run(os.getpid)  # asked first: the kill below must land early even on a fast CPU
    # --data-dir as the default is, whatever $RNNMNIST_DATA_DIR says here: relative, so each worker's own
    proc = reproduce("--variant", "morvan", "--seeds", "2", "--steps", "120", "--scheduler", address, "--out", "res",
                     "--data-dir", "MNIST_data", cwd=client_dir)
    seen: list[str] = []
    read_until(proc, lambda s: training(s, ("morvan seed 1",), accuracies=1), seen)
    (on,) = [line.split()[-1] for line in seen if line.startswith("[morvan seed 1] on tcp://")]
    os.kill(pids[on], signal.SIGKILL)  # the worker process, at step 0 of its run; its nanny starts another
    out, err = proc.communicate(timeout=TIMEOUT_S)
    out = "".join(seen) + out
    assert proc.returncode == 0, err
    assert "[morvan seed 1] started again on tcp://127.0.0.1:" in out and "(attempt 2)" in out
    saved = {results.load(p)["seed"]: results.load(p) for p in (client_dir / "res" / "morvan").glob("*.json")}
    assert sorted(saved) == [1, 2] and all(r["steps_run"] == 120 and r["status"] != results.INTERRUPTED
                                           for r in saved.values())
    assert saved[2]["command"] == "python -m rnnmnist.reproduce --variant morvan --seed 2 --steps 120"
    assert results.curve_of(saved[1]) != results.curve_of(saved[2])  # each seed its own curve
    assert "\nmorvan: 2 seeds against " in out and "verdict over 2 seeds: " in out  # the ensemble, as in turn
    # MNIST fetched by the workers, on their machine, once, verified; none here
    assert sum(line.startswith("[morvan seed ") and "] downloading file://" in line for line in out.splitlines()) == 4
    assert sources.status(workers_dir / "MNIST_data") == {spec.name: None for spec in idx.FILES}
    assert not (client_dir / "MNIST_data").exists()
    # The killed worker's run process ended with it: none is left running.
    assert not [p for p in psutil.process_iter(["cmdline", "cwd"])
                if "rnnmnist.worker" in (p.info["cmdline"] or []) and p.info["cwd"] == str(workers_dir)]
    # What the same seed gives here, in this process: the retried run lost nothing.
    from rnnmnist import api
    from rnnmnist.plan import resolve
    here = api.execute(resolve(RunRequest.build("morvan", 1, steps=120, data_dir=mnist_dir, out=None)), echo=None,
                       progress=None)
    assert here.points == results.curve_of(saved[1])

    # The Keras version on the same cluster: each run's Keras in a process of its own on its worker
    proc = reproduce("--variant", "morvan", "--impl", "keras", "--seeds", "2", "--steps", "21", "--scheduler", address,
                     "--out", "keras", "--data-dir", "MNIST_data", cwd=client_dir)
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, err
    kept = {results.load(p)["seed"]: results.load(p) for p in (client_dir / "keras" / "morvan").glob("*.json")}
    assert sorted(kept) == [1, 2] and all(p.name.endswith("_keras_truncated.json")
                                          for p in (client_dir / "keras" / "morvan").glob("*.json"))
    for seed, record in kept.items():
        assert record["provenance"]["implementation"]["impl"] == "keras" and record["steps_run"] == 21
        assert record["command"] == f"python -m rnnmnist.reproduce --variant morvan --seed {seed} --steps 21 --impl keras"
    tf1_first = [p for p in results.curve_of(saved[1]) if p.at <= 20]  # the TF1 graph's, over the same steps
    assert results.curve_of(kept[1]) != tf1_first and len(results.curve_of(kept[1])) == len(tf1_first)
    assert "\nmorvan: 2 seeds against " in out  # pooled apart from the TF1 seeds, as with --jobs

    # The scheduler goes away mid-run: one line that says what to do; what was saved stays.
    proc = reproduce("--variant", "morvan", "--seed", "3", "--steps", "120", "--scheduler", address, "--out", "res",
                     cwd=client_dir)
    read_until(proc, lambda s: training(s, ("morvan seed 3",), accuracies=1), seen)
    started[0].kill()
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 5, err
    assert err.startswith("rnnmnist: error: lost the Dask scheduler at ") and len(err.splitlines()) == 1, err
    assert sorted(results.load(p)["seed"] for p in (client_dir / "res" / "morvan").glob("*.json")) == [1, 2]


def test_a_scheduler_that_cannot_be_reached_is_one_line(tmp_path, monkeypatch, reproduce_here):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)  # nothing listens there: waiting longer changes nothing
    ran = reproduce_here("--variant", "morvan", "--seeds", "2", "--steps", "1", "--scheduler", "tcp://127.0.0.1:9",
                         cwd=tmp_path)
    err = ran.stderr
    assert ran.returncode == 5
    assert err.startswith("rnnmnist: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9 (") and \
        "dask scheduler" in err and len(err.splitlines()) == 1, err
    assert ran.stdout == ""  # not "2 runs, on the Dask cluster at ..." first: the error line alone
    assert not (tmp_path / "runs").exists()
    ran = reproduce_here("--variant", "morvan", "--seeds", "2", "--steps", "1", "--scheduler", "notanaddress",
                         cwd=tmp_path)
    assert ran.returncode == 5 and ran.stdout == "" and len(ran.stderr.splitlines()) == 1, ran
    assert ran.stderr.startswith("rnnmnist: error: cannot reach the Dask scheduler at notanaddress (")


class _Client:
    """What `check_workers` asks of a Dask client, for workers whose software is given."""
    def __init__(self, software: dict[str, dict[str, str]]):
        self.software = software

    def run(self, function):
        assert function is cluster.software
        return self.software


def test_a_worker_with_other_software_is_refused_in_one_line():
    ours = {name: version for name, version in cluster.software().items() if name in task.CHECKED}
    assert set(cluster.software()) == set(task.CHECKED + task.JAX) and "(sources " in ours["rnnmnist"]
    assert "keras" in ours and task.checked([]) == task.CHECKED
    cluster.check_workers(_Client({"tcp://10.0.0.2:4000": ours}))  # the same: accepted
    for name, other in (("tensorflow", "2.20.0"), ("rnnmnist", "0.1.0 (sources 000000000000)")):
        with pytest.raises(cluster.ClusterError) as refused:
            cluster.check_workers(_Client({"tcp://10.0.0.2:4000": ours, "tcp://10.0.0.3:4000": {**ours, name: other}}))
        message = str(refused.value)
        assert message.startswith(f"the Dask worker tcp://10.0.0.3:4000 has {name} {other} where this machine has "
                                  f"{ours[name]}: install the same there") and "\n" not in message

