"""Documented vs reproduced numbers: a band per checkpoint, a table, and a verdict.

Nothing here is tuned to make a run pass. Each band is the 95% range of the difference
between two independent runs' numbers that the noise *we can derive* would produce:

- Accuracies (a batch of n = 128 or 50, the whole test set n = 10,000, the training set
  n = 55,000, the first n test images): a number measured on n images is k/n with
  k ~ Binomial(n, p). Two independent runs, even at the same p, differ with variance
  2 p (1 - p) / n: sqrt(2) times one run's noise. p is estimated from both numbers with one
  pseudo-count, p = (k1 + k2 + 1) / (2n + 2), so two runs at 100% still get a band of a few
  images. Band: 1.96 * sqrt(2 p (1 - p) / n).
- Batch loss (one batch's mean cross-entropy): it has no binomial form. Its noise is
  measured in the reproduced run itself: the scatter of successive checkpoints' losses
  within 5 checkpoints either side (successive differences cancel the slow trend; if
  loss = trend + e, E[d^2] = 2 var(e)). Band: 1.96 * sqrt(2) * sigma = 1.96 * rms(d).
- Epoch mean loss (the average of an epoch's after-update batch losses): the standard error
  of that mean, from the spread of the losses averaged (recorded with the point), for two
  runs: 1.96 * sqrt(2) * sd / sqrt(steps). The losses trend down within an epoch, which
  makes sd, and so the band, larger: conservative.
- Every documented number was printed rounded; half its last digit is added.

What the bands leave out: runs with different seeds do not reach the same p (or loss) at the
same step. For batch accuracies the binomial noise dominates; for whole-set accuracies and
epoch mean losses, measured on thousands of images, the seed-to-seed spread of the model
itself dominates, so a single run misses these tight bands more often than 5%, and a miss
there means "the curves differ by more than measurement noise", not "the tutorial is
wrong". Seed ensembles measure that spread.

With several seeds (`ensemble`), the seed-to-seed spread is measured instead of left out: at
each checkpoint the K seeds give a mean and a sample variance s^2, and the band is the 95%
prediction interval for one more independent run -- the documented one:
t(K-1) * sqrt(v * (1 + 1/K)), with v = max(s^2, one run's measurement noise^2) so that a few
seeds that happen to agree cannot make the band narrower than the noise every run carries.
With 2 seeds t is 12.7: two seeds say little. Below MIN_SEEDS the verdict is "inconclusive: too
few seeds" where it would have said "reproduced" (a miss even of so wide a band still counts): the band's factor t(K-1) * sqrt(1 + 1/K) is 15.6, 5.0, 3.6 for 2, 3, 4 seeds and 3.0
for 5, where it first comes within about 1.5 times the 1.96 that a known spread would give, so
that only from 5 seeds on can a curve that differs fall outside it.

Verdict: with N checkpoints each missing its 95% band with probability 0.05 by chance, the
number of misses is Binomial(N, 0.05). The run reproduces the tutorial when it misses no more
than the 99th percentile of that distribution (e.g. 6 of 40); more misses than chance allows
means the curves differ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from tabulate import tabulate

from .curve import (BATCH_ACCURACY, BATCH_LOSS, EPOCH_MEAN_LOSS, FINAL_TEST_ACCURACY, TEST_ACCURACY, TRAIN_ACCURACY,
                    Point)
from .spec import Reference

Z_95 = 1.959964
ALPHA = 0.05        # per-checkpoint miss probability under "same process"
VERDICT_LEVEL = 0.01  # allowed misses: 99th percentile of Binomial(N, ALPHA)

REPRODUCED, NOT_REPRODUCED, NO_REFERENCE = "reproduced", "not reproduced", "no reference"
INCONCLUSIVE = "inconclusive"  # seeds too few for their band to say anything
MIN_SEEDS = 5
NOT_REACHED = "not reached"  # the run stopped before the first documented checkpoint


def binomial_band(documented: float, reproduced: float, n: int) -> float:
    """Half-width of the 95% band for the difference of two accuracies on n images each."""
    k = round(documented * n) + round(reproduced * n)
    p = (k + 1) / (2 * n + 2)
    return Z_95 * math.sqrt(2 * p * (1 - p) / n)


ACCURACIES = (BATCH_ACCURACY, TRAIN_ACCURACY, TEST_ACCURACY, FINAL_TEST_ACCURACY)
LOSS_WINDOW = 5  # checkpoints either side for the batch-loss scatter


def loss_scatter_band(points: list[Point], at: int) -> float | None:
    """1.96 * rms of successive differences of the run's batch losses near `at`."""
    losses = sorted((p.at, p.value) for p in points if p.metric == BATCH_LOSS)
    index = next((i for i, (step, _) in enumerate(losses) if step == at), None)
    if index is None:
        return None
    window = [v for _, v in losses[max(0, index - LOSS_WINDOW):index + LOSS_WINDOW + 1]]
    diffs = [b - a for a, b in zip(window, window[1:])]
    if len(diffs) < 3:
        return None
    return Z_95 * math.sqrt(sum(d * d for d in diffs) / len(diffs))


