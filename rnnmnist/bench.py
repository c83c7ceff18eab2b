"""`python -m rnnmnist.bench`: how fast the runner trains each variant, against the tutorial's own loop.

For each variant: the runner and the bare tutorial loop (its default tf.Session, one sess.run
per call), each in a worker process of its own, train in short alternating segments (A B, then
B A, ...) on the same graph and batches, so that a noisy shared machine slows both alike;
medians of steps/s, and runner / bare as the median of the rounds' ratios with its 95%
confidence interval (whether the runner is faster is a question about a few per cent, and this
machine's noise moves a single round by ten). Then the evaluation throughput on the whole test
set and the runner worker's peak resident memory through it (a process like a real run's), and a
projection of the full schedule's wall time. Last, two runners with cores // 2 threads each
train side by side from the same moment (what `reproduce --jobs 2` does): their speed
projects the five-variant run with --jobs 2.

With `--impls` (default: all that can run here), the same rounds also time the tutorial's Keras 3
version, trained by the Keras runner in one worker process per kind (rnnmnist.bench_impls: eager,
tf.function, XLA, JAX), each on the same batches: Keras / TF1 runner per kind, as above.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import bench_impls, registry, tflogs
from .bench_impls import Implementation
from .cluster import threads_per_job
from .places import EVIDENCE, RUNS
from .spec import Schedule
from .usage import Parser


@dataclass(frozen=True)
class Measurement:
    variant: str
    batch_size: int
    runner_steps_per_s: float
    bare_steps_per_s: float
    ratio: float                  # runner / bare: the median of round_ratios
    eval_images_per_s: float      # whole test set
    projected_full_s: float       # steps / runner speed + the schedule's evaluations
    rounds: int
    steps_per_segment: int
    paired_steps_per_s: float = 0.0   # each of two side-by-side one-thread workers (--jobs 2)
    projected_jobs2_s: float = 0.0    # the full schedule at that speed
    eval_peak_rss_mib: float = 0.0    # a worker's peak resident memory, whole-test-set evaluation included
    round_ratios: tuple[float, ...] = ()  # runner / bare within each round: how far apart the noise puts them
    ratio_ci95: tuple[float, float] | None = None  # of the median; None with too few rounds


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Worker:
    """A process that trains one variant on command: the runner, the tutorial's bare loop, or the Keras
    runner as one of bench_impls.KINDS (a process that never imports rnnmnist.tfcompat).

    TensorFlow's thread pools belong to the process (the first session sizes them), so the
    runner's one-thread sessions and the tutorial's default session can only be compared, and
    run side by side, in processes of their own.
    """

    def __init__(self, name: str, kind: str, data_dir: Path, threads: int = 0):  # 0: the runner's default
        self.proc = subprocess.Popen([sys.executable, "-m", "rnnmnist.bench", "--worker", name, "--kind", kind,
                                      "--threads", str(threads), "--data-dir", str(data_dir)],
                                     text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.name = f"{name} ({kind})"

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench worker for {self.name} failed (exit code {self.proc.wait()})")
        return json.loads(line)

    def ask(self, command: str) -> dict:
        self.send(command)
        return self.reply()

    def close(self) -> None:
        self.send("quit")
        self.proc.wait()


def _serve(name: str, kind: str, data_dir: Path, threads: int) -> None:
    """The worker's side: `advance N`, `time S` (train S seconds), `eval` (the whole test set; TF1 kinds), `quit`."""
    variant = registry.load(name)
    schedule = bench_schedule(variant.schedule)
    if kind in bench_impls.KINDS:
        loop, evaluate = bench_impls.training(variant, data_dir, schedule, threads, kind), None
    else:
        from . import runner
        from .bare import BareLoop
        from .plan import Plan
        from .request import RunRequest
        plan = Plan.of(variant, RunRequest(variant.name, variant.seed, data_dir=data_dir, out=None), schedule, threads)
        loop = (runner.Training(plan, echo=None) if kind == "runner"
                else BareLoop(variant, data_dir, variant.seed, schedule))

        def evaluate(pixels, labels) -> None:
            runner.evaluate(loop.sess, loop.g, pixels, labels, variant.feed_shape)
    loop.advance(warm_up(schedule))
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "quit":
            break
        t, done, images = time.perf_counter(), 0, 0
        if command == "advance":
            done = loop.advance(int(arg))
        elif command == "time":
            while time.perf_counter() - t < float(arg):
                done += loop.advance(5)
        elif command == "eval" and evaluate:
            test = loop.mnist.test
            pixels, images = test.images, test.num_examples  # scaled once, as the runner does
            evaluate(pixels[:256], test.labels[:256])  # warm-up
            t = time.perf_counter()
            evaluate(pixels, test.labels)
        seconds = time.perf_counter() - t
        print(json.dumps({"steps": done, "images": images, "seconds": seconds, "peak_rss_mib": _peak_rss_mib()}),
              flush=True)


