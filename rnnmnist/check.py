"""`python -m rnnmnist.check --variant NAME FILE`: any curve judged, against the documented numbers and the seeds.

FILE is the output a tutorial's own loop printed (a learner's log, an original notebook's output)
or a CSV of step (or epoch) and metric columns (a port to another framework); `rnnmnist.readcurve`
reads either. The curve is compared twice:

1. With the tutorial's documented numbers, as a run is (`compare.compare`: the 95% bands and the
   verdict of docs/verdicts.md).
2. With the committed seed band: the complete, whole-schedule runs of the variant under its own
   TensorFlow era in --results DIR (results/ of a clone), pooled as the report pools them.
   At each checkpoint where the file and every seed have a number, the file's number is *inside the
   seed band* when it lies between the seeds' smallest and largest number there, widened only by
   half the last digit the file printed it with (a printed number is a rounding).
   Why this band, and not a wider one: if the file's run is one more run of the same process, an
   exchangeable draw beside the K seeds, it falls outside their range with probability at most
   2/(K+1) (1/3 for 5 seeds), whatever the metric's distribution; ties only make it less. The
   seeds' own numbers already carry the measurement noise (a batch of 128, a test set of 10,000)
   that the file's carries, so widening the range by it would count that noise twice. The verdict
   counts the checkpoints outside against Binomial(N, 2/(K+1)) as compare does against
   Binomial(N, 0.05): more than its 99th percentile means the curve does not behave like the seeds.
   Like compare, it treats checkpoints as independent; a run that is slow all through (whole-set
   accuracies, where the seeds' spread dominates) misses in runs of checkpoints, so "outside" is
   said somewhat more often than 1% for those. Below 5 seeds the verdict is inconclusive.

A log cut short is compared over what it reached, and both verdicts say it was cut.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from tabulate import tabulate

from . import compare, readcurve, registry, report, results
from .curve import Point
from .spec import Variant

WITHIN, OUTSIDE = "within the seed band", "outside the seed band"
LISTED = 50  # a band table longer than this lists only the checkpoints outside


@dataclass(frozen=True)
class BandRow:
    metric: str
    at: int
    value: float
    low: float
    high: float
    inside: bool


@dataclass(frozen=True)
class Band:
    rows: tuple[BandRow, ...]
    seeds: int
    allowed_outside: int
    verdict: str
    reason: str

    @property
    def inside(self) -> int:
        return sum(r.inside for r in self.rows)


def outside_chance(seeds: int) -> float:
    """The probability that one more run of the same process falls outside K seeds' range: 2/(K+1)."""
    return 2 / (seeds + 1)


def seed_band(points: list[Point], seed_curves: list[list[Point]], resolution: dict | None = None) -> Band:
    """The file's points against the range of the seeds' points, checkpoint by checkpoint (module docstring)."""
    k, resolution = len(seed_curves), resolution or {}
    indexed = [{(p.metric, p.at): p.value for p in curve} for curve in seed_curves]
    rows = []
    for p in points:
        values = [seed[(p.metric, p.at)] for seed in indexed if (p.metric, p.at) in seed]
        if len(values) < k:  # not a number every seed measured: no range to be inside
            continue
        r = resolution.get((p.metric, p.at), 0.0)
        rows.append(BandRow(p.metric, p.at, p.value, min(values), max(values),
                            min(values) - r <= p.value <= max(values) + r))
    chance = outside_chance(k)
    allowed = compare.allowed_misses(len(rows), alpha=chance)
    outside = len(rows) - sum(r.inside for r in rows)
    if not rows:
        return Band((), k, 0, compare.NOT_REACHED, "no number of the file is at a checkpoint the seeds measured")
    counted = (f"{len(rows) - outside} of {len(rows)} checkpoints inside the range of {k} seeds; a run like them "
               f"falls outside with probability {chance:.2f} at each, so chance alone allows {allowed} outside")
    if outside > allowed:
        verdict = OUTSIDE
    elif k < compare.MIN_SEEDS:
        return Band(tuple(rows), k, allowed, compare.INCONCLUSIVE,
                    f"too few seeds (need {compare.MIN_SEEDS}): {counted}")
    else:
        verdict = WITHIN
    return Band(tuple(rows), k, allowed, verdict, counted)


def band_table(band: Band, fmt: str = "github") -> str:
    """The band's checkpoints (only those outside, when there are more than LISTED)."""
    shown = band.rows if len(band.rows) <= LISTED else [r for r in band.rows if not r.inside]
    body = [[compare.LABELS.get(r.metric, r.metric),
             f"epoch {r.at}" if r.metric in compare.EPOCH_METRICS else f"step {r.at}",
             f"{r.value:.6g}", f"[{r.low:.6g}, {r.high:.6g}]", "yes" if r.inside else "NO"] for r in shown]
    text = tabulate(body, headers=["metric", "at", "this file", f"{band.seeds} seeds' range", "inside"],
                    tablefmt=fmt, disable_numparse=True) if body else ""
    if len(shown) < len(band.rows):
        text += f"\n\n(the {len(band.rows) - len(shown)} checkpoints inside the range are not listed)"
    return text.strip()


