"""Two seed ensembles against each other (issue 23, items 3(d) and 5): synthetic curves, no training."""
from __future__ import annotations

import random

from rnnmnist import compare, twoensembles
from rnnmnist.curve import BATCH_ACCURACY, Point

SIZES = {BATCH_ACCURACY: 128}
CHECKPOINTS = 40


def seed_curve(rng: random.Random, shift: float = 0.0, checkpoints: int = CHECKPOINTS) -> list[Point]:
    """One seed of a process like the tutorials': a learning curve, a model of the seed's own (its skill, sd 0.01),
    each checkpoint a batch of 128 images (binomial); `shift` moves the whole process."""
    skill = rng.gauss(0, 0.01)
    points = []
    for i in range(checkpoints):
        p = min(0.999, 0.5 + 0.45 * (1 - 0.9 ** i) + skill + shift)
        points.append(Point(BATCH_ACCURACY, 20 * i, sum(rng.random() < p for _ in range(128)) / 128))
    return points


def ensembles(rng, k_a=5, k_b=5, shift=0.0):
    return [seed_curve(rng) for _ in range(k_a)], [seed_curve(rng, shift) for _ in range(k_b)]


def test_two_ensembles_of_one_process_are_the_same_and_miss_no_more_than_5_percent_of_checkpoints():
    rng = random.Random(1)
    found = [twoensembles.against_each_other(*ensembles(rng), SIZES) for _ in range(40)]
    assert {a.verdict for a in found} == {twoensembles.SAME}
    assert all(a.compared == CHECKPOINTS and a.seeds == (5, 5) and a.allowed_outside == 6 for a in found)
    # the test's level: under "same process" at most 5% outside per checkpoint (the noise floor and the rounded-down
    # df make it less: 1.1% here); over 1,600 checkpoints the rate's sd is 0.5%, so a band far too narrow shows
    # (one standard error wide, t = 1: 28%)
    rate = sum(a.compared - a.inside for a in found) / sum(a.compared for a in found)
    assert rate <= compare.ALPHA


def test_ensembles_several_sds_apart_differ_and_say_where():
    # one seed's number has sd about 0.028 here (binomial 0.026 and the seeds' 0.01): 0.1 is more than 3 sds
    agreement = twoensembles.against_each_other(*ensembles(random.Random(2), shift=-0.1), SIZES)
    assert agreement.verdict == twoensembles.DIFFER and agreement.inside <= agreement.allowed_outside
    assert all(r.mean_b < r.mean_a for r in agreement.outside)
    assert twoensembles.describe(agreement).startswith("differ (")


def test_too_few_seeds_are_inconclusive_unless_they_plainly_differ():
    same = twoensembles.against_each_other(*ensembles(random.Random(3), 3, 3), SIZES)
    assert same.verdict == compare.INCONCLUSIVE and same.compared == CHECKPOINTS
    need = f"inconclusive: too few seeds (need {compare.MIN_SEEDS} on each side)"
    assert twoensembles.describe(same).startswith(need)
    apart = twoensembles.against_each_other(*ensembles(random.Random(3), 3, 3, shift=-0.2), SIZES)
    assert apart.verdict == twoensembles.DIFFER  # the t quantile of 2-4 df has paid for the few seeds
    one = twoensembles.against_each_other(*ensembles(random.Random(3), 1, 5), SIZES)
    assert (one.verdict, one.compared, one.rows) == (compare.INCONCLUSIVE, 0, ())


def test_seeds_that_agree_exactly_still_carry_one_runs_noise():
    """Every seed at 128/128 against every seed at 127/128: one image apart, not a difference of processes
    (without the floor both variances are 0 and any difference would be outside)."""
    a = [[Point(BATCH_ACCURACY, 0, 1.0)]] * 5
    b = [[Point(BATCH_ACCURACY, 0, 127 / 128)]] * 5
    (row,) = twoensembles.against_each_other(a, b, SIZES).rows
    assert row.inside and row.half_width > 1 / 128
    c = [[Point(BATCH_ACCURACY, 0, 120 / 128)]] * 5  # eight images apart, five seeds each: outside
    assert twoensembles.against_each_other(a, c, SIZES).rows[0].inside is False


def test_only_checkpoints_every_seed_of_both_measured_are_compared():
    a, b = ensembles(random.Random(4))
    b[0] = b[0][:10]  # one seed cut after 10 checkpoints
    agreement = twoensembles.against_each_other(a, b, SIZES)
    assert agreement.compared == 10 and [r.at for r in agreement.rows] == [20 * i for i in range(10)]
