"""The guard for speed work: the runner must print exactly what the tutorial's own loop prints."""
from __future__ import annotations

import importlib.util
import json
import statistics
from dataclasses import replace

import pytest

from conftest import train
from rnnmnist import registry
from rnnmnist.bare import BareLoop
from rnnmnist.bench import bench_schedule, median_ci95
from rnnmnist.bench_impls import KINDS, chosen
from rnnmnist.curve import BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS


def short(schedule):
    """A few steps of the tutorial's loop, printing often; epoch loops get 10-step epochs."""
    s = replace(schedule, steps=schedule.steps[:30], every=5, batch_metrics=(BATCH_ACCURACY, BATCH_LOSS),
                epoch_eval=(), final_test_images=0)
    return replace(s, steps_per_epoch=10) if schedule.steps_per_epoch else s


@pytest.mark.parametrize("name", registry.names())
def test_runner_and_tutorial_loop_agree_bit_for_bit(name, mnist_dir):
    # In one process both loops share its thread pools; tests/test_cli.py compares thread counts.
    variant = registry.load(name)
    schedule = short(variant.schedule)
    curve = train(variant, mnist_dir, seed=3, schedule=schedule, echo=None, progress=None)
    bare = BareLoop(variant, mnist_dir, seed=3, schedule=schedule)
    bare.advance(len(schedule.steps))
    bare.close()
    ours = [(p.metric, p.at, p.value) for p in curve.points if p.metric in (BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS)]
    theirs = [(p.metric, p.at, p.value) for p in bare.points]
    assert sorted(ours) == sorted(theirs)  # float equality: the same bits
    assert len(ours) == 12 + (3 if variant.schedule.epoch_mean_loss else 0)


# The two benchmarks run in this process (their workers in processes of their own): a process of their own
# would only add a TensorFlow import. One run covers the TF1 side and the Keras kinds: the workers start side
# by side, so a kind adds a process (a Keras import and a compilation, about 15 s of CPU), not a benchmark.
# keras-xla sets an option on the Keras runner's model (as keras-eager does), keras-jax takes the other backend
# with the runner's own compilation (as keras-function does): every path of bench_impls.training.
TIMED_KINDS = ("keras-xla", "keras-jax")