def measure(name: str, data_dir: Path, rounds: int, segment_s: float, paired_s: float,
            kinds: tuple[str, ...] = ()) -> tuple[Measurement, list[Implementation]]:
    """Runner, tutorial loop and the Keras `kinds` alternated; then the evaluation; then two runners side by side."""
    variant = registry.load(name)
    kinds = kinds if variant.keras is not None else ()  # a tutorial without a Keras 3 version: TF1 alone
    # bare: the tutorial's tf.Session(); each Keras kind in a process without TF1 semantics
    workers = {label: Worker(name, label, data_dir) for label in ("runner", "bare", *kinds)}
    for w in workers.values():
        w.reply()
    a = workers["runner"]
    first = a.ask("advance 10")
    for label in ("bare", *kinds):  # every worker at the same step: each segment trains the same batches
        workers[label].ask("advance 10")
    n = max(2, round(segment_s / (first["seconds"] / 10)))
    speeds: dict[str, list[float]] = {label: [] for label in workers}
    order = list(workers)
    for r in range(rounds):
        # A B C ..., then ... C B A: a slow linear drift of the machine weighs on every worker alike
        for label in order if r % 2 == 0 else order[::-1]:
            got = workers[label].ask(f"advance {n}")
            speeds[label].append(got["steps"] / got["seconds"])
    for label in ("bare", *kinds):
        workers[label].close()
    evaluation = a.ask("eval")
    eval_speed = evaluation["images"] / evaluation["seconds"]
    runner_speed, bare_speed = statistics.median(speeds["runner"]), statistics.median(speeds["bare"])
    # Each round's two segments train the same steps moments apart: their ratio cancels the
    # machine's slower swings, which a ratio of the two medians would keep.
    round_ratios = _round_ratios(speeds["runner"], speeds["bare"])
    steps = len(variant.schedule.steps)
    eval_share = _eval_images(variant) / eval_speed
    m = Measurement(name, variant.schedule.batch_size, runner_speed, bare_speed, statistics.median(round_ratios),
                    eval_speed, steps / runner_speed + eval_share, rounds, n,
                    eval_peak_rss_mib=evaluation["peak_rss_mib"], round_ratios=round_ratios,
                    ratio_ci95=median_ci95(round_ratios))
    a.close()
    if paired_s > 0:  # what --jobs 2 does: two runners side by side, cores // 2 threads each
        pair = [Worker(name, "runner", data_dir, threads=threads_per_job(2)) for _ in range(2)]
        for w in pair:
            w.reply()
        for w in pair:
            w.send(f"time {paired_s}")
        both = [w.reply() for w in pair]
        for w in pair:
            w.close()
        speed = statistics.mean(r["steps"] / r["seconds"] for r in both)
        # the evaluations also run beside the other worker: scale them as the training steps scale
        m = replace(m, paired_steps_per_s=speed, projected_jobs2_s=(steps + eval_share * runner_speed) / speed)
    return m, [_implementation(name, kind, speeds[kind], speeds["runner"], n) for kind in kinds]


