"""`python -m rnnmnist.bench_cluster`: what running an ensemble on Dask costs, and how it scales on one machine.

One ensemble (a variant's seeds, each cut to --steps) is run whole by the command line, timed
from the outside as a user waits for it: one after another (--jobs 1), on a Dask LocalCluster of
N workers for each N of --workers, and on the hand-written pool that Dask replaced, with 2 at a
time. The configurations take turns within each round, in an order that rotates from round to
round, so that a noisy machine slows them alike. Reported: each one's median wall time, its
speed-up over one after another, and Dask / pool with 2 at a time as the median of the rounds'
ratios with its 95% confidence interval (the overhead the engine adds).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import registry
from .bench import median_ci95
from .dataset import default_data_dir
from .results import EVIDENCE, RUNS

ENGINES = ("dask", "pool")  # the pool is measured only while it still exists


def configurations(workers: list[int]) -> list[tuple[str, int]]:
    """(engine, runs at once): one after another, Dask with each worker count, the pool with 2."""
    return [("sequential", 1), *(("dask", n) for n in workers), *((("pool", 2),) if "pool" in ENGINES else ())]


def name_of(engine: str, n: int) -> str:
    return "one after another" if engine == "sequential" else f"{engine}, {n} at a time"


def time_one(engine: str, n: int, variant: str, seeds: int, steps: int, data_dir: Path) -> float:
    """Seconds for the whole command, as a user waits for it (a process start and TensorFlow's import included)."""
    args = ["--variant", variant, "--seeds", str(seeds), "--steps", str(steps), "--quiet", "--data-dir", str(data_dir)]
    if engine != "sequential":
        args += ["--jobs", str(n), "--engine", engine]
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "rnnmnist.reproduce", *args, "--out", out],
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{name_of(engine, n)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rnnmnist.bench_cluster", description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="morvan", choices=registry.names())
    p.add_argument("--seeds", type=int, default=4, help="runs in the ensemble (default 4)")
    p.add_argument("--steps", type=int, default=200, help="steps of each run (default 200)")
    p.add_argument("--rounds", type=int, default=3, help="rounds, each configuration once per round (default 3)")
    p.add_argument("--workers", default="1,2,4", help="Dask worker counts to time (default 1,2,4)")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR")
    p.add_argument("--out", type=Path, default=RUNS, metavar="DIR",
                   help=f"the JSON goes to DIR/bench/ (default: {RUNS}/; the committed ones: --out {EVIDENCE})")
    args = p.parse_args(argv)
    workers = [int(n) for n in args.workers.split(",")]
    from tabulate import tabulate
    from . import results
    from .tfcompat import tf
    started = time.perf_counter()
    configs = configurations(workers)
    walls: dict[str, list[float]] = {name_of(*c): [] for c in configs}
    ratios: list[float] = []
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        this_round = {}
        for engine, n in order:
            print(f"round {r + 1}: {name_of(engine, n)} ...", file=sys.stderr, end="", flush=True)
            this_round[(engine, n)] = time_one(engine, n, args.variant, args.seeds, args.steps,
                                               args.data_dir or default_data_dir())
            walls[name_of(engine, n)].append(this_round[(engine, n)])
            print(f" {this_round[(engine, n)]:.1f} s", file=sys.stderr, flush=True)
        if ("dask", 2) in this_round and ("pool", 2) in this_round:
            ratios.append(this_round[("dask", 2)] / this_round[("pool", 2)])
    median = {name: sorted(w)[len(w) // 2] for name, w in walls.items()}
    one_by_one = median[name_of("sequential", 1)]
    rows = [[name, f"{median[name]:.1f}", f"{one_by_one / median[name]:.2f}", " ".join(f"{w:.1f}" for w in walls[name])]
            for name in walls]
    print(tabulate(rows, headers=["configuration", "median wall s", "speed-up", "each round, s"], tablefmt="github"))
    overhead = None
    if ratios:
        ratios.sort()
        overhead = {"median": ratios[len(ratios) // 2], "rounds": ratios, "ci95": median_ci95(ratios)}
        print(f"Dask / pool, 2 at a time: {overhead['median']:.3f} (rounds: {', '.join(f'{x:.3f}' for x in ratios)})")
    record = {"kind": "bench-cluster", "variant": args.variant, "seeds": args.seeds, "steps": args.steps,
              "rounds": args.rounds, "wall_s": walls, "median_wall_s": median, "dask_over_pool_jobs2": overhead,
              "command": results.command_line(), "wall_time_s": time.perf_counter() - started,
              "provenance": results.provenance(tf.__version__)}
    print(f"saved {results.write_json(args.out / 'bench', 'cluster-' + results.utc_stamp(), record)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