def rounding(documented: float) -> float:
    """Half the last printed digit of a documented number."""
    text = repr(documented)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return 0.5 * 10 ** -decimals


def band(ref: Point, got: Point, curve: list[Point], sizes: Mapping[str, int]) -> float | None:
    """Half-width of the 95% band for this checkpoint, or None where no band can be derived."""
    if ref.metric in ACCURACIES:
        return binomial_band(ref.value, got.value, sizes[ref.metric])
    if ref.metric == BATCH_LOSS:
        return loss_scatter_band(curve, got.at)
    if ref.metric == EPOCH_MEAN_LOSS and got.sd is not None and sizes.get(EPOCH_MEAN_LOSS):
        return Z_95 * math.sqrt(2) * got.sd / math.sqrt(sizes[EPOCH_MEAN_LOSS])
    return None


def t_975(df: int) -> float:
    """Student's t 97.5% quantile for df >= 1 degrees of freedom (12.706 at 1, 2.021 at 40, 1.96 at infinity)."""
    lo, hi = 0.0, 13.0
    for _ in range(60):  # bisection to well below the printed precision
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_cdf(mid, df) < 0.975 else (lo, mid)
    return (lo + hi) / 2


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with integer df, exactly (Abramowitz & Stegun 26.7.3 and 26.7.4)."""
    theta = math.atan(t / math.sqrt(df))
    c2, total, term = math.cos(theta) ** 2, 1.0, 1.0
    if df % 2:  # odd: (2/pi) (theta + sin cos (1 + 2/3 c2 + 2*4/(3*5) c2^2 + ...)), (df - 1) / 2 terms
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        a = 2 / math.pi * (theta + (math.sin(theta) * math.cos(theta) * total if df > 1 else 0.0))
    else:  # even: sin (1 + 1/2 c2 + 1*3/(2*4) c2^2 + ...), df / 2 terms
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        a = math.sin(theta) * total
    return (1 + a) / 2


def one_run_noise(ref: Point, got: Point, curve: list[Point], sizes: Mapping[str, int]) -> float | None:
    """The standard deviation of one run's number from measurement noise alone."""
    if ref.metric in ACCURACIES:
        n = sizes[ref.metric]
        p = (round(got.value * n) + 0.5) / (n + 1)
        return math.sqrt(p * (1 - p) / n)
    two_run = band(ref, got, curve, sizes)
    return None if two_run is None else two_run / (Z_95 * math.sqrt(2))


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
    reproduced: float | None   # None: the (truncated) run did not reach this checkpoint; else the seeds' mean
    half_width: float | None   # None: not reached, or no band could be derived
    inside: bool | None
    seeds: int = 1
    low: float | None = None   # the seeds' smallest and largest value
    high: float | None = None


