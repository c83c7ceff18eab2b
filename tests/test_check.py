"""`python -m rnnmnist.check`: curves read back from a tutorial's printed lines and from CSV, and judged."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnmnist import check, compare, readcurve, registry, report, results
from rnnmnist.curve import BATCH_ACCURACY, BATCH_LOSS, Point
from rnnmnist.run import Run

REPO = Path(__file__).resolve().parent.parent
EVIDENCE = REPO / "results"
NOISE = ["WARNING:tensorflow:From train.py:12: read_data_sets (deprecated)", "",
         "Extracting MNIST_data/train-images-idx3-ubyte.gz", "Instructions for updating:"]


def committed(name: str) -> tuple[Path, dict]:
    """The latest committed seed of the variant under its own era."""
    variant = registry.load(name)
    groups, _ = report.collect(EVIDENCE, only=[f"{name}/{p.name}" for p in (EVIDENCE / name).glob("*.json")])
    return groups[(name, (), variant.era, "tf1")][-1]


def with_noise(lines: list[str]) -> list[str]:
    """A log as a terminal shows it: TensorFlow's chatter before and between the tutorial's lines."""
    out = list(NOISE)
    for i, line in enumerate(lines):
        out += [line] + (NOISE[:1] if i % 7 == 3 else [])
    return out


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = check.main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", registry.names())
def test_a_committed_runs_printed_lines_read_back_to_its_points(name, tmp_path):
    variant = registry.load(name)
    _, record = committed(name)
    points = results.curve_of(record)
    lines = readcurve.printed(variant, points)
    reading = readcurve.read(variant, write(tmp_path / "log.txt", with_noise(lines)))
    assert sorted((p.metric, p.at) for p in reading.points) == sorted((p.metric, p.at) for p in points)
    assert reading.complete and reading.steps_reached == len(variant.schedule.steps)
    assert reading.skipped == sum(bool(line) for line in with_noise(lines)) - sum(bool(line) for line in lines)
    original = {(p.metric, p.at): p.value for p in points}
    for p in reading.points:  # as printed: within half the last digit printed
        assert abs(p.value - original[(p.metric, p.at)]) <= reading.resolution[(p.metric, p.at)] * 1.000001
    # and printed again, the very same lines
    assert readcurve.printed(variant, reading.points) == lines


@pytest.mark.parametrize("name", registry.names())
def test_a_committed_run_as_csv_gets_the_runs_own_verdict_and_lies_in_the_seed_band(name, tmp_path):
    path, record = committed(name)
    points = results.curve_of(record)
    metrics = sorted({p.metric for p in points})
    target = tmp_path / "curve.csv"
    with target.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "epoch", *metrics, readcurve.SD_COLUMN])
        for p in points:
            where = ["", p.at] if p.metric in readcurve.EPOCH_METRICS else [p.at, ""]
            writer.writerow([*where, *[repr(p.value) if m == p.metric else "" for m in metrics],
                             "" if p.sd is None else repr(p.sd)])
    lines = check.check(registry.load(name), target, EVIDENCE)
    run = Run.from_record(record, path)
    assert f"verdict: {compare.describe(run.comparison)}" in lines
    # one of the seeds is inside the seeds' range everywhere
    band = [line for line in lines if line.startswith("seed band: ")]
    assert len(band) == 1 and band[0].startswith(f"seed band: {check.WITHIN} (")
    reading = readcurve.read(registry.load(name), target)
    seeds = [results.curve_of(r) for r in check.seed_runs(registry.load(name), EVIDENCE)]
    assert check.seed_band(reading.points, seeds).inside == len(check.seed_band(reading.points, seeds).rows) > 0


def test_static_splits_line_from_the_issue_parses(tmp_path):
    line = "Iter 1280, Minibatch Loss= 1.871495, Training Accuracy= 0.35938"
    reading = readcurve.read(registry.load("static-split"), write(tmp_path / "log", [line]))
    assert reading.points == [Point(BATCH_LOSS, 10, 1.871495), Point(BATCH_ACCURACY, 10, 0.35938)]
    assert reading.resolution == {(BATCH_LOSS, 10): 5e-7, (BATCH_ACCURACY, 10): 5e-6}
    assert not reading.complete and reading.last == "step 10"


def test_morvans_bare_accuracies_take_their_steps_from_the_schedule(tmp_path):
    reading = readcurve.read(registry.load("morvan"), write(tmp_path / "log", ["0.1875", "0.65625", "0.726562"]))
    assert [(p.at, p.value) for p in reading.points] == [(0, 0.1875), (20, 0.65625), (40, 0.726562)]


def test_a_cut_log_is_compared_over_what_it_reached_and_says_so(tmp_path, capsys):
    variant = registry.load("morvan")
    _, record = committed("morvan")
    lines = readcurve.printed(variant, results.curve_of(record)[:10], complete=False)
    code, out, _ = run_main(capsys, "--variant", "morvan", str(write(tmp_path / "log", lines)))
    assert code == 0
    verdicts = [line for line in out.splitlines() if line.startswith(("verdict:", "seed band:"))]
    assert len(verdicts) == 2
    assert all("cut short: it ends at step 180, 181 of 782 steps; compared over what it reached" in v for v in verdicts)
    assert "CUT SHORT (181 of 782 steps)" in out.splitlines()[0]


def test_a_log_of_two_runs_is_refused(tmp_path, capsys):
    lines = ["Iter 1280, Minibatch Loss= 1.871495, Training Accuracy= 0.35938"] * 2
    code, _, err = run_main(capsys, "--variant", "static-split", str(write(tmp_path / "log", lines)))
    assert code == 2 and err.count("\n") == 1 and "printed twice: one run per file" in err


def _one_line_error(capsys, *argv) -> str:
    code, out, err = run_main(capsys, *argv)
    assert code == 2 and not out and err.count("\n") == 1, (code, out, err)
    assert err.startswith("python -m rnnmnist.check: error: ")
    return err


@pytest.mark.parametrize("content", [None, "dir", b"", b"\n \n", b"\x00\x01binary\xff", b"hello\nworld\n",
                                     b"Iter 12, loss 0.5\n"])
def test_bad_files_get_one_line_naming_the_formats(tmp_path, capsys, content):
    path = tmp_path / "file"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    err = _one_line_error(capsys, "--variant", "static-split", str(path))
    assert "Iter 1280, Minibatch Loss= 0.250000, Training Accuracy= 0.25000" in err and "CSV" in err


def test_a_csv_with_no_metric_column_says_which_it_knows(tmp_path, capsys):
    path = write(tmp_path / "c.csv", ["step,acc", "0,0.5"])
    err = _one_line_error(capsys, "--variant", "morvan", str(path))
    assert "its CSV columns (step, acc) name no metric rnnmnist knows" in err
    assert "metric columns (batch_accuracy, batch_loss, epoch_mean_loss" in err


def test_an_unknown_variant_is_the_usual_usage_error(tmp_path, capsys):
    err = _one_line_error(capsys, "--variant", "nope", str(tmp_path))
    assert "invalid choice" in err


def test_without_committed_runs_it_says_so_in_one_line_and_judges_the_documented_numbers(tmp_path):
    log = write(tmp_path / "log", ["0.1875", "0.65625"])
    lines = check.check(registry.load("morvan"), log, None)
    assert lines[-1].startswith("no committed seed band here") and any(l.startswith("verdict: ") for l in lines)
    (tmp_path / "empty").mkdir()
    assert check.check(registry.load("morvan"), log, tmp_path / "empty")[-1].startswith("no committed seed band: 0")
    assert check.committed_evidence() == EVIDENCE  # in a clone, its results/


def test_the_seed_band_is_the_seeds_range_and_counts_misses_against_two_in_k_plus_one():
    seeds = [[Point(BATCH_ACCURACY, 20 * i, v) for i in range(30)] for v in (0.8, 0.85, 0.9, 0.85, 0.82)]
    inside = check.seed_band([Point(BATCH_ACCURACY, 20 * i, 0.88) for i in range(30)], seeds)
    assert inside.verdict == check.WITHIN and inside.inside == 30 and inside.rows[0].low == 0.8
    # 1/3 of checkpoints outside is what chance gives 5 seeds; all of them is not
    assert check.outside_chance(5) == pytest.approx(1 / 3) and inside.allowed_outside >= 10
    above = check.seed_band([Point(BATCH_ACCURACY, 20 * i, 0.95) for i in range(30)], seeds)
    assert above.verdict == check.OUTSIDE and above.inside == 0
    # a printed rounding that could hide a value inside counts as inside
    edge = check.seed_band([Point(BATCH_ACCURACY, 0, 0.9004)], seeds, {(BATCH_ACCURACY, 0): 5e-4})
    assert edge.rows[0].inside
    few = check.seed_band([Point(BATCH_ACCURACY, 20 * i, 0.88) for i in range(30)], seeds[:3])
    assert few.verdict == compare.INCONCLUSIVE


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8"))))
def test_random_files_never_give_a_traceback(tmp_path, capsys, data):
    path = tmp_path / "random"
    path.write_bytes(data)
    code, out, err = run_main(capsys, "--variant", "static-split", str(path))
    assert code == 0 or (code == 2 and err.count("\n") == 1 and not out), (code, out, err)


def test_a_reader_that_went_away_gets_no_traceback(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already exited
    try:
        ran = subprocess.run([sys.executable, "-m", "rnnmnist.check", "--variant", "morvan",
                              str(write(tmp_path / "log", ["0.1875"]))], stdout=write_end, stderr=subprocess.PIPE,
                             text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    finally:
        os.close(write_end)
    assert ran.returncode == 141 and "Traceback" not in ran.stderr, ran.stderr
