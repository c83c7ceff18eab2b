"""`python -m rnnmnist.bench_cluster`: what running an ensemble on Dask costs, and how it scales on one machine.

One ensemble (a variant's seeds, each cut to --steps) is run whole by the command line, timed
from the outside as a user waits for it: one after another (--jobs 1), and on a Dask
LocalCluster of N workers for each N of --workers. The configurations take turns within each
round, in an order that rotates from round to round, so that a noisy machine slows them alike.
Reported: each one's median wall time and its speed-up over one after another.

The hand-written process pool that Dask replaced was timed against it by this benchmark while
the code still had both (`results/bench/cluster-20261129T140035Z.json` and
`cluster-20261129T141431Z.json`, each with the commit it ran; `dask_over_pool_jobs2`: Dask / pool
with 2 at a time, the median of the rounds' ratios).

`--project FILE ...` projects, on paper, an ensemble of every tutorial on K machines from a
benchmark of `python -m rnnmnist.bench` (its full-run times with two runs side by side).
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import registry
from .bench import makespan
from .places import EVIDENCE, RUNS
from .usage import Parser, positive

def name_of(n: int) -> str:
    """A configuration by how many run at once: 1 is one after another, more are Dask workers."""
    return "one after another" if n == 1 else f"dask, {n} at a time"


class RunFailed(Exception):
    """A timed command failed: nothing it measured is kept."""


def time_one(n: int, variant: str, seeds: int, steps: int, data_dir: Path) -> float:
    """Seconds for the whole command, as a user waits for it (a process start and TensorFlow's import included)."""
    args = ["--variant", variant, "--seeds", str(seeds), "--steps", str(steps), "--quiet", "--data-dir", str(data_dir),
            "--jobs", str(n)]
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "rnnmnist.reproduce", *args, "--out", out],
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["nothing on stderr"])[-1]
        raise RunFailed(f"{name_of(n)}: python -m rnnmnist.reproduce {' '.join(args)} exited with {done.returncode} "
                        f"({said})")
    return elapsed


MACHINES = (1, 2, 5, 10, 25, 50)
PROJECTED_SEEDS = 20


def projection(bench: dict, seeds: int = PROJECTED_SEEDS, machines: tuple[int, ...] = MACHINES) -> list[float]:
    """Seconds for `seeds` seeds of every tutorial on each number of 2-core machines, two runs at a time on each.

    The runs in the order `--variant all --seeds K` submits them, each to the first free slot (what
    Dask does with them), each as long as the benchmark's full run with two side by side. Leaves
    out what the engine adds (about a second per ensemble: the benchmark above) and the transfer
    of the results (a few hundred kB per run).
    """
    per_run = [m["projected_jobs2_s"] for m in bench["measurements"] for _ in range(seeds)]
    return [makespan(per_run, 2 * k) for k in machines]


def cpu_label(provenance: dict) -> str:
    isa = provenance.get("cpu_isa")
    flags = ("flags not recorded" if isa is None else "with AVX-512" if "avx512f" in isa
             else "AVX2 without AVX-512" if "avx2" in isa else "without AVX2")
    return f"{provenance.get('cpu', 'unknown CPU')}, {flags}"


class BenchFileError(ValueError):
    """A --project file that is not a `python -m rnnmnist.bench` result, in one line."""


def read_bench(path: Path) -> dict:
    """A `python -m rnnmnist.bench` result with what the projection reads: full-run times with two side by side."""
    import json
    try:
        bench = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BenchFileError(f"--project {path}: not a readable JSON file ({getattr(e, 'strerror', None) or e})") from None
    if not _projectable(bench):
        raise BenchFileError(f"--project {path}: not a `python -m rnnmnist.bench` result with runs side by side "
                             f"(give one from runs/bench/ or results/bench/, measured without --paired 0)")
    return bench


def _projectable(bench) -> bool:
    if not isinstance(bench, dict):
        return False
    measurements = bench.get("measurements")
    return (bench.get("kind") == "bench" and isinstance(measurements, list) and bool(measurements)
            and all(isinstance(m, dict) and isinstance(m.get("projected_jobs2_s"), (int, float))
                    and m["projected_jobs2_s"] > 0 for m in measurements))