@dataclass(frozen=True)
class Comparison:
    rows: tuple[Row, ...]
    compared: int
    inside: int
    allowed_outside: int
    not_reached: int
    verdict: str
    reason: str
    reference: str | None = None  # where the documented numbers come from
    notes: tuple[str, ...] = ()   # what was left out of an ensemble, and why
    runs: int = 1                 # how many runs (seeds) the numbers are of
    also: tuple["Comparison", ...] = ()  # against the reference's `also` numbers; the verdict is not theirs


def compare(curve: Iterable[Point], reference: Reference | None, sample_sizes: Mapping[str, int]) -> Comparison:
    """Compare a run's points with the documented ones, checkpoint by checkpoint (and with `reference.also`).

    `sample_sizes` gives, per metric, how many images each number was measured on.
    """
    curve = list(curve)
    return _with_also(lambda ref: _compare(curve, ref, sample_sizes), reference)


def ensemble(curves: list[list[Point]], reference: Reference | None, sample_sizes: Mapping[str, int]) -> Comparison:
    """Compare several runs (seeds) of one recipe with the documented numbers: a band from their spread."""
    return _with_also(lambda ref: _ensemble(curves, ref, sample_sizes), reference)


def over_schedule(result: Comparison, steps: int, steps_total: int) -> Comparison:
    """A verdict over a cut schedule says so: it is a verdict on the steps run, not on the tutorial's."""
    if steps >= steps_total:
        return result
    return replace(result, reason=f"over a truncated schedule, {steps} of {steps_total} steps: {result.reason}")


def _with_also(against, reference: Reference | None) -> Comparison:
    """The comparison with `reference`, carrying those with its `also` numbers."""
    primary = against(reference)
    return replace(primary, also=tuple(against(other) for other in reference.also)) if reference else primary


def _compare(curve: list[Point], reference: Reference | None, sample_sizes: Mapping[str, int]) -> Comparison:
    if reference is None or not reference.points:
        return Comparison((), 0, 0, 0, 0, NO_REFERENCE, "the tutorial documents no numbers for this variant")
    got = {(p.metric, p.at): p for p in curve}
    rows = []
    for ref in reference.points:
        point = got.get((ref.metric, ref.at))
        if point is None:
            rows.append(Row(ref.metric, ref.at, ref.value, None, None, None))
            continue
        hw = band(ref, point, curve, sample_sizes)
        inside = None if hw is None else abs(point.value - ref.value) <= hw + rounding(ref.value)
        rows.append(Row(ref.metric, ref.at, ref.value, point.value, hw, inside))
    return replace(_verdict(rows), reference=reference.source)


def _ensemble(curves: list[list[Point]], reference: Reference | None, sample_sizes: Mapping[str, int]) -> Comparison:
    if len(curves) == 1:
        return _compare(curves[0], reference, sample_sizes)
    if reference is None or not reference.points:
        return Comparison((), 0, 0, 0, 0, NO_REFERENCE, "the tutorial documents no numbers for this variant",
                          runs=len(curves))
    indexed = [({(p.metric, p.at): p for p in curve}, curve) for curve in curves]
    rows = []
    for ref in reference.points:
        found = [(got[(ref.metric, ref.at)], curve) for got, curve in indexed if (ref.metric, ref.at) in got]
        if len(found) < 2:
            rows.append(Row(ref.metric, ref.at, ref.value, None, None, None, len(found)))
            continue
        values = [p.value for p, _ in found]
        k, mean = len(values), sum(values) / len(values)
        s2 = sum((v - mean) ** 2 for v in values) / (k - 1)
        noise = [one_run_noise(ref, p, curve, sample_sizes) for p, curve in found]
        if any(x is None for x in noise):
            rows.append(Row(ref.metric, ref.at, ref.value, mean, None, None, k, min(values), max(values)))
            continue
        v = max(s2, sum(x * x for x in noise) / k)
        hw = t_975(k - 1) * math.sqrt(v * (1 + 1 / k))
        inside = abs(mean - ref.value) <= hw + rounding(ref.value)
        rows.append(Row(ref.metric, ref.at, ref.value, mean, hw, inside, k, min(values), max(values)))
    result = _verdict(rows)
    result = replace(result, reason=result.reason.replace("95% band", f"95% band of {len(curves)} seeds"),
                     reference=reference.source, runs=len(curves))
    # A band too wide to fail cannot support "reproduced"; a miss even of that band still stands.
    if result.verdict == REPRODUCED and len(curves) < MIN_SEEDS:
        t = t_975(len(curves) - 1)
        result = replace(result, verdict=INCONCLUSIVE,
                         reason=f"too few seeds (need {MIN_SEEDS}): with {len(curves)} the band is t = {t:.2f} "
                                f"standard errors wide, {t / Z_95:.1f} times what a known spread would give; "
                                f"{result.reason}")
    return result


