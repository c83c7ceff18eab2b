"""The command line: bad input is one line and exit 2; a truncated run is marked and saved."""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import train
from rnnmnist import registry, reproduce
from rnnmnist.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def cli(*args, cwd, module="rnnmnist.reproduce", timeout=300):
    """The command in a process of its own, for what the process decides; the rest use `reproduce_here`."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def test_list_shows_every_variant_with_a_description(tmp_path):
    out = cli("--list", cwd=tmp_path)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == registry.names()
    assert all(len(line.split()) > 3 for line in lines)


@pytest.mark.parametrize("args, expect", [
    (["--variant", "nope"], "unknown variant 'nope'; known variants: final-state, morvan, softmax-bug, "
                            "static-projection, static-split, or all"),
    (["--variant", "morvan", "--fix", "softmax"], "morvan has no fix 'softmax'; its fixes: none"),
    (["--variant", "softmax-bug", "--fix", "soft"], "softmax-bug has no fix 'soft'; its fixes: softmax"),
    (["--variant", "all", "--fix", "softmax"], "--fix applies to one variant"),
    (["--variant", "morvan", "--epochs", "1"], "morvan counts steps, not epochs: use --steps"),
    (["--variant", "softmax-bug", "--epochs", "0"], "--epochs: must be at least 1"),
    ([], "give --variant NAME"),
    (["--variant", "morvan", "--steps", "0"], "--steps: must be at least 1"),
    (["--variant", "morvan", "--steps", "-3"], "--steps: must be at least 1"),
    (["--variant", "morvan", "--steps", "ten"], "--steps: expected a whole number"),
    (["--variant", "morvan", "--seed", "-1"], "--seed: must be between 0"),
    (["--variant", "morvan", "--seeds", "0"], "--seeds: must be at least 1"),
    (["--variant", "morvan", "--data-dir", "afile"], "--data-dir afile is a file"),
    (["--variant", "morvan", "--out", "afile"], "cannot write results to --out afile"),
    (["--variant", "morvan", "--jobs", "2"], "--jobs 2 runs several runs at once: add --seeds K"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, expect, reproduce_here):
    (tmp_path / "afile").write_text("x")
    out = reproduce_here(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert expect in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_corrupt_data_is_one_line_with_the_fix(tmp_path, reproduce_here):
    data = tmp_path / "data"
    data.mkdir()
    from rnnmnist import idx
    for spec in idx.FILES:
        (data / spec.name).write_bytes(b"\x1f\x8b\x08 truncated")
    out = reproduce_here("--variant", "morvan", "--steps", "1", "--data-dir", str(data), cwd=tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    error = [line for line in out.stderr.splitlines() if "error" in line]
    assert len(error) == 1 and "python -m rnnmnist.data" in error[0] and "train-images-idx3-ubyte.gz" in error[0]
    assert (data / idx.TRAIN_IMAGES.name).read_bytes() == b"\x1f\x8b\x08 truncated"  # nothing lost


def test_truncated_run_prints_compares_and_saves(tmp_path, mnist_dir):
    out = cli("--variant", "morvan", "--steps", "41", "--data-dir", str(mnist_dir), "--out", "res", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"# morvan ({registry.load('morvan').tutorial}): 41 of 782 steps, seed 1")
    assert "[TRUNCATED run]" in out.stdout
    assert "37 documented checkpoints not reached" in out.stdout
    saved = list((tmp_path / "res" / "morvan").glob("*.json"))
    assert len(saved) == 1 and saved[0].name.endswith("_seed1_truncated.json")
    record = json.loads(saved[0].read_text())
    assert record["truncated"] is True and record["steps_run"] == 41 and record["steps_total"] == 782
    assert [p["at"] for p in record["curve"]] == [0, 20, 40]
    assert record["comparison"]["compared"] == 3
    for key in ("git", "tensorflow", "numpy", "cpu"):
        assert record["provenance"][key]
    assert record["provenance"]["session_threads"]["intra_op"] == 1  # it decides last bits: recorded
    assert record["command"] == "python -m rnnmnist.reproduce --variant morvan --seed 1 --steps 41"  # this run alone
    assert record["invoked_as"].startswith("python -m rnnmnist.reproduce --variant morvan --steps 41")
    assert "Extracting" not in out.stderr and "WARNING" not in out.stderr  # TensorFlow's noise is hidden


def test_quiet_prints_only_the_comparison(tmp_path, mnist_dir, reproduce_here):
    out = reproduce_here("--variant", "morvan", "--steps", "21", "--quiet", "--data-dir", str(mnist_dir),
                         "--out", "res", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Extracting" not in out.stdout and "verdict:" in out.stdout
    assert not out.stdout.startswith("# ") and "\n# " not in out.stdout  # no header: the comparison alone
    assert out.stdout.splitlines()[-1].startswith("saved res/morvan/")  # and where it went
    assert out.stderr == ""


def test_data_command_verifies_without_network(mnist_dir, tmp_path):
    out = cli("--data-dir", str(mnist_dir), cwd=tmp_path, module="rnnmnist.data")
    assert out.returncode == 0
    assert out.stdout.count("verified") == 4


def test_all_runs_every_variant_and_ends_with_a_summary_and_so_does_jobs(tmp_path, mnist_dir, monkeypatch):
    """--jobs and one after another give the same curves to the bit: a worker's one session per run and
    the tutorial's default session (one inter-op thread per core, run by hand) alike. Thread pools belong
    to a process: both sides run in processes of their own. tests/test_cluster.py checks a --jobs
    ensemble of seeds and its live lines. Both write their checkpoints into one DIR: none replaces another."""
    import rnnmnist
    from rnnmnist import checkpoints, results
    from rnnmnist.dataset import read_data_sets
    summaries, curves = {}, {}
    for how, jobs in (("turn", ()), ("jobs", ("--jobs", "2"))):
        out = cli("--variant", "all", "--steps", "20", "--quiet", *jobs, "--data-dir", str(mnist_dir), "--out", how,
                  "--checkpoint", "ck", cwd=tmp_path, timeout=600)
        assert out.returncode == 0, out.stderr
        summary = out.stdout[out.stdout.rindex("| variant"):].splitlines()
        assert [row.split("|")[1].strip() for row in summary[2:]] == registry.names()
        assert all("(truncated)" in row for row in summary[2:])
        summaries[how] = [row.split("|")[1:4] + row.split("|")[5:] for row in summary]  # all but the wall time
        curves[how] = {p.parent.name: results.curve_of(results.load(p)) for p in (tmp_path / how).glob("*/*.json")}
        assert set(curves[how]) == set(registry.names())
    assert summaries["jobs"] == summaries["turn"] and curves["jobs"] == curves["turn"]
    records = {how: {p.parent.name: results.load(p) for p in (tmp_path / how).glob("*/*.json")}
               for how in ("turn", "jobs")}
    for name, turn in records["turn"].items():  # the saved records, field by field
        jobs = records["jobs"][name]
        differ = {key for key in turn if turn[key] != jobs[key]}
        # timings, where the checkpoint went, the checksum of those, and what was typed; nothing else
        assert differ <= {"wall_time_s", "train_time_s", "checkpoint", "checkpoint_sha256", "checksum",
                          "invoked_as", "provenance", "request"}, (name, differ)
        # the request as typed, whole (not the worker's share of the cores): only --out differs, as typed
        assert {k for k in turn["request"] if turn["request"][k] != jobs["request"][k]} == {"out"}
        typed = turn["invoked_as"].replace("--quiet", "--quiet --jobs 2").replace("--out turn", "--out jobs")
        assert jobs["invoked_as"] == typed  # as typed, not the worker's command
        assert turn["invoked_as"].startswith("python -m rnnmnist.reproduce --variant all --steps 20 --quiet")
        process = {"finished_utc", "session_threads"}  # the process, and its share of the cores
        assert {k for k in turn["provenance"] if turn["provenance"][k] != jobs["provenance"].get(k)} <= process
    runs = rnnmnist.load_runs(tmp_path / "turn") + rnnmnist.load_runs(tmp_path / "jobs")
    assert len({run.record["checkpoint"] for run in runs}) == 2 * len(registry.names())
    monkeypatch.chdir(tmp_path)  # where the runs were, as their checkpoint paths are
    assert all(checkpoints.own(run.record) for run in runs)  # each still the one its run wrote
    (worker_written,) = [run for run in runs if run.path.parent.parent.name == "jobs"
                         and run.request.variant == "static-split"]
    model = rnnmnist.restore(worker_written)  # written by a --jobs worker, restored here
    try:
        test = read_data_sets(mnist_dir, one_hot=True).test
        (final,) = [p.value for p in worker_written.points if p.metric == "final_test_accuracy"]
        assert model.evaluate(test.images[:128], test.labels[:128]) == final
    finally:
        model.close()


def test_a_fixed_run_is_named_and_recorded_as_such(tmp_path, mnist_dir, reproduce_here):
    out = reproduce_here("--variant", "softmax-bug", "--fix", "softmax", "--steps", "3", "--quiet",
                         "--data-dir", str(mnist_dir), "--out", "res", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "this is not the tutorial's graph" in out.stdout and "verdict: no reference" in out.stdout
    (saved,) = (tmp_path / "res" / "softmax-bug").glob("*.json")
    assert saved.name.endswith("_seed0_fix-softmax_truncated.json")
    assert json.loads(saved.read_text())["fixes"] == ["softmax"]


def test_a_reader_gone_before_the_list_is_exit_141_without_a_traceback(tmp_path):
    """`rnnmnist --list | head -2`: the console script's entry point, its reader gone before it prints."""
    proc = subprocess.Popen([sys.executable, "-c", "from rnnmnist.reproduce import cli; cli()", "--list"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # as `head` does once it has its lines
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, stderr
    assert stderr == ""


def test_runs_go_to_runs_not_to_the_committed_evidence(tmp_path, mnist_dir, reproduce_here):
    out = reproduce_here("--variant", "morvan", "--steps", "1", "--quiet", "--data-dir", str(mnist_dir), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "runs" / "morvan").glob("*.json"))) == 1 and not (tmp_path / "results").exists()
    assert "runs/" in (REPO / ".gitignore").read_text().splitlines()


