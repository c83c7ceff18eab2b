"""The tolerance is derived from binomial noise; these pin its arithmetic and the verdict rule."""
from __future__ import annotations

import math

from rnnmnist import compare
from rnnmnist.curve import BATCH_ACCURACY, Point
from rnnmnist.spec import Reference

REF = Reference("test", tuple(Point(BATCH_ACCURACY, 20 * i, v) for i, v in enumerate([0.5] * 10 + [0.96875] * 30)))
SIZES = {BATCH_ACCURACY: 128}


def test_band_is_two_runs_binomial_noise():
    # p = (64 + 64 + 1) / 258; two runs -> variance 2 p (1 - p) / 128
    p = 129 / 258
    assert math.isclose(compare.binomial_band(0.5, 0.5, 128), 1.959964 * math.sqrt(2 * p * (1 - p) / 128))
    assert compare.binomial_band(1.0, 1.0, 128) > 1 / 128  # two perfect batches still get a band
    assert compare.binomial_band(0.9, 0.9, 10000) < compare.binomial_band(0.9, 0.9, 128) / 8


def test_allowed_misses_is_the_99th_percentile_of_chance_misses():
    assert compare.allowed_misses(40) == 6
    assert compare.allowed_misses(1) == 1
    assert compare.allowed_misses(125) == 13


def test_identical_curve_reproduces_and_a_far_one_does_not():
    same = compare.compare(REF.points, REF, SIZES)
    assert same.verdict == compare.REPRODUCED and same.inside == 40
    off = [Point(p.metric, p.at, p.value - 0.15) for p in REF.points]
    assert compare.compare(off, REF, SIZES).verdict == compare.NOT_REPRODUCED


def test_a_few_misses_are_chance_more_are_not():
    def shifted(k):
        return [Point(p.metric, p.at, p.value - (0.2 if i < k else 0)) for i, p in enumerate(REF.points)]
    assert compare.compare(shifted(6), REF, SIZES).verdict == compare.REPRODUCED
    assert compare.compare(shifted(7), REF, SIZES).verdict == compare.NOT_REPRODUCED


def test_truncated_run_is_compared_only_where_it_got_to():
    result = compare.compare(REF.points[:5], REF, SIZES)
    assert result.compared == 5 and result.not_reached == 35
    assert "truncated" in result.reason
    assert "not reached" in result.reason
    assert len(compare.table(result).splitlines()) == 2 + 5


def test_no_reference():
    assert compare.compare([], None, SIZES).verdict == compare.NO_REFERENCE


def test_a_run_that_reached_no_documented_checkpoint_says_so():
    result = compare.compare([], REF, SIZES)
    assert result.verdict == compare.NOT_REACHED and result.not_reached == 40


def test_other_documented_numbers_are_compared_too_and_the_verdict_stays_the_references():
    other = Reference("other", tuple(Point(BATCH_ACCURACY, 20 * i, 0.5) for i in range(5)))
    ref = Reference("own", tuple(Point(BATCH_ACCURACY, 20 * i, 0.96875) for i in range(5)), also=(other,))
    curve = [Point(BATCH_ACCURACY, 20 * i, 0.5) for i in range(5)]
    for result in (compare.compare(curve, ref, SIZES), compare.ensemble([curve] * 5, ref, SIZES)):
        assert (result.reference, result.verdict) == ("own", compare.NOT_REPRODUCED)
        (also,) = result.also
        assert (also.reference, also.verdict, also.inside, also.also) == ("other", compare.REPRODUCED, 5, ())
        assert compare.also_lines(result) == [f"also against other: {compare.describe(also)}"]
    assert compare.compare(curve, None, SIZES).also == ()  # no reference (a run with fixes): nothing else either
