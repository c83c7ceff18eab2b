"""The full schedules, re-run (opt-in: pytest -m reproduction -n 0; how long: docs/timing.md)."""
from __future__ import annotations

import pytest

from conftest import train
from rnnmnist import compare, registry

from test_results import EXPECTED


@pytest.mark.reproduction
@pytest.mark.parametrize("name", registry.names())
def test_full_schedule_reproduces_the_documented_numbers(name, mnist_dir):
    variant = registry.load(name)
    curve = train(variant, mnist_dir, variant.seed, echo=None, progress=None)
    assert curve.steps_run == len(variant.schedule.steps) and not curve.interrupted
    result = compare.compare(curve.points, variant.reference, variant.schedule.sample_sizes())
    assert result.verdict == EXPECTED[(name, variant.era)], result.reason
    assert result.not_reached == 0