def test_bench_runs_and_saves(tmp_path, mnist_dir, capsys):
    from rnnmnist import bench
    assert bench.main(["--variant", "morvan", "--rounds", "2", "--segment", "0.1", "--paired", "0.5",
                       "--impls", ",".join(TIMED_KINDS), "--data-dir", str(mnist_dir), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "runner / bare" in out and "morvan" in out
    (saved,) = (tmp_path / "bench").glob("*.json")
    record = json.loads(saved.read_text())
    assert record["seeds"] == {"morvan": registry.load("morvan").seed} and record["wall_time_s"] > 0
    (m,) = record["measurements"]
    assert m["variant"] == "morvan" and m["runner_steps_per_s"] > 0 and m["eval_peak_rss_mib"] > 0
    assert m["paired_steps_per_s"] > 0 and m["projected_jobs2_s"] > 0 and "(--jobs 2)" in out
    assert len(m["round_ratios"]) == 2 and m["ratio"] == statistics.median(m["round_ratios"])
    assert m["ratio_ci95"] is None  # two rounds bound nothing at 95%
    impls = record["implementations"]
    assert impls["kinds"] == list(TIMED_KINDS) and not impls["skipped"]
    assert set(impls["versions"]) == {"keras", "jax", "jaxlib"}
    assert [(k["variant"], k["kind"], k["backend"]) for k in impls["measurements"]] == [
        ("morvan", "keras-xla", "tensorflow"), ("morvan", "keras-jax", "jax")]
    for k in impls["measurements"]:
        # the same rounds as the TF1 runner's, the same steps per segment
        assert k["steps_per_s"] > 0 and k["runner_steps_per_s"] == m["runner_steps_per_s"]
        assert k["rounds"] == 2 and k["steps_per_segment"] == m["steps_per_segment"]
        assert k["ratio"] == statistics.median(k["round_ratios"]) and k["ratio_ci95"] is None
        assert f"| morvan    | {k['kind']}" in out


def test_the_keras_kinds_are_all_by_default_and_jax_is_skipped_where_missing_unless_asked(monkeypatch):
    assert chosen(None) == (tuple(KINDS), {}) and chosen("none") == ((), {})
    assert chosen("keras-jax, keras-eager,keras-jax") == (("keras-jax", "keras-eager"), {})
    with pytest.raises(ValueError, match="unknown kind 'keras-tpu'; choose from keras-eager, keras-function"):
        chosen("keras-function,keras-tpu")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else find_spec(name, *a))
    kinds, skipped = chosen(None)  # the default benchmark goes on without it, and says so
    assert kinds == ("keras-eager", "keras-function", "keras-xla") and list(skipped) == ["keras-jax"]
    assert skipped["keras-jax"].endswith('pip install -e ".[jax]"')
    with pytest.raises(ValueError, match=r'^--impls keras-jax: the jax backend needs JAX.*pip install -e "\.\[jax\]"$'):
        chosen("keras-function,keras-jax")  # asked by name: refused, not silently left out


def test_median_ci95_is_the_order_statistics_the_binomial_gives():
    # 24 values: P(B <= 6) = 0.011 and P(B <= 7) = 0.032 for B ~ Binomial(24, 1/2): the 7th from each end
    assert median_ci95(list(range(24))[::-1]) == (6, 17)
    assert median_ci95(range(6)) == (0, 5) and median_ci95(range(5)) is None  # 2 / 2**5 > 5% > 2 / 2**6
    assert median_ci95(range(120)) == (48, 71)


def test_bench_schedule_keeps_the_tutorials_steps_and_never_runs_out():
    schedule = registry.load("morvan").schedule  # 782 steps: fewer than a long benchmark asks for
    longer = bench_schedule(schedule)
    assert list(longer.steps[:len(schedule.steps)]) == list(schedule.steps) and len(longer.steps) > 10**8
    assert longer.every == schedule.every and not longer.epoch_eval and not longer.final_test_images


def test_makespan_gives_each_run_in_turn_to_the_first_free_worker():
    from rnnmnist.bench import makespan
    assert makespan([25, 11, 10, 1, 1], 2) == 25 and makespan([3, 3, 2, 2, 2], 2) == 7
    assert makespan([1, 1, 10, 25], 2) == 26  # the order matters, as it does for --jobs


def test_the_cluster_bench_times_each_configuration_and_saves(tmp_path, mnist_dir, capsys):
    from rnnmnist import bench_cluster
    assert bench_cluster.main(["--seeds", "2", "--steps", "3", "--rounds", "1", "--workers", "2",
                               "--data-dir", str(mnist_dir), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    (saved,) = (tmp_path / "bench").glob("cluster-*.json")
    record = json.loads(saved.read_text())
    assert record["kind"] == "bench-cluster" and record["seeds"] == 2 and record["steps"] == 3
    assert set(record["median_wall_s"]) >= {"one after another", "dask, 2 at a time"}
    assert all(len(walls) == 1 and walls[0] > 0 for walls in record["wall_s"].values())
    assert "| one after another" in out


def test_a_failed_run_stops_the_cluster_bench_in_one_line_and_saves_nothing(tmp_path, monkeypatch, capsys):
    from rnnmnist import bench_cluster

    def fails(n, *_):
        raise bench_cluster.RunFailed(f"{bench_cluster.name_of(n)}: python -m rnnmnist.reproduce ... exited with 1 (x)")
    monkeypatch.setattr(bench_cluster, "time_one", fails)
    assert bench_cluster.main(["--rounds", "1", "--workers", "2", "--data-dir", str(tmp_path), "--out",
                               str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("python -m rnnmnist.bench_cluster: error: one after another: python -m rnnmnist.reproduce ... "
                       "exited with 1 (x); nothing saved")
    assert not (tmp_path / "bench").exists()


def test_the_projection_gives_the_runs_to_machines_as_dask_would():
    from rnnmnist.bench_cluster import projection
    bench = {"measurements": [{"projected_jobs2_s": 100.0}, {"projected_jobs2_s": 10.0}]}
    # 2 tutorials x 2 seeds in submission order, 2 slots per machine
    assert projection(bench, seeds=2, machines=(1, 2)) == [110.0, 100.0]
    assert projection(bench, seeds=4, machines=(1,)) == [220.0]  # 100 100 | 100 100, then the 10s fill in


def test_thread_counts_follow_the_cores_this_process_may_use(monkeypatch):
    """A container given 2 of 64 cores: the pools follow its affinity (and cgroup quota, as Dask counts them),
    not the machine's total."""
    import os
    from rnnmnist import cluster, cpu
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert cpu.count() == 2
    assert cpu.session_threads(0) == {"intra_op": 1, "inter_op": 2} and cluster.threads_per_job(2) == 1