def projection_table(paths: list[Path]) -> str:
    """The Markdown table of `projection` for each benchmark file, a column each."""
    from tabulate import tabulate
    benches = [(path, read_bench(path)) for path in paths]
    columns = [projection(bench) for _, bench in benches]
    headers = ["machines (2 cores each)",
               *(f"{cpu_label(b['provenance'])} ({Path(p).name})" for p, b in benches)]
    rows = [[str(k), *(_hours(column[i]) for column in columns)] for i, k in enumerate(MACHINES)]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _parser() -> Parser:
    p = Parser(prog="python -m rnnmnist.bench_cluster", description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="morvan", choices=registry.names())
    p.add_argument("--seeds", type=positive, default=4, help="runs in the ensemble (default 4)")
    p.add_argument("--steps", type=positive, default=200, help="steps of each run (default 200)")
    p.add_argument("--rounds", type=positive, default=3, help="rounds, each configuration once per round (default 3)")
    p.add_argument("--workers", default="2,3,4", help="Dask worker counts to time (default 2,3,4)")
    p.add_data_dir()
    p.add_argument("--out", type=Path, default=RUNS, metavar="DIR",
                   help=f"the JSON goes to DIR/bench/ (default: {RUNS}/; the committed ones: --out {EVIDENCE})")
    p.add_argument("--project", type=Path, nargs="+", metavar="FILE",
                   help=f"print the wall time of {PROJECTED_SEEDS} seeds of every tutorial on K machines, from "
                        f"these `python -m rnnmnist.bench` results, and exit")
    return p


def _workers(p: Parser, text: str) -> list[int]:
    """--workers as worker counts, or the usage error."""
    try:
        workers = [int(n) for n in text.split(",")]
    except ValueError:
        workers = []
    if not workers or min(workers) < 2:  # --jobs 1 is one after another, timed already
        p.error(f"--workers takes worker counts of 2 or more, comma-separated, got {text!r}")
    return workers


def _rounds(args, configs: list[int], data_dir: Path) -> dict[str, list[float]]:
    """Each configuration's wall times, a round each; the order rotates from round to round."""
    walls: dict[str, list[float]] = {name_of(n): [] for n in configs}
    for r in range(args.rounds):
        for n in configs[r % len(configs):] + configs[:r % len(configs)]:
            print(f"round {r + 1}: {name_of(n)} ...", file=sys.stderr, end="", flush=True)
            walls[name_of(n)].append(time_one(n, args.variant, args.seeds, args.steps, data_dir))
            print(f" {walls[name_of(n)][-1]:.1f} s", file=sys.stderr, flush=True)
    return walls


def _table(walls: dict[str, list[float]], median: dict[str, float]) -> str:
    """Each configuration's median, its speed-up over one after another, and every round's time."""
    from tabulate import tabulate
    one_by_one = median[name_of(1)]
    rows = [[name, f"{median[name]:.1f}", f"{one_by_one / median[name]:.2f}", " ".join(f"{w:.1f}" for w in walls[name])]
            for name in walls]
    return tabulate(rows, headers=["configuration", "median wall s", "speed-up", "each round, s"], tablefmt="github")


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    if args.project:
        try:
            print(projection_table(args.project))
        except BenchFileError as e:
            p.error(str(e))
        return 0
    workers = _workers(p, args.workers)
    data_dir = p.data_dir(args, p.settings())
    p.check_out(args.out, "bench")
    from . import results
    from .tfcompat import tf
    started = time.perf_counter()
    try:
        walls = _rounds(args, [1, *workers], data_dir)
    except RunFailed as e:  # after a round's "... " on stderr: the error on a line of its own
        print(f"\n{p.prog}: error: {e}; nothing saved", file=sys.stderr)
        return 1
    median = {name: statistics.median(w) for name, w in walls.items()}
    print(_table(walls, median))
    record = {"kind": "bench-cluster", "variant": args.variant, "seeds": args.seeds, "steps": args.steps,
              "rounds": args.rounds, "wall_s": walls, "median_wall_s": median,
              "command": results.command_line(), "wall_time_s": time.perf_counter() - started,
              "provenance": results.provenance(tf.__version__)}
    print(f"saved {results.write_json(args.out / 'bench', 'cluster-' + results.utc_stamp(), record)}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