def describe(comparison: Comparison) -> str:
    """The verdict as the CLI and the report print it: "reproduced (...)", "inconclusive: too few seeds ..."."""
    notes = "".join(f"; {note}" for note in comparison.notes)
    if comparison.verdict == INCONCLUSIVE:
        return f"{comparison.verdict}: {comparison.reason}{notes}"
    return f"{comparison.verdict} ({comparison.reason}{notes})"


def also_lines(comparison: Comparison) -> list[str]:
    """One line per set of other documented numbers the run was also compared with (not the verdict's)."""
    return [f"also against {other.reference}: {describe(other)}" for other in comparison.also]


def _verdict(rows: list[Row]) -> Comparison:
    compared = [r for r in rows if r.inside is not None]
    inside = sum(r.inside for r in compared)
    allowed = allowed_misses(len(compared))
    not_reached = sum(r.reproduced is None for r in rows)
    misses = len(compared) - inside
    if not compared:
        verdict, reason = NOT_REACHED, "the run stopped before the first documented checkpoint"
    elif misses <= allowed:
        verdict = REPRODUCED
        reason = f"{inside} of {len(compared)} checkpoints inside the 95% band; chance alone allows {allowed} outside"
    else:
        verdict = NOT_REPRODUCED
        reason = f"{misses} of {len(compared)} checkpoints outside the 95% band; chance alone allows {allowed}"
    if not_reached:
        reason += f"; truncated run: {not_reached} documented checkpoints not reached, not compared"
    return Comparison(tuple(rows), len(compared), inside, allowed, not_reached, verdict, reason)


LABELS = {BATCH_ACCURACY: "batch accuracy", BATCH_LOSS: "batch loss", EPOCH_MEAN_LOSS: "epoch mean loss",
          TRAIN_ACCURACY: "train accuracy", TEST_ACCURACY: "test accuracy", FINAL_TEST_ACCURACY: "final test accuracy"}
EPOCH_METRICS = (EPOCH_MEAN_LOSS, TRAIN_ACCURACY, TEST_ACCURACY)


def table(comparison: Comparison, fmt: str = "github") -> str:
    """The compared checkpoints (a truncated run's unreached ones are counted in the reason, not listed)."""
    body = []
    for r in comparison.rows:
        if r.reproduced is not None:
            where = f"epoch {r.at}" if r.metric in EPOCH_METRICS else f"step {r.at}"
            reproduced = f"{r.reproduced:.6g}" if r.seeds == 1 else f"{r.reproduced:.4g} [{r.low:.4g}, {r.high:.4g}]"
            body.append([LABELS.get(r.metric, r.metric), where, repr(r.documented), reproduced,
                         f"{round(r.reproduced - r.documented, 4) + 0.0:+.4f}",
                         "none" if r.half_width is None else f"±{r.half_width:.4f}",
                         {True: "yes", False: "NO", None: "-"}[r.inside]])
    text = tabulate(body, headers=["metric", "at", "documented", "reproduced", "difference", "95% band", "inside"],
                    tablefmt=fmt, disable_numparse=True)
    if any(row[5] == "none" for row in body):
        text += f"\n\n{NO_BAND}"
    return text


# said under a table where a band is `none` (see `band` and `one_run_noise`)
NO_BAND = ("band none: no 95% band can be derived for that number (a batch loss needs at least 3 successive "
           "differences of its neighbours to measure its scatter; an epoch mean loss, the spread of the losses "
           "it averages), so it is shown but not counted in the verdict")
