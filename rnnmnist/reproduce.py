"""`python -m rnnmnist.reproduce --variant NAME`: train a tutorial again and compare with its numbers.

A thin layer over the Python API: it resolves one `Plan` per run (`rnnmnist.plan`) and hands each to
`api.execute` (one after another), or its request to `--jobs` workers, which resolve it the same way.
"""
from __future__ import annotations

import sys

from . import launch

with launch.interruptible(__name__):  # Ctrl-C while `python -m` imports this: one line, not a traceback
    import signal
    from pathlib import Path
    from typing import Callable, NoReturn

    from . import eras, registry, stopping, tflogs
    from .console import (BROKEN_PIPE, EXIT_CLUSTER, EXIT_DATA, EXIT_INTERRUPTED, EXIT_NAN, EXIT_WORKER,
                          one_run)
    from .idx import DataError
    from .plan import Plan, resolve
    from .request import BACKENDS, IMPLS, JAX_EXTRA, RequestError, RunRequest
    from .places import EVIDENCE, RUNS
    from .settings import SCHEDULER, Settings
    from .usage import Parser, positive, seed, stdout_closed


def parser() -> Parser:
    # the console script is `rnnmnist`; `python -m` runs this file
    prog = "rnnmnist" if sys.argv and Path(sys.argv[0]).name == "rnnmnist" else "python -m rnnmnist.reproduce"
    p = Parser(prog=prog, description=__doc__.split(":", 1)[1].split("\n")[0].strip())
    p.add_argument("--variant", metavar="NAME", help="which tutorial (see --list), or `all` for every one in turn")
    p.add_argument("--list", action="store_true", help="list the variants and exit")
    p.add_argument("--seed", type=seed, help="graph and data-order seed (default: the tutorial's)")
    p.add_argument("--seeds", type=positive, default=1, metavar="K",
                   help="run K seeds (--seed, --seed + 1, ...), save each, and compare the documented numbers "
                        "with the band the seeds span (a verdict needs 5)")
    p.add_argument("--jobs", type=positive, default=1, metavar="N",
                   help="with --variant all or --seeds K: run N at once on a Dask LocalCluster, each in its own "
                        "process with cores/N threads, lines prefixed with the run (default 1: one after another)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help=f"run on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786), as many at once "
                        f"as its workers have threads; results are saved here (default: ${SCHEDULER}, else here)")
    p.add_argument("--tensorboard", type=Path, metavar="DIR",
                   help="also write each run's curve as TensorBoard event files under DIR/<variant>/<run>")
    p.add_argument("--checkpoint", type=Path, metavar="DIR",
                   help="save the trained model as a tf.compat.v1.train.Saver checkpoint in a new directory of its "
                        "own, DIR/<variant>/<UTC time>_seed<N>[_fix-NAME][_tf<release>][_truncated][_interrupted]/ "
                        "(also when interrupted)")
    p.add_argument("--steps", type=positive, metavar="N",
                   help="stop after N training steps (a truncated run, marked as such)")
    p.add_argument("--epochs", type=positive, metavar="N",
                   help="stop after N epochs, for tutorials with an epoch loop (a truncated run)")
    p.add_argument("--tf-semantics", metavar="RELEASE", choices=list(eras.ERAS), dest="era",
                   help=f"run under another TensorFlow release's data order and default initializer "
                        f"({', '.join(eras.ERAS)}; default: the one the tutorial ran on)")
    p.add_argument("--impl", choices=IMPLS, default="tf1",
                   help="tf1: the tutorial's graph in a tf.compat.v1 session (default); keras: its Keras 3 version "
                        "(docs/keras.md), on the same batches, printing the same lines")
    p.add_argument("--backend", choices=BACKENDS,
                   help=f"with --impl keras: Keras 3's backend (default tensorflow; jax needs {JAX_EXTRA})")
    p.add_argument("--fix", action="append", default=[], metavar="NAME",
                   help="switch off one of the tutorial's bugs (e.g. softmax for softmax-bug); repeatable")
    p.add_data_dir()
    p.add_argument("--out", type=Path, default=RUNS, metavar="DIR",
                   help=f"where runs are saved, as DIR/<variant>/*.json (default: {RUNS}/; the committed evidence "
                        f"is regenerated with --out {EVIDENCE})")
    p.add_argument("--quiet", action="store_true",
                   help="print only the comparison and where the run is saved: no header, no tutorial's lines")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own log lines and warnings")
    return p


