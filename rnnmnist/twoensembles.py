"""Two seed ensembles of one recipe against each other: are they draws of the same process?

For two implementations of one tutorial (its TF1 graph and its Keras 3 version), trained with the
same recipe under the same era: checkpoint by checkpoint, a two-sample test on the seeds' numbers,
counted with the same verdict rule as `compare`.

- At each checkpoint every seed of both ensembles measured, Welch's t test at `compare.ALPHA` (5%,
  two-sided): the means differ when |mean_a - mean_b| > t(df) * sqrt(v_a / K_a + v_b / K_b), df from
  Welch-Satterthwaite, rounded down (a smaller df is a wider band: conservative). Welch's, not
  Student's: nothing says the two implementations spread alike, and Welch's test does not assume it.
- Each side's variance v is its seeds' sample variance, but never below one run's measurement noise
  (`compare.one_run_noise`, the same floor `compare.ensemble` puts under its band): five seeds that
  happen to agree (batch accuracies at 1.0) cannot make a difference of one image "significant". A
  checkpoint whose noise cannot be derived is shown, not counted, as in `compare`.
- Verdict: under "same process" each checkpoint is outside with probability 0.05, so the number outside
  is Binomial(N, 0.05); more than its 99th percentile (`compare.allowed_misses`) means the ensembles
  differ. Below `compare.MIN_SEEDS` seeds on either side "same" is not said (the test has too little
  power to see a difference: "inconclusive"); "differ" still stands, the t quantile having paid for
  the few seeds. Fewer than 2 seeds on a side has no variance: inconclusive, nothing compared.

What it leaves out, and which way that errs. A Keras run and a TF1 run of the same seed read the same
batches (the same `next_batch` order), so the two ensembles' numbers at a checkpoint are positively
correlated pair by pair; the unpaired test ignores that and overstates the noise of the difference:
it says "differ" less often than 5% per checkpoint (conservative), and it needs no pairing of seeds.
Like `compare`, it treats checkpoints as independent; a whole-set accuracy that is slow all through
misses in runs of neighbouring checkpoints, so "differ" is said somewhat more often than 1% there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from . import compare
from .curve import Point

SAME, DIFFER = "same within seed noise", "differ"


@dataclass(frozen=True)
class Row:
    metric: str
    at: int
    mean_a: float
    mean_b: float
    half_width: float | None  # the 95% band of the difference of the means; None: no noise derivable
    inside: bool | None


@dataclass(frozen=True)
class Agreement:
    rows: tuple[Row, ...]
    seeds: tuple[int, int]
    compared: int
    inside: int
    allowed_outside: int
    verdict: str
    reason: str

    @property
    def outside(self) -> list[Row]:
        return [r for r in self.rows if r.inside is False]


def against_each_other(a: list[list[Point]], b: list[list[Point]], sample_sizes: Mapping[str, int]) -> Agreement:
    """Ensemble `a`'s seeds' curves against ensemble `b`'s, checkpoint by checkpoint (module docstring).
    `sample_sizes`: per metric, how many images each number was measured on (`Schedule.sample_sizes`)."""
    seeds = (len(a), len(b))
    if min(seeds) < 2:
        return Agreement((), seeds, 0, 0, 0, compare.INCONCLUSIVE,
                         f"too few seeds to compare ({seeds[0]} and {seeds[1]}; need at least 2 on each side for "
                         f"a spread, {compare.MIN_SEEDS} to say the same)")
    rows = tuple(_row(key, found_a, found_b, sample_sizes)
                 for key, found_a, found_b in _common_checkpoints(a, b))
    return _verdict(rows, seeds)


def _common_checkpoints(a: list[list[Point]], b: list[list[Point]]):
    """(metric, at), and every seed's point there with its curve, where every seed of both sides measured."""
    indexed = [[({(p.metric, p.at): p for p in curve}, curve) for curve in side] for side in (a, b)]
    for key in dict.fromkeys((p.metric, p.at) for p in a[0]):
        found = [[(got[key], curve) for got, curve in side if key in got] for side in indexed]
        if all(len(f) == len(side) for f, side in zip(found, indexed)):
            yield key, found[0], found[1]


def _row(key, found_a, found_b, sizes: Mapping[str, int]) -> Row:
    sides = [_side(found, sizes) for found in (found_a, found_b)]
    (mean_a, var_a, k_a), (mean_b, var_b, k_b) = sides
    if var_a is None or var_b is None:
        return Row(*key, mean_a, mean_b, None, None)
    se2_a, se2_b = var_a / k_a, var_b / k_b
    if se2_a + se2_b == 0:  # no spread on either side (a loss flat at its floor): only equal means agree
        return Row(*key, mean_a, mean_b, 0.0, mean_a == mean_b)
    df = (se2_a + se2_b) ** 2 / (se2_a ** 2 / (k_a - 1) + se2_b ** 2 / (k_b - 1))
    hw = compare.t_975(max(1, math.floor(df))) * math.sqrt(se2_a + se2_b)
    return Row(*key, mean_a, mean_b, hw, abs(mean_a - mean_b) <= hw)


def _side(found: list[tuple[Point, list[Point]]], sizes: Mapping[str, int]) -> tuple[float, float | None, int]:
    """One ensemble at a checkpoint: the seeds' mean, their variance floored by one run's noise, and their count."""
    values = [p.value for p, _ in found]
    k, mean = len(values), sum(values) / len(values)
    s2 = sum((v - mean) ** 2 for v in values) / (k - 1)
    noise = [compare.one_run_noise(p, p, curve, sizes) for p, curve in found]
    if any(x is None for x in noise):
        return mean, None, k
    return mean, max(s2, sum(x * x for x in noise) / k), k


def _verdict(rows: tuple[Row, ...], seeds: tuple[int, int]) -> Agreement:
    compared = [r for r in rows if r.inside is not None]
    inside = sum(r.inside for r in compared)
    allowed = compare.allowed_misses(len(compared))
    misses = len(compared) - inside
    counted = (f"{inside} of {len(compared)} checkpoints with the means' difference inside the 95% band of "
               f"{seeds[0]} and {seeds[1]} seeds; chance alone allows {allowed} outside")
    if not compared:
        return Agreement(rows, seeds, 0, 0, 0, compare.INCONCLUSIVE,
                         "no checkpoint that every seed of both measured with a derivable noise")
    if misses > allowed:
        return Agreement(rows, seeds, len(compared), inside, allowed, DIFFER, counted)
    if min(seeds) < compare.MIN_SEEDS:
        return Agreement(rows, seeds, len(compared), inside, allowed, compare.INCONCLUSIVE,
                         f"too few seeds (need {compare.MIN_SEEDS} on each side): {counted}")
    return Agreement(rows, seeds, len(compared), inside, allowed, SAME, counted)


def describe(agreement: Agreement) -> str:
    """As `compare.describe` says a verdict: "same within seed noise (...)", "inconclusive: ..."."""
    if agreement.verdict == compare.INCONCLUSIVE:
        return f"{agreement.verdict}: {agreement.reason}"
    return f"{agreement.verdict} ({agreement.reason})"
