"""`python -m rnnmnist.bench`: how fast the runner trains each variant, against the tutorial's own loop.

For each variant, in one process: a warm-up, then rounds that alternate a segment of the
runner and a segment of the bare tutorial loop (A B, then B A, ...) on the same graph and
batches, so that a noisy shared machine slows both alike; medians of steps/s and their ratio.
Then the evaluation throughput on the whole test set, the peak resident memory of that
evaluation, and a projection of the full schedule's wall time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import registry
from .dataset import DATA_DIR_ENV, DEFAULT_DATA_DIR, default_data_dir


@dataclass(frozen=True)
class Measurement:
    variant: str
    batch_size: int
    runner_steps_per_s: float
    bare_steps_per_s: float
    ratio: float                  # runner / bare
    eval_images_per_s: float      # whole test set
    eval_peak_rss_mib: float      # peak resident memory while evaluating the whole test set
    projected_full_s: float       # steps / runner speed + the schedule's evaluations
    rounds: int
    steps_per_segment: int


def _peak_rss_reset() -> None:
    with open("/proc/self/clear_refs", "w") as f:  # "5" resets the peak (VmHWM) to the current RSS
        f.write("5")


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(name: str, data_dir: Path, rounds: int, segment_s: float) -> Measurement:
    from . import runner
    from .bare import BareLoop

    variant = registry.load(name)
    # training throughput only: the schedule's whole-set evaluations are measured separately
    schedule = replace(variant.schedule, epoch_eval=(), final_test_images=0)
    a = runner.Training(variant, data_dir, variant.seed, schedule, echo=None)
    b = BareLoop(variant, data_dir, variant.seed, schedule)
    t = time.perf_counter()
    a.advance(10)
    b.advance(10)
    per_step = (time.perf_counter() - t) / 20
    n = max(10, int(segment_s / per_step))
    speeds: dict[str, list[float]] = {"runner": [], "bare": []}
    for r in range(rounds):
        order = (("runner", a), ("bare", b)) if r % 2 == 0 else (("bare", b), ("runner", a))
        for label, loop in order:
            t = time.perf_counter()
            done = loop.advance(n)
            speeds[label].append(done / (time.perf_counter() - t))
    test = a.mnist.test
    runner.evaluate(a.sess, a.g, test.images[:256], test.labels[:256], variant.feed_shape)  # warm-up
    _peak_rss_reset()
    t = time.perf_counter()
    runner.evaluate(a.sess, a.g, test.images, test.labels, variant.feed_shape)
    eval_s = time.perf_counter() - t
    peak = _peak_rss_mib()
    a.close()
    b.close()
    runner_speed, bare_speed = statistics.median(speeds["runner"]), statistics.median(speeds["bare"])
    s = variant.schedule
    sizes = s.sample_sizes()
    eval_images = s.epochs * sum(sizes[m] for m in s.epoch_eval) + s.final_test_images
    projected = len(s.steps) / runner_speed + eval_images * eval_s / len(test.images)
    return Measurement(name, s.batch_size, runner_speed, bare_speed, runner_speed / bare_speed,
                       len(test.images) / eval_s, peak, projected, rounds, n)


def table(rows: list[Measurement]) -> str:
    from tabulate import tabulate
    body = [[m.variant, m.batch_size, f"{m.runner_steps_per_s:.1f}", f"{m.bare_steps_per_s:.1f}",
             f"{m.runner_steps_per_s * m.batch_size:.0f}", f"{m.ratio:.3f}", f"{m.eval_images_per_s:.0f}",
             f"{m.eval_peak_rss_mib:.0f}", f"{m.projected_full_s / 60:.1f}"] for m in rows]
    total = sum(m.projected_full_s for m in rows)
    body.append(["all five", "", "", "", "", "", "", "", f"{total / 60:.1f}"])
    return tabulate(body, headers=["variant", "batch", "runner steps/s", "bare steps/s", "runner images/s",
                                   "runner / bare", "eval images/s", "eval peak RSS MiB", "full run, min"],
                    tablefmt="github", disable_numparse=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rnnmnist.bench", description=__doc__.splitlines()[0])
    p.add_argument("--variant", action="append", metavar="NAME", help="only these (repeatable; default: all)")
    p.add_argument("--rounds", type=int, default=6, help="alternating rounds per variant (default 6)")
    p.add_argument("--segment", type=float, default=2.0, metavar="S", help="seconds per segment (default 2)")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help=f"MNIST directory (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR}/)")
    p.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                   help="the JSON goes to DIR/bench/ (default: results/)")
    args = p.parse_args(argv)
    names = args.variant or registry.names()
    unknown = [n for n in names if n not in registry.names()]
    if unknown or args.rounds < 2 or args.segment <= 0:
        p.exit(2, f"{p.prog}: error: " + (f"unknown variant {unknown[0]!r}; known variants: "
                                          f"{', '.join(registry.names())}" if unknown else
                                          "--rounds must be at least 2 and --segment positive") + "\n")
    from . import results
    from .tfcompat import tf
    rows = []
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        rows.append(measure(name, args.data_dir or default_data_dir(), args.rounds, args.segment))
    print(table(rows))
    record = {"kind": "bench", "measurements": [asdict(m) for m in rows], "command": results.command_line(),
              "provenance": results.provenance(tf.__version__)}
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    print(f"saved {results.write_json(args.out / 'bench', stamp, record)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