def _echo_to(stop: stopping.Stop) -> Callable[[str], None]:
    def echo(line: str) -> None:
        try:
            print(line, flush=True)
        except BrokenPipeError:
            # the reader is gone (`| head`): stop as Ctrl-C would, saving what finished, and print nowhere
            stdout_closed()
            print("rnnmnist: stdout was closed: stopping after the step in progress; what finished is saved "
                  "as an interrupted run", file=sys.stderr, flush=True)
            stop.request(BROKEN_PIPE)
    return echo




def _plans(args, p: Parser, data_dir: Path, given: Settings) -> list[Plan]:
    """One plan per run asked for, checked; a problem is a usage error before anything runs."""
    names = registry.names() if args.variant == "all" else [args.variant]
    plans = []
    for name in names:
        variant = registry.load(name)
        first = variant.seed if args.seed is None else args.seed
        # with `all`, --epochs applies to the tutorials that count epochs
        epochs = args.epochs if (args.variant != "all" or variant.schedule.steps_per_epoch) else None
        for k in range(args.seeds):
            try:
                plan = resolve(RunRequest.build(name, first + k, steps=args.steps, epochs=epochs, fixes=tuple(args.fix),
                                                data_dir=data_dir, out=args.out, tensorboard=args.tensorboard,
                                                era=args.era, checkpoint=args.checkpoint, impl=args.impl,
                                                backend=args.backend, settings=given))
            except RequestError as e:
                p.error(str(e))
            if k == 0:
                for note in plan.notes:
                    print(f"rnnmnist: note: {note}", file=sys.stderr, flush=True)
            plans.append(plan)
    return plans


def main(argv: list[str] | None = None) -> int:
    stop = stopping.Stop()
    with stopping.on_signals(stop):
        try:
            with stop.at_once():  # imports, checks, MNIST: nothing is made yet, so a signal ends it here
                prepared = _prepare(argv)
        except stopping.StopNow as e:
            print(f"rnnmnist: stopped by {e} before any run started; nothing was saved", file=sys.stderr)
            return EXIT_INTERRUPTED[str(e)]
        if isinstance(prepared, int):
            return prepared
        plans, args, on_workers = prepared
        return (_in_parallel if on_workers else _in_turn)(plans, args, stop)


def _prepare(argv: list[str] | None) -> int | tuple[list[Plan], object, bool]:
    """The command line checked, its runs planned, MNIST at hand: (plans, args, on_workers), or an exit code."""
    p = parser()
    given = p.settings()  # the environment, read once here and handed on
    p.set_defaults(scheduler=given.scheduler)
    args = p.parse_args(argv)
    if args.list:
        for name in registry.names():
            print(f"{name:20} {registry.describe(name)}")
        return 0
    _check(args, p)
    data_dir = p.data_dir(args, given)
    args.verbose = args.verbose or given.verbose
    tflogs.show(args.verbose)  # before TensorFlow's import
    plans = _plans(args, p, data_dir, given)  # usage errors before any fetch
    on_workers = bool(args.scheduler) or (args.jobs > 1 and len(plans) > 1)
    if not on_workers:  # TensorFlow now, where a signal still ends the start-up at once (rnnmnist.lazytf)
        if args.impl == "keras":  # never TF1 semantics here: Keras 3 cannot run beside them
            from . import kerasrunner
            if kerasrunner.runs_here(plans[0].backend):  # else api.execute gives each run a process of its own
                kerasrunner.import_keras(plans[0].backend)
        else:
            from . import tfcompat  # noqa: F401
    code = _mnist(data_dir, args, given, on_workers)
    return code if code is not None else (plans, args, on_workers)


def _check(args, p: Parser) -> None:
    """The options that go together, and the places runs go: a usage error before anything runs."""
    known = registry.names()
    if not args.variant:
        p.error(f"give --variant NAME (one of: {', '.join(known)}) or --list")
    if args.variant != "all" and args.variant not in known:
        p.error(f"unknown variant {args.variant!r}; known variants: {', '.join(known)}, or all")
    if args.variant == "all" and args.fix:
        p.error("--fix applies to one variant: give --variant NAME")
    if args.jobs > 1 and args.seeds == 1 and args.variant != "all":
        p.error(f"--jobs {args.jobs} runs several runs at once: add --seeds K, or give --variant all; one run "
                "trains in one process")
    if args.scheduler and args.jobs > 1:
        p.error(f"give --jobs or --scheduler (here {args.scheduler}, perhaps from ${SCHEDULER}), not both: a cluster "
                f"runs as many at once as its workers have threads")
    if args.backend and args.impl != "keras":
        p.error(f"--backend {args.backend} is Keras 3's backend: give it with --impl keras")
    if args.seed is not None and args.seed + args.seeds > 2 ** 31:
        p.error(f"--seed {args.seed} --seeds {args.seeds} would run seeds past 2**31 - 1: give a smaller --seed")
    for name in (known if args.variant == "all" else [args.variant]):
        p.check_out(args.out, name)