def describe(band: Band) -> str:
    if band.verdict == compare.INCONCLUSIVE:
        return f"{band.verdict}: {band.reason}"
    return f"{band.verdict} ({band.reason})"


def committed_evidence() -> Path | None:
    """results/ of the clone this code runs from; None in an installed package, which has none."""
    root = Path(__file__).resolve().parent.parent
    evidence = root / "results"
    return evidence if (root / "pyproject.toml").is_file() and evidence.is_dir() else None


def seed_runs(variant: Variant, directory: Path) -> list[dict]:
    """The records of the committed seeds of the variant, without fixes, under its own era (report.collect's pools)."""
    names = [f"{variant.name}/{path.name}" for path in sorted((directory / variant.name).glob("*.json"))]
    if not names:
        return []
    groups, _ = report.collect(directory, only=names)
    return [record for _, record in groups.get((variant.name, (), variant.era, "tf1"), [])]


def how_far(reading: readcurve.Reading, total: int) -> str:
    """How far a cut file got: `181 of 782 steps`, or, cut after the last step, before the closing lines."""
    return (f"{reading.steps_reached} of {total} steps" if reading.steps_reached < total
            else "after the last step, before the tutorial's closing lines")


def cut(reading: readcurve.Reading, total: int) -> str:
    """What a verdict over a cut file says first; empty for a whole one."""
    return "" if reading.complete else (f"cut short: it ends at {reading.last}, {how_far(reading, total)}; "
                                        "compared over what it reached: ")


def check(variant: Variant, path: Path, evidence: Path | None) -> list[str]:
    """The lines the command prints. readcurve.CurveFileError for a file with no curve; results.ResultsError
    for committed evidence that cannot be trusted."""
    reading = readcurve.read(variant, path)
    schedule, total = variant.schedule, len(variant.schedule.steps)
    prefix = cut(reading, total)
    lines = [f"{variant.name}: {path} read as {reading.form}: {len(reading.points)} numbers, up to {reading.last}"
             + (f"; {reading.skipped} other lines skipped" if reading.skipped else "")
             + ("" if reading.complete else f"; CUT SHORT ({how_far(reading, total)})")]
    documented = compare.compare(reading.points, variant.reference, schedule.sample_sizes())
    if prefix:
        documented = replace(documented, reason=prefix + documented.reason)
    lines.append("")
    if documented.reference and documented.compared:
        lines += [f"against the documented numbers: {documented.reference}",
                  *compare.table(documented).splitlines()]
    lines += [f"verdict: {compare.describe(documented)}", *compare.also_lines(documented), ""]
    if evidence is None:
        return lines + ["no committed seed band here (an installed package has no results/; give --results DIR "
                        "of a clone): compared with the documented numbers only"]
    records = seed_runs(variant, evidence)
    where = f"{variant.name} under TF {variant.era} (its own era) in {evidence}"
    if len(records) < 2:
        return lines + [f"no committed seed band: {len(records)} complete run of {where}"]
    band = seed_band(reading.points, [results.curve_of(r) for r in records], reading.resolution)
    if prefix:
        band = replace(band, reason=prefix + band.reason)
    lines.append(f"against the committed seed band: {len(records)} seeds of {where}")
    table = band_table(band)
    return lines + (table.splitlines() if table else []) + [f"seed band: {describe(band)}"]


def main(argv: list[str] | None = None) -> int:
    from .usage import Parser, stdout_closed
    p = Parser(prog="python -m rnnmnist.check", description=__doc__.split(":", 1)[1].split("\n")[0].strip())
    p.add_argument("--variant", metavar="NAME", required=True, choices=registry.names(),
                   help=f"the tutorial the curve is of: {', '.join(registry.names())}")
    p.add_argument("file", type=Path, metavar="FILE",
                   help="the tutorial's printed output, or a CSV with a header row of step (or epoch) and metric "
                        f"columns ({', '.join(readcurve.METRICS)})")
    p.add_argument("--results", type=Path, metavar="DIR",
                   help="the committed runs whose seeds make the band (default: results/ of this clone; an "
                        "installed package has none)")
    args = p.parse_args(argv)
    if args.results is not None and not args.results.is_dir():
        p.error(f"--results {args.results}: no such directory; give the directory the runs were saved in")
    variant = registry.load(args.variant)
    try:
        lines = check(variant, args.file, args.results or committed_evidence())
    except readcurve.CurveFileError as e:
        p.error(f"{args.file}: {e}; {readcurve.formats(variant)}")
    except results.ResultsError as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 1
    try:
        print("\n".join(lines), flush=True)
    except BrokenPipeError:  # `| head`: the reader went away; nothing more to say
        return stdout_closed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