def _round_ratios(these: list[float], those: list[float]) -> tuple[float, ...]:
    return tuple(x / y for x, y in zip(these, those))


def _implementation(name: str, kind: str, speeds: list[float], runner: list[float], n: int) -> Implementation:
    ratios = _round_ratios(speeds, runner)
    return Implementation(name, kind, bench_impls.KINDS[kind][0], statistics.median(speeds), statistics.median(runner),
                          statistics.median(ratios), len(ratios), n, ratios, median_ci95(ratios))


def warm_up(schedule: Schedule) -> int:
    """Steps a worker trains before it is timed: 10, and through the first printed checkpoint (where the
    Keras runner compiles its evaluation function)."""
    printed = [i for i, step in enumerate(schedule.steps[:1000]) if schedule.is_checkpoint(step)]
    return max(10, printed[0] + 1 if printed else 0)


def bench_schedule(schedule: Schedule) -> Schedule:
    """Training throughput only: no whole-set evaluations (measured apart), and steps that never run out.

    The steps go on past the tutorial's last one with the same stride and print cadence, so that
    any number of rounds fits (morvan's whole schedule is 782 steps).
    """
    s = schedule.steps
    return replace(schedule, steps=range(s.start, s.start + s.step * 10**9, s.step), epoch_eval=(),
                   final_test_images=0)


def median_ci95(values: tuple[float, ...] | list[float]) -> tuple[float, float] | None:
    """A distribution-free 95% confidence interval for the median: two order statistics.

    The k-th smallest and k-th largest of n values bound the median with probability
    1 - 2 P(B < k), B ~ Binomial(n, 1/2); k is the largest that keeps this at least 95%.
    It takes rounds as independent, which a drifting machine makes them only roughly.
    None below 6 values, where even the smallest and largest cover less than 95%.
    """
    v, n = sorted(values), len(values)
    k, below = 0, 0.0  # below: P(B < k)
    while (below := below + math.comb(n, k) / 2 ** n) <= 0.025:  # now P(B < k + 1)
        k += 1
    return (v[k - 1], v[n - k]) if k else None


def _eval_images(variant) -> int:
    s = variant.schedule
    sizes = s.sample_sizes()
    return s.epochs * sum(sizes[m] for m in s.epoch_eval) + s.final_test_images


def makespan(durations: list[float], workers: int) -> float:
    """In the order given, each to the first free worker: what --jobs does with --variant all."""
    loads = [0.0] * workers
    for d in durations:
        loads[loads.index(min(loads))] += d
    return max(loads)


def _ratio(m: Measurement) -> str:
    ci = f" ({m.ratio_ci95[0]:.3f}-{m.ratio_ci95[1]:.3f})" if m.ratio_ci95 else ""
    return f"{m.ratio:.3f}{ci}"


def table(rows: list[Measurement]) -> str:
    from tabulate import tabulate
    body = [[m.variant, m.batch_size, f"{m.runner_steps_per_s:.1f}", f"{m.bare_steps_per_s:.1f}",
             f"{m.runner_steps_per_s * m.batch_size:.0f}", _ratio(m), f"{m.eval_images_per_s:.0f}",
             f"{m.eval_peak_rss_mib:.0f}", f"{m.projected_full_s / 60:.1f}",
             *((f"{m.paired_steps_per_s:.1f}", f"{m.projected_jobs2_s / 60:.1f}") if m.paired_steps_per_s
               else ("-", "-"))] for m in rows]  # "-": --paired 0 skipped them
    total = sum(m.projected_full_s for m in rows)
    jobs2 = (f"{makespan([m.projected_jobs2_s for m in rows], 2) / 60:.1f} (--jobs 2)"
             if all(m.paired_steps_per_s for m in rows) else "-")
    body.append([f"all {len(rows)}", "", "", "", "", "", "", "", f"{total / 60:.1f}", "", jobs2])
    return tabulate(body, headers=["variant", "batch", "runner steps/s", "bare steps/s", "runner images/s",
                                   "runner / bare (95% CI)", "eval images/s", "peak RSS MiB", "full run, min",
                                   "steps/s, 2 side by side", "full run --jobs 2, min"],
                    tablefmt="github", disable_numparse=True)