def _mnist(data_dir: Path, args, given: Settings, on_workers: bool) -> int | None:
    """MNIST at hand, fetched if need be: None, or the exit code of why not."""
    from . import dataset, sources
    try:
        # fetched (if need be) before Ctrl-C becomes a stop request: a fetch stops at once. Loaded here
        # only for runs made here; a cluster's workers see to it on their own machines.
        say = (lambda line: None) if args.quiet else sources.to_stderr
        if not on_workers:
            dataset.load_raw(data_dir, say=say, url=given.mnist_url)
        elif not args.scheduler:  # verified, not kept: the runs load it in processes of their own
            sources.ensure(data_dir, say=say, official_url=given.mnist_url)
    except DataError as e:
        print(f"rnnmnist: error: {e}", file=sys.stderr)
        return EXIT_DATA
    except stopping.StopNow as e:
        print(f"rnnmnist: interrupted ({e}) while getting MNIST into {data_dir}; nothing half-made is kept, "
              "run again to fetch it", file=sys.stderr)
        return EXIT_INTERRUPTED[str(e)]
    return None


def _in_turn(plans: list[Plan], args, stop: stopping.Stop) -> int:
    from . import api
    from .loop import NonFiniteLoss
    echo, runs = _echo_to(stop), []
    try:
        for i, plan in enumerate(plans):
            if stop.requested:  # asked to stop between two runs: the finished ones are saved
                print(f"rnnmnist: stopped ({stop.requested}) between two runs: the {i} that finished are saved, "
                      f"{len(plans) - i} not started", file=sys.stderr)
                return EXIT_INTERRUPTED[stop.requested]
            if i:
                echo("")
            run = one_run(plan, echo, stop, quiet=args.quiet)
            api.keep(run, say=echo)
            runs.append(run)
            if run.interrupted:
                return EXIT_INTERRUPTED.get(run.interrupted, 1)
            if args.seeds > 1 and len(runs) % args.seeds == 0:  # the variant's last seed
                _ensemble(runs[-args.seeds:], echo)
    except stopping.StopNow as e:  # a second signal while a run started: it had trained nothing
        print(f"rnnmnist: stopped at once ({e}) before {plan.request.label} trained a step: the {len(runs)} runs "
              f"that finished are saved", file=sys.stderr)
        return EXIT_INTERRUPTED[str(e)]
    except DataError as e:
        print(f"rnnmnist: error: {e}", file=sys.stderr)
        return EXIT_DATA
    except NonFiniteLoss as e:
        print(f"rnnmnist: error: {e}; the run is stopped and not saved (a learning rate too large for "
              "the data, or a bug in the graph)", file=sys.stderr)
        return EXIT_NAN
    if len(runs) > 1:
        echo("")
        for line in summary_table(runs).splitlines():
            echo(line)
    return 0


def _in_parallel(plans: list[Plan], args, stop: stopping.Stop) -> int:
    """--jobs, --scheduler: the runs on Dask workers; this process prints their lines, saves their runs, sums up."""
    from . import cluster
    echo = _echo_to(stop)
    jobs = [cluster.Job(plan.request, args.quiet, verbose=args.verbose) for plan in plans]
    kept: dict[int, object] = {}

    def keep(f: "cluster.Finished") -> None:  # each run is saved as soon as it is back
        i = jobs.index(f.job)
        run = _returned(plans[i], f, stop, lambda line: echo(f"[{plans[i].request.label}] {line}"))
        if run is not None:
            kept[i] = run

    if not args.verbose:  # its own reports of a lost worker or scheduler: said here in one line instead
        cluster.silence_dask()
    try:
        finished = cluster.run(jobs, cluster.Where(workers=None if args.scheduler else args.jobs,
                                                   scheduler=args.scheduler),
                               say=echo, stop=stop, finished_one=keep,
                               header=f"{len(jobs)} runs, " + (f"on the Dask cluster at {args.scheduler}"
                                                               if args.scheduler else f"{args.jobs} at a time"))
    except cluster.ClusterError as e:
        print(f"rnnmnist: error: {e}", file=sys.stderr)
        return EXIT_CLUSTER
    return _sum_up(plans, args, dict(sorted(kept.items())), finished, stop)


