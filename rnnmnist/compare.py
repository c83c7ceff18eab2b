"""Documented vs reproduced numbers: a band per checkpoint, a table, and a verdict.

How the band of a batch accuracy is derived (nothing here is tuned to make a run pass):
a number printed on a batch of n images is k/n with k ~ Binomial(n, p), p being the model's
accuracy at that step. The documented and the reproduced number come from two independent
runs, so even if both runs had the same p, their difference has variance 2 p (1 - p) / n:
sqrt(2) times one run's noise. p is estimated from both numbers with one pseudo-count
(p = (k1 + k2 + 1) / (2n + 2)), so that two runs at 100% still get a band of a few images.
A checkpoint is inside when |reproduced - documented| <= 1.96 * sqrt(2 p (1 - p) / n), the
95% band. What the band leaves out: runs with different seeds do not have the same p at every
step (early in training especially), so a real reproduction misses more often than 5%;
the seed ensembles of results/ measure that spread.

Verdict: with N checkpoints each missing its 95% band with probability 0.05 by chance, the
number of misses is Binomial(N, 0.05). The run reproduces the tutorial when it misses no more
than the 99th percentile of that distribution (e.g. 6 of 40); more misses than chance allows
means the curves differ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from tabulate import tabulate

from .printing import numpy113_str
from .spec import BATCH_ACCURACY, Point, Reference

Z_95 = 1.959964
ALPHA = 0.05        # per-checkpoint miss probability under "same process"
VERDICT_LEVEL = 0.01  # allowed misses: 99th percentile of Binomial(N, ALPHA)

REPRODUCED, NOT_REPRODUCED, NO_REFERENCE = "reproduced", "not reproduced", "no reference"


def binomial_band(documented: float, reproduced: float, n: int) -> float:
    """Half-width of the 95% band for the difference of two accuracies on n images each."""
    k = round(documented * n) + round(reproduced * n)
    p = (k + 1) / (2 * n + 2)
    return Z_95 * math.sqrt(2 * p * (1 - p) / n)


def allowed_misses(n_checkpoints: int, alpha: float = ALPHA, level: float = VERDICT_LEVEL) -> int:
    """Smallest k with P(Binomial(N, alpha) > k) <= level."""
    cdf = 0.0
    for k in range(n_checkpoints + 1):
        cdf += math.comb(n_checkpoints, k) * alpha ** k * (1 - alpha) ** (n_checkpoints - k)
        if 1 - cdf <= level:
            return k
    return n_checkpoints


@dataclass(frozen=True)
class Row:
    metric: str
    at: int
    documented: float
    reproduced: float | None   # None: the (truncated) run did not reach this checkpoint
    half_width: float | None
    inside: bool | None


@dataclass(frozen=True)
class Comparison:
    rows: tuple[Row, ...]
    compared: int
    inside: int
    allowed_outside: int
    not_reached: int
    verdict: str
    reason: str


def compare(curve: Iterable[Point], reference: Reference | None, sample_sizes: Mapping[str, int]) -> Comparison:
    """Compare a run's points with the documented ones, checkpoint by checkpoint.

    `sample_sizes` gives, per metric, how many images each number was measured on.
    """
    if reference is None or not reference.points:
        return Comparison((), 0, 0, 0, 0, NO_REFERENCE, "the tutorial documents no numbers for this variant")
    got = {(p.metric, p.at): p.value for p in curve}
    rows = []
    for ref in reference.points:
        value = got.get((ref.metric, ref.at))
        if value is None:
            rows.append(Row(ref.metric, ref.at, ref.value, None, None, None))
            continue
        hw = binomial_band(ref.value, value, sample_sizes[ref.metric])
        # Printed values are rounded to 6 digits: allow that much on top of the band.
        rows.append(Row(ref.metric, ref.at, ref.value, value, hw, abs(value - ref.value) <= hw + 1e-6))
    compared = [r for r in rows if r.inside is not None]
    inside = sum(r.inside for r in compared)
    allowed = allowed_misses(len(compared))
    not_reached = len(rows) - len(compared)
    misses = len(compared) - inside
    if not compared:
        verdict, reason = NO_REFERENCE, "the run stopped before the first documented checkpoint"
    elif misses <= allowed:
        verdict = REPRODUCED
        reason = f"{inside} of {len(compared)} checkpoints inside the 95% band; chance alone allows {allowed} outside"
    else:
        verdict = NOT_REPRODUCED
        reason = f"{misses} of {len(compared)} checkpoints outside the 95% band; chance alone allows {allowed}"
    if not_reached:
        reason += f"; truncated run: {not_reached} documented checkpoints not reached, not compared"
    return Comparison(tuple(rows), len(compared), inside, allowed, not_reached, verdict, reason)


LABELS = {BATCH_ACCURACY: "batch accuracy"}


def table(comparison: Comparison, fmt: str = "github") -> str:
    """The compared checkpoints (a truncated run's unreached ones are counted in the reason, not listed)."""
    body = []
    for r in comparison.rows:
        if r.reproduced is not None:
            body.append([LABELS.get(r.metric, r.metric), r.at, numpy113_str(r.documented), numpy113_str(r.reproduced),
                         f"{round(r.reproduced - r.documented, 4) + 0.0:+.4f}", f"±{r.half_width:.4f}",
                         "yes" if r.inside else "NO"])
    return tabulate(body, headers=["metric", "step", "documented", "reproduced", "difference", "95% band", "inside"],
                    tablefmt=fmt, disable_numparse=True)
