"""Results are written atomically and never replace an existing run; committed runs still hold."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnmnist import compare, registry, report, results
from rnnmnist.spec import BATCH_ACCURACY, BATCH_LOSS, Point

REPO = Path(__file__).resolve().parent.parent


def test_save_never_replaces_and_leaves_no_temporary_file(tmp_path):
    record = {"variant": "morvan", "seed": 3, "truncated": False, "curve": []}
    paths = {results.save(dict(record, n=i), tmp_path) for i in range(3)}
    assert len(paths) == 3
    assert sorted(json.loads(p.read_text())["n"] for p in paths) == [0, 1, 2]
    assert [p.name for p in (tmp_path / "morvan").iterdir() if p.suffix != ".json"] == []


# What the committed single-seed runs show (results/REPORT.md). static-projection's accuracies come
# out 0.02-0.03 above the documented ones, beyond one run's measurement noise; whether that is
# within the seed-to-seed spread is for the seed ensembles to say. A change in any of these
# verdicts, either way, must be looked at, so the test pins them.
EXPECTED = {"morvan": compare.REPRODUCED, "final-state": compare.REPRODUCED, "static-split": compare.REPRODUCED,
            "static-projection": compare.NOT_REPRODUCED, "softmax-bug": compare.NO_REFERENCE}

COMMITTED = sorted(p for p in (REPO / "results").glob("*/*.json") if p.parent.name != "bench")

# Over all committed seeds of the tutorial's own graph (the report's verdicts), and how many seeds
# the evidence needs at least. A single static-projection run misses (EXPECTED); five seeds do not
# (see the finding in variants/static_projection.py).
ENSEMBLE_EXPECTED = {"morvan": (compare.REPRODUCED, 5), "static-split": (compare.REPRODUCED, 5),
                     "final-state": (compare.REPRODUCED, 2), "static-projection": (compare.REPRODUCED, 5),
                     "softmax-bug": (compare.NO_REFERENCE, 2)}


def test_there_is_a_committed_full_run_of_every_variant_with_a_reference():
    full = set()
    for path in COMMITTED:
        record = results.load(path)
        if not record["truncated"] and record["status"] == results.COMPLETE and not record["fixes"]:
            full.add(record["variant"])
    assert full == set(registry.names())


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_run_still_agrees_with_the_documented_numbers(path):
    """The regression test: the committed curve, compared again by today's code and reference."""
    record = results.load(path)
    variant = registry.load(record["variant"])
    curve = [Point(**p) for p in record["curve"]]
    result = compare.compare(curve, variant.reference, report.schedule_of(record).sample_sizes())
    assert result.verdict == record["comparison"]["verdict"]
    if not record["truncated"] and record["status"] == results.COMPLETE and not record["fixes"]:
        assert result.verdict == EXPECTED[record["variant"]], result.reason
        assert result.not_reached == 0


def test_same_seed_on_the_same_machine_gives_the_committed_curve(mnist_dir):
    """Determinism across processes: a fresh run repeats the newest committed static-split run bit for bit.

    Its first 200 steps hold 40 printed numbers; two intra-op threads instead of one already
    change the batch loss at step 60 in its last bits.
    """
    from rnnmnist import runner
    from rnnmnist.tfcompat import tf
    import numpy as np
    groups, _ = report.collect(REPO / "results")  # complete runs, the latest of each seed
    record = next((r for _, r in groups.get(("static-split", ()), []) if r["seed"] == 0), None)
    if record is None:
        pytest.skip("no committed static-split run of seed 0")
    here = {"cpu": results.cpu_model(), "tensorflow": tf.__version__, "numpy": np.__version__}
    there = {k: record["provenance"][k] for k in here}
    if here != there:
        pytest.skip(f"bit-exactness holds only on the same CPU and versions: run {there}, here {here}")
    variant = registry.load("static-split")
    curve = runner.run(variant, mnist_dir, 0, variant.schedule.truncated(200), echo=None, progress=None)
    printed = [p.value for p in curve.points if p.metric in (BATCH_ACCURACY, BATCH_LOSS)]
    assert len(printed) == 40 and printed == [p["value"] for p in record["curve"]][:40]

def test_committed_seeds_together_agree_with_the_documented_numbers():
    groups, _ = report.collect(REPO / "results")
    assert len(groups[("softmax-bug", ("softmax",))]) >= 2  # the corrected graph, for comparison
    for name, (verdict, min_seeds) in ENSEMBLE_EXPECTED.items():
        runs = groups[(name, ())]
        curves = [[Point(**p) for p in record["curve"]] for _, record in runs]
        sizes = report.schedule_of(runs[0][1]).sample_sizes()
        result = compare.ensemble(curves, registry.load(name).reference, sizes)
        assert len(runs) >= min_seeds and result.verdict == verdict, (name, len(runs), result.reason)