def _returned(plan: Plan, f, stop: stopping.Stop, say: Callable[[str], None]):
    """A run back from its worker, saved here, stamped with what was typed here; None if nothing came back."""
    from . import api, results
    from .run import Run
    if f.record is not None:
        run = Run.from_record(f.record).with_invoked_as(results.command_line())
    elif f.partial is not None:  # stopped at once: what it sent of its curve, as an interrupted run
        run = _from_partial(plan, f.partial, stop.now or stopping.NAMES[signal.SIGINT])
        for line in run.summary():
            say(line)
    else:
        return None
    api.keep(run, say=say)
    return run


def _sum_up(plans: list[Plan], args, runs: dict, finished: list, stop: stopping.Stop) -> int:
    """After the runs on workers: the seeds' verdicts, the summary table, what stopped or failed; the exit code."""
    echo = _echo_to(stop)
    if stop.now:  # a second signal: no summing up
        print(f"rnnmnist: stopped at once ({stop.now}): {len(runs)} of {len(plans)} runs saved, each with every "
              f"checkpoint it had printed", file=sys.stderr)
        return EXIT_INTERRUPTED[stop.now]
    if stop.requested and not runs:
        print(f"rnnmnist: stopped ({stop.requested}) before any run had trained a step; nothing was saved",
              file=sys.stderr)
        return EXIT_INTERRUPTED[stop.requested]
    if args.seeds > 1:
        for start in range(0, len(plans), args.seeds):  # each variant's seeds, as in the sequential loop
            done = [runs[i] for i in range(start, start + args.seeds) if i in runs and not runs[i].interrupted]
            if len(done) > 1:
                _ensemble(done, echo)
    if runs:
        echo("")
        for line in summary_table(list(runs.values())).splitlines():
            echo(line)
    interrupted = [run.interrupted for run in runs.values() if run.interrupted]
    if stop.requested or interrupted:
        print(f"rnnmnist: stopped ({stop.requested or interrupted[0]}): {len(interrupted)} of {len(plans)} runs saved "
              f"as interrupted, each with every checkpoint it printed; {len(runs) - len(interrupted)} finished",
              file=sys.stderr)
        return EXIT_INTERRUPTED[stop.requested or interrupted[0]]
    failed = [f for f in finished if f.record is None]
    for f in failed:
        print(f"rnnmnist: error: the run {f.job.request.label} failed ({f.error or 'no reason given'})", file=sys.stderr)
    return EXIT_WORKER if failed or len(finished) < len(plans) else 0


def _from_partial(plan: Plan, partial: dict, interrupted: str):
    """The Run of what a --jobs run sent of its curve before it was stopped at once."""
    from . import results
    from .run import Run
    from .curve import Curve, Point
    curve = Curve([Point(**p) for p in partial["points"]], partial["steps_run"], round(partial["wall_time_s"], 3),
                  round(partial["train_time_s"], 3), interrupted)
    return Run.finished(plan, curve, partial["provenance"], results.command_line())


def _ensemble(runs: list, echo: Callable[[str], None]) -> None:
    from . import api, compare
    result = api.ensemble(runs)
    echo("")
    echo(f"{runs[0].request.variant}: {result.runs} seeds against {result.reference or 'nothing'}")
    for line in compare.table(result).splitlines() if result.compared else ():
        echo(line)
    echo(f"verdict over {result.runs} seeds: {compare.describe(result)}")
    for line in compare.also_lines(result):
        echo(line)


def summary_table(runs: list) -> str:
    """One row per run, as `--variant all` and `--seeds K` end."""
    from tabulate import tabulate
    from . import report
    rows = []
    for run in runs:
        schedule = run.plan.schedule.describe() + (" (truncated)" if run.plan.truncated else "")
        if run.interrupted:  # its verdict is over the checkpoints it reached: the row says it stopped early
            schedule += f" (interrupted after {run.curve.steps_run} steps)"
        extra = (f"{run.curve.wall_time_s:.0f} s", *report.headline(run.points, run.comparison))
        rows.append(report.summary_row(run.request.title, schedule, str(run.request.seed), run.comparison, extra))
    headers = [*report.SUMMARY_HEADERS[:2], "seed", "wall time", "final documented metric", "documented",
               "reproduced", *report.SUMMARY_HEADERS[3:]]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def cli(argv: list[str] | None = None) -> NoReturn:
    """The console script and `python -m`: main(), and a closed stdout (`| head`) is no traceback."""
    try:
        code = main(argv)
        sys.stdout.flush()  # a reader gone by now must fail here, not in Python's exit
    except BrokenPipeError:  # stdout closed outside the training loop: nothing unsaved, nothing more to say
        code = stdout_closed()  # EXIT_INTERRUPTED[BROKEN_PIPE]
    sys.exit(code)


if __name__ == "__main__":
    cli()