def _parser() -> Parser:
    p = Parser(prog="python -m rnnmnist.bench", description=__doc__.splitlines()[0])
    p.add_argument("--variant", action="append", metavar="NAME", help="only these (repeatable; default: all)")
    p.add_argument("--rounds", type=int, default=24, help="alternating rounds per variant (default 24)")
    p.add_argument("--segment", type=float, default=0.5, metavar="S", help="seconds per segment (default 0.5)")
    p.add_data_dir()
    p.add_argument("--out", type=Path, default=RUNS, metavar="DIR",
                   help=f"the JSON goes to DIR/bench/ (default: {RUNS}/; the committed benchmarks: --out {EVIDENCE})")
    p.add_argument("--paired", type=float, default=6.0, metavar="S",
                   help="seconds the two side-by-side workers train (default 6; 0 skips them)")
    p.add_argument("--impls", metavar="KINDS",
                   help=f"the Keras 3 versions timed against the TF1 runner, comma-separated: "
                        f"{', '.join(bench_impls.KINDS)}, or {bench_impls.NONE} (default: all; "
                        f"keras-jax only where JAX is installed)")
    p.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    p.add_argument("--kind", choices=("runner", "bare", *bench_impls.KINDS), default="runner", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    given = p.settings()
    tflogs.show(given.verbose)
    data_dir = p.data_dir(args, given)
    if args.worker:
        _serve(args.worker, args.kind, data_dir, args.threads)
        return 0
    started = time.perf_counter()
    names = args.variant or registry.names()
    unknown = [n for n in names if n not in registry.names()]
    if unknown or args.rounds < 2 or args.segment <= 0:
        p.exit(2, f"{p.prog}: error: " + (f"unknown variant {unknown[0]!r}; known variants: "
                                          f"{', '.join(registry.names())}" if unknown else
                                          "--rounds must be at least 2 and --segment positive") + "\n")
    try:
        kinds, skipped = bench_impls.chosen(args.impls)
    except ValueError as e:
        p.exit(2, f"{p.prog}: error: {e}\n")
    p.check_out(args.out, "bench")
    for kind, why in skipped.items():
        print(f"{p.prog}: note: {kind} skipped: {why}", file=sys.stderr)
    return _measure_and_save(names, args, data_dir, kinds, skipped, started)


def _measure_and_save(names: list[str], args, data_dir: Path, kinds, skipped: dict, started: float) -> int:
    """Each variant measured in turn; the tables printed; the record written under OUT/bench/."""
    from . import results
    from .tfcompat import tf
    rows, impls = [], []
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, end="", flush=True)
        t = time.perf_counter()
        m, keras_rows = measure(name, data_dir, args.rounds, args.segment, args.paired, kinds)
        rows.append(m)
        impls.extend(keras_rows)
        print(f" {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    print(table(rows))
    if impls:
        print("\n" + bench_impls.table(impls))
    record = {"kind": "bench", "measurements": [asdict(m) for m in rows], "command": results.command_line(),
              "implementations": {"kinds": list(kinds), "skipped": skipped, "versions": bench_impls.versions(kinds),
                                  "measurements": [asdict(m) for m in impls]},
              "seeds": {name: registry.load(name).seed for name in names},  # what each variant's workers train with
              "wall_time_s": time.perf_counter() - started,
              "provenance": results.provenance(tf.__version__)}
    print(f"saved {results.write_json(args.out / 'bench', results.utc_stamp(), record)}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
