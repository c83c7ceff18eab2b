"""A checkpoint belongs to one run: never replaced by a later one, and restored only if it is still its own."""
from __future__ import annotations

import shutil

import pytest

import rnnmnist
from rnnmnist import checkpoints, results
from rnnmnist.dataset import read_data_sets


def final_accuracy(run) -> float:
    (value,) = [p.value for p in run.points if p.metric == "final_test_accuracy"]
    return value


def test_runs_into_one_directory_each_keep_their_own_checkpoint(tmp_path, tiny_mnist, reproduce_here, monkeypatch):
    # The same second for every run: the names clash as they would under --jobs or two terminals.
    monkeypatch.setattr(results, "utc_stamp", lambda: "20260101T000000Z")
    common = ("--variant", "static-split", "--steps", "3", "--quiet", "--data-dir", str(tiny_mnist),
              "--out", "res", "--checkpoint", "ck")
    for extra in ((), (), ("--tf-semantics", "1.2")):
        assert reproduce_here(*common, *extra, cwd=tmp_path).returncode == 0
    runs = rnnmnist.load_runs(tmp_path / "res")
    assert len(runs) == 3
    prefixes = sorted(run.record["checkpoint"] for run in runs)
    assert prefixes == sorted(f"ck/static-split/20260101T000000Z_seed0_{name}/model-3"  # none replaced another
                              for name in ("tf1.2_truncated", "truncated", "truncated-2"))
    test = read_data_sets(tiny_mnist, one_hot=True).test
    for run in runs:
        model = rnnmnist.restore(run)
        try:  # each restores to the accuracy its own run measured
            assert model.evaluate(test.images[:128], test.labels[:128]) == final_accuracy(run)
        finally:
            model.close()


def test_a_fixed_and_an_unfixed_run_keep_their_own_checkpoints(tmp_path, tiny_mnist, monkeypatch):
    monkeypatch.setattr(results, "utc_stamp", lambda: "20260101T000000Z")
    kw = dict(steps=3, data_dir=tiny_mnist, out=None, checkpoint=tmp_path / "ck", quiet=True)
    plain, fixed = rnnmnist.train("softmax-bug", **kw), rnnmnist.train("softmax-bug", fixes=["softmax"], **kw)
    assert plain.record["checkpoint"] == str(tmp_path / "ck/softmax-bug/20260101T000000Z_seed0_truncated/model-3")
    assert fixed.record["checkpoint"] == str(tmp_path / "ck/softmax-bug/20260101T000000Z_seed0_fix-softmax_truncated"
                                                         "/model-3")
    for run in (plain, fixed):
        rnnmnist.restore(run).close()  # each still its own


def refused(run) -> str:
    with pytest.raises(ValueError) as e:
        rnnmnist.restore(run)
    message = str(e.value)
    assert "\n" not in message and "train again with checkpoint=DIR" in message
    return message


def test_restore_refuses_a_checkpoint_that_is_not_the_runs_own(tmp_path, tiny_mnist):
    kw = dict(steps=3, data_dir=tiny_mnist, checkpoint=tmp_path / "ck", quiet=True)
    rnnmnist.train("morvan", out=tmp_path / "res", **kw)
    (run,) = rnnmnist.load_runs(tmp_path / "res")  # as saved: the digest is sealed in the record's checksum
    mine = checkpoints.files(run.record["checkpoint"])
    assert [f.name for f in mine] == ["model-3.data-00000-of-00001", "model-3.index"]
    kept = [f.read_bytes() for f in mine]

    old = rnnmnist.Run.from_record({k: v for k, v in run.record.items() if k != "checkpoint_sha256"})
    assert "has no digest of its checkpoint" in refused(old)

    mine[0].write_bytes(kept[0][:-1] + bytes([kept[0][-1] ^ 1]))  # one bit of one weight
    assert "not this run's checkpoint: its files changed after the run saved them" in refused(run)
    mine[0].write_bytes(kept[0])
    rnnmnist.restore(run).close()  # its own again

    other = rnnmnist.train("morvan", seed=5, out=None, **kw)
    for f, theirs in zip(mine, checkpoints.files(other.record["checkpoint"])):
        shutil.copyfile(theirs, f)  # what the old shared seed<N>/ directory let a later run do
    assert "not this run's checkpoint" in refused(run)

    for f in mine:
        f.unlink()
    assert "this run's checkpoint is missing" in refused(run)


def test_a_new_directory_is_never_one_that_exists(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "kept").write_text("x")
    (tmp_path / "run-2").write_text("a file")
    made = checkpoints.new_directory(tmp_path, "run")
    assert made == tmp_path / "run-3" and list(made.iterdir()) == []
    assert (tmp_path / "run" / "kept").read_text() == "x" and (tmp_path / "run-2").read_text() == "a file"
