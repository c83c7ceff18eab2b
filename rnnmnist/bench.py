"""`python -m rnnmnist.bench`: how fast the runner trains each variant, against the tutorial's own loop.

For each variant, in one process: a warm-up, then rounds that alternate a segment of the
runner and a segment of the bare tutorial loop (A B, then B A, ...) on the same graph and
batches, so that a noisy shared machine slows both alike; medians of steps/s and their ratio.
Then the evaluation throughput on the whole test set, and a projection of the full schedule's
wall time. Last, two copies of the variant train side by side in worker processes with one
thread each (what `reproduce --jobs 2` does): their speed projects the five-variant run with
--jobs 2, and each worker, a process like a real run's, reports its peak resident memory
through a whole-test-set evaluation.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
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
    projected_full_s: float       # steps / runner speed + the schedule's evaluations
    rounds: int
    steps_per_segment: int
    paired_steps_per_s: float = 0.0   # each of two side-by-side one-thread workers (--jobs 2)
    projected_jobs2_s: float = 0.0    # the full schedule at that speed
    eval_peak_rss_mib: float = 0.0    # a worker's peak resident memory, whole-test-set evaluation included


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
    t = time.perf_counter()
    runner.evaluate(a.sess, a.g, test.images, test.labels, variant.feed_shape)
    eval_s = time.perf_counter() - t
    a.close()
    b.close()
    runner_speed, bare_speed = statistics.median(speeds["runner"]), statistics.median(speeds["bare"])
    eval_share = _eval_images(variant) * eval_s / test.num_examples
    return Measurement(name, variant.schedule.batch_size, runner_speed, bare_speed, runner_speed / bare_speed,
                       test.num_examples / eval_s, len(variant.schedule.steps) / runner_speed + eval_share,
                       rounds, n)


def _eval_images(variant) -> int:
    s = variant.schedule
    sizes = s.sample_sizes()
    return s.epochs * sum(sizes[m] for m in s.epoch_eval) + s.final_test_images


def paired(m: Measurement, data_dir: Path, seconds: float) -> Measurement:
    """Two workers train `m.variant` side by side, one thread each, from the same moment."""
    from .parallel import THREADS_ENV
    env = {**os.environ, THREADS_ENV: "1"}
    argv = [sys.executable, "-m", "rnnmnist.bench", "--worker", m.variant, "--segment", str(seconds),
            "--data-dir", str(data_dir)]
    workers = [subprocess.Popen(argv, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
               for _ in range(2)]
    for w in workers:  # each has imported TensorFlow, built its graph and warmed up
        if w.stdout.readline().strip() != "ready":
            raise RuntimeError(f"bench worker for {m.variant} failed (exit code {w.wait()})")
    for w in workers:
        w.stdin.write("go\n")
        w.stdin.flush()
    reports = [json.loads(w.communicate()[0]) for w in workers]
    speed = statistics.mean(r["steps_per_s"] for r in reports)
    variant = registry.load(m.variant)
    # the evaluations also run at one thread per worker: scale them as the training steps scale
    eval_share = (m.projected_full_s - len(variant.schedule.steps) / m.runner_steps_per_s) * m.runner_steps_per_s / speed
    return replace(m, paired_steps_per_s=speed, projected_jobs2_s=len(variant.schedule.steps) / speed + eval_share,
                   eval_peak_rss_mib=max(r["peak_rss_mib"] for r in reports))


def _worker(name: str, data_dir: Path, seconds: float) -> None:
    """One side of `paired`: say ready, wait for go, train for `seconds`, evaluate the test set."""
    from . import runner
    variant = registry.load(name)
    schedule = replace(variant.schedule, epoch_eval=(), final_test_images=0)
    a = runner.Training(variant, data_dir, variant.seed, schedule, echo=None)
    a.advance(10)
    print("ready", flush=True)
    sys.stdin.readline()
    t, done = time.perf_counter(), 0
    while time.perf_counter() - t < seconds:
        done += a.advance(5)
    speed = done / (time.perf_counter() - t)
    test = a.mnist.test
    runner.evaluate(a.sess, a.g, test.images, test.labels, variant.feed_shape)
    print(json.dumps({"steps_per_s": speed, "peak_rss_mib": _peak_rss_mib()}), flush=True)


def makespan(durations: list[float], workers: int) -> float:
    """In the order given, each to the first free worker: what --jobs does with --variant all."""
    loads = [0.0] * workers
    for d in durations:
        loads[loads.index(min(loads))] += d
    return max(loads)


def table(rows: list[Measurement]) -> str:
    from tabulate import tabulate
    body = [[m.variant, m.batch_size, f"{m.runner_steps_per_s:.1f}", f"{m.bare_steps_per_s:.1f}",
             f"{m.runner_steps_per_s * m.batch_size:.0f}", f"{m.ratio:.3f}", f"{m.eval_images_per_s:.0f}",
             f"{m.eval_peak_rss_mib:.0f}", f"{m.projected_full_s / 60:.1f}", f"{m.paired_steps_per_s:.1f}",
             f"{m.projected_jobs2_s / 60:.1f}"] for m in rows]
    total = sum(m.projected_full_s for m in rows)
    jobs2 = makespan([m.projected_jobs2_s for m in rows], 2)
    body.append([f"all {len(rows)}", "", "", "", "", "", "", "", f"{total / 60:.1f}", "",
                 f"{jobs2 / 60:.1f} (--jobs 2)"])
    return tabulate(body, headers=["variant", "batch", "runner steps/s", "bare steps/s", "runner images/s",
                                   "runner / bare", "eval images/s", "peak RSS MiB", "full run, min",
                                   "steps/s, 2 side by side", "full run --jobs 2, min"],
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
    p.add_argument("--paired", type=float, default=6.0, metavar="S",
                   help="seconds the two side-by-side workers train (default 6; 0 skips them)")
    p.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.data_dir or default_data_dir(), args.segment)
        return 0
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
        m = measure(name, args.data_dir or default_data_dir(), args.rounds, args.segment)
        rows.append(paired(m, args.data_dir or default_data_dir(), args.paired) if args.paired > 0 else m)
    print(table(rows))
    record = {"kind": "bench", "measurements": [asdict(m) for m in rows], "command": results.command_line(),
              "provenance": results.provenance(tf.__version__)}
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    print(f"saved {results.write_json(args.out / 'bench', stamp, record)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