def test_more_steps_than_the_tutorial_has_says_so(tmp_path):
    parser = reproduce.parser()
    args = parser.parse_args(["--variant", "morvan", "--steps", "5000"])
    with contextlib.redirect_stderr(io.StringIO()) as err:
        (plan,) = reproduce._plans(args, parser, tmp_path, Settings())
    assert len(plan.schedule.steps) == 782 and not plan.truncated
    assert err.getvalue() == "rnnmnist: note: morvan has 782 steps: --steps 5000 runs all 782\n"


def test_a_truncated_run_does_not_print_the_tutorials_closing_lines(tiny_mnist):
    mnist_dir = tiny_mnist
    for name in ("static-split", "static-projection"):
        variant, lines = registry.load(name), []
        train(variant, mnist_dir, 0, variant.schedule.truncated(12), echo=lines.append, progress=None)
        assert not any("Finished" in line or "FINISHED" in line for line in lines), lines
        assert any(line.startswith(f"[truncated after 12 of {len(variant.schedule.steps)} steps: ") for line in lines)
    assert "[truncated] final test accuracy after 12 of 781 steps: " in lines[-1] or name == "static-projection"


def test_a_failed_fetch_leaves_no_empty_results_folder(tmp_path, monkeypatch, reproduce_here):
    for name, value in {"RNNMNIST_MNIST_URL": "http://127.0.0.1:9/", "PIP_CONFIG_FILE": os.devnull,
                        "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "", "PIP_RETRIES": "0",
                        "PIP_TIMEOUT": "3"}.items():
        monkeypatch.setenv(name, value)
    out = reproduce_here("--variant", "morvan", "--steps", "1", "--data-dir", "nodata", "--out", "res", cwd=tmp_path)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert not (tmp_path / "res").exists()


def test_tensorboard_events_say_how_to_see_them(tmp_path, mnist_dir, reproduce_here):
    out = reproduce_here("--variant", "morvan", "--steps", "1", "--quiet", "--tensorboard", "tb",
                         "--data-dir", str(mnist_dir), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    from rnnmnist import tensorboard
    assert "tensorboard --logdir tb" in out.stdout
    assert ('pip install -e ".[tensorboard]"' in out.stdout) != tensorboard.viewer_installed()
