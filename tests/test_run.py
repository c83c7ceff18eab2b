"""A run resolved once, and its record read back whole (issue 22, item 1).

`Run.to_record()` is what is saved and sent back from a `--jobs` worker; `Run.from_record()` must give
back the same Run, every field, for every variant: complete, truncated, interrupted, with fixes,
under another era, with TensorBoard events and a checkpoint.
"""
from __future__ import annotations

import json

import pytest

from rnnmnist import api, registry, results
from rnnmnist.plan import resolve
from rnnmnist.request import RequestError, RunRequest
from rnnmnist.run import Run
from rnnmnist.stopping import Stop


class StopAfter(Stop):
    """A stop request after `steps` steps, as a Ctrl-C between two steps would make it."""

    def __init__(self, steps: int):
        super().__init__()
        self.left = steps

    def check(self) -> None:
        if self.left == 0:
            self.request("SIGTERM")
        self.left -= 1
        super().check()


def round_trips(run: Run) -> None:
    record = json.loads(json.dumps(run.to_record()))  # as it crosses a process or a disk
    back = Run.from_record(record, run.path)
    for field in ("plan", "curve", "comparison", "provenance", "invoked_as", "path"):
        assert getattr(back, field) == getattr(run, field), field
    assert back == run and back.to_record() == record


@pytest.mark.parametrize("name", registry.names())
def test_every_variants_run_reads_back_from_its_record_field_for_field(name, tiny_mnist, tmp_path):
    variant = registry.load(name)
    fixes = tuple(sorted(variant.fixes))[:1]
    era = next(e for e in ("1.0", "1.2") if e != variant.era)  # not its own: the request says so
    plan = resolve(RunRequest.build(name, 5, steps=3, fixes=fixes, data_dir=tiny_mnist, out=tmp_path / "runs",
                                    tensorboard=tmp_path / "tb", checkpoint=tmp_path / "ck", era=era))
    run = api.execute(plan, echo=None, progress=None)
    assert run.plan is plan and run.curve.steps_run == 3 and run.plan.truncated
    assert run.curve.checkpoint and run.curve.events and run.invoked_as
    round_trips(run)
    saved = run.save()  # and through the file: its checksum is the only field added
    assert Run.from_record(results.load(saved), saved) == run
    assert {k: v for k, v in results.load(saved).items() if k != "checksum"} == run.to_record()


@pytest.mark.parametrize("name", ["morvan", "softmax-bug"])  # a step loop and an epoch loop
def test_an_interrupted_run_and_a_whole_one_read_back_too(name, tiny_mnist, tmp_path):
    stopped = api.execute(resolve(RunRequest.build(name, 1, steps=4, data_dir=tiny_mnist, out=None)),
                          echo=None, progress=None, stop=StopAfter(2))
    assert stopped.interrupted == "SIGTERM" and stopped.curve.steps_run == 2
    round_trips(stopped)
    assert stopped.to_record()["status"] == results.INTERRUPTED


def test_a_run_of_the_whole_schedule_reads_back(tiny_mnist, monkeypatch):
    """Untruncated: static-split's 'Optimization Finished!' and final accuracy, on a schedule cut to fit the data."""
    from dataclasses import replace
    variant = registry.load("static-split")
    short = replace(variant, schedule=variant.schedule.truncated(3))
    monkeypatch.setattr(registry, "load", lambda name: short)
    run = api.execute(resolve(RunRequest.build("static-split", 0, data_dir=tiny_mnist, out=None)), echo=None,
                      progress=None)
    assert not run.plan.truncated and run.to_record()["truncated"] is False
    round_trips(run)


def test_a_request_is_resolved_once_and_its_mistakes_said_in_one_line():
    plan = resolve(RunRequest.build("softmax-bug", 3, epochs=2, fixes=("softmax",), out=None))
    assert plan.schedule.steps_per_epoch and len(plan.schedule.steps) == 2 * plan.schedule.steps_per_epoch
    assert plan.truncated and plan.reference is None and plan.fixes == {"softmax"}  # a fix: not the tutorial's graph
    with pytest.raises(RequestError, match="morvan counts steps, not epochs: use --steps"):
        resolve(RunRequest.build("morvan", 1, epochs=1, out=None))
    with pytest.raises(RequestError, match="morvan has no fix 'softmax'; its fixes: none"):
        resolve(RunRequest.build("morvan", 1, fixes=("softmax",), out=None))
    (note,) = resolve(RunRequest.build("morvan", 1, steps=5000, out=None)).notes
    assert note == "morvan has 782 steps: --steps 5000 runs all 782"


def test_a_keras_runs_record_reads_back_too(tiny_mnist):
    """What a Keras run's record adds (the request's impl and backend, the implementation in its provenance)
    reads back field for field; the Keras training itself is tests/test_keras_runs.py's, in processes of its own."""
    tf1 = api.execute(resolve(RunRequest.build("morvan", 2, steps=3, data_dir=tiny_mnist, out=None)), echo=None,
                      progress=None)
    assert tf1.provenance["implementation"] == {"impl": "tf1"}
    plan = resolve(RunRequest.build("morvan", 2, steps=3, data_dir=tiny_mnist, out=None, impl="keras", backend="jax"))
    provenance = dict(tf1.provenance, implementation={"impl": "keras", "backend": "jax", "keras": "3", "jax": "0"})
    run = Run.finished(plan, tf1.curve, provenance, "python: rnnmnist.train(...)")
    round_trips(run)
    assert run.to_record()["request"]["impl"] == "keras" and run.to_record()["request"]["backend"] == "jax"
