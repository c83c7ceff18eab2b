"""The guard for speed work: the runner must print exactly what the tutorial's own loop prints."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from rnnmnist import registry, runner
from rnnmnist.bare import BareLoop
from rnnmnist.spec import BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS


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
    curve = runner.run(variant, mnist_dir, seed=3, schedule=schedule, echo=None, progress=None)
    bare = BareLoop(variant, mnist_dir, seed=3, schedule=schedule)
    bare.advance(len(schedule.steps))
    bare.close()
    ours = [(p.metric, p.at, p.value) for p in curve.points if p.metric in (BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS)]
    theirs = [(p.metric, p.at, p.value) for p in bare.points]
    assert sorted(ours) == sorted(theirs)  # float equality: the same bits
    assert len(ours) == 12 + (3 if variant.schedule.epoch_mean_loss else 0)


def test_bench_runs_and_saves(tmp_path, mnist_dir):
    out = subprocess.run([sys.executable, "-m", "rnnmnist.bench", "--variant", "static-split", "--rounds", "2",
                          "--segment", "0.3", "--paired", "0.5", "--data-dir", str(mnist_dir), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "runner / bare" in out.stdout and "static-split" in out.stdout
    (saved,) = (tmp_path / "bench").glob("*.json")
    (m,) = json.loads(saved.read_text())["measurements"]
    assert m["variant"] == "static-split" and m["runner_steps_per_s"] > 0 and m["eval_peak_rss_mib"] > 0
    assert m["paired_steps_per_s"] > 0 and m["projected_jobs2_s"] > 0 and "(--jobs 2)" in out.stdout
    assert len(m["round_ratios"]) == 2 and min(m["round_ratios"]) <= max(m["round_ratios"])


def test_makespan_gives_each_run_in_turn_to_the_first_free_worker():
    from rnnmnist.bench import makespan
    assert makespan([25, 11, 10, 1, 1], 2) == 25 and makespan([3, 3, 2, 2, 2], 2) == 7
    assert makespan([1, 1, 10, 25], 2) == 26  # the order matters, as it does for --jobs
