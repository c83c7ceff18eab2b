"""`python -m rnnmnist.reproduce --variant NAME`: train a tutorial again and compare with its numbers."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

from . import parallel, registry, stopping
from .dataset import DATA_DIR_ENV, DEFAULT_DATA_DIR, default_data_dir
from .idx import DataError
from .results import EVIDENCE, RUNS

EXIT_USAGE = 2
EXIT_DATA = 1
BROKEN_PIPE = "BrokenPipe"  # stdout closed by its reader
EXIT_INTERRUPTED = {"KeyboardInterrupt": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM,
                    BROKEN_PIPE: 128 + signal.SIGPIPE}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2 ** 31:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**31 - 1, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m rnnmnist.reproduce", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("--variant", metavar="NAME", help="which tutorial (see --list), or `all` for every one in turn")
    p.add_argument("--list", action="store_true", help="list the variants and exit")
    p.add_argument("--seed", type=_seed, help="graph and data-order seed (default: the tutorial's)")
    p.add_argument("--seeds", type=_positive, default=1, metavar="K",
                   help="run K seeds (--seed, --seed + 1, ...), save each, and compare the documented numbers "
                        "with the band the seeds span")
    p.add_argument("--jobs", type=_positive, default=1, metavar="N",
                   help="with --variant all or --seeds K: run N at once, each in its own process with "
                        "cores/N threads, lines prefixed with the run (default 1: one after another)")
    p.add_argument("--tensorboard", type=Path, metavar="DIR",
                   help="also write each run's curve as TensorBoard event files under DIR/<variant>/<run>")
    p.add_argument("--steps", type=_positive, metavar="N",
                   help="stop after N training steps (a truncated run, marked as such)")
    p.add_argument("--epochs", type=_positive, metavar="N",
                   help="stop after N epochs, for tutorials with an epoch loop (a truncated run)")
    p.add_argument("--fix", action="append", default=[], metavar="NAME",
                   help="switch off one of the tutorial's bugs (e.g. softmax for softmax-bug); repeatable")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help=f"MNIST directory (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR}/)")
    p.add_argument("--out", type=Path, default=RUNS, metavar="DIR",
                   help=f"where runs are saved, as DIR/<variant>/*.json (default: {RUNS}/; the committed evidence "
                        f"is regenerated with --out {EVIDENCE})")
    p.add_argument("--quiet", action="store_true", help="print only the comparison, not the tutorial's lines")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own log lines and warnings")
    return p


def _list() -> None:
    for name in registry.names():
        print(f"{name:20} {registry.describe(name)}")


@dataclass(frozen=True)
class Outcome:
    """One variant's run, as the summary of `--variant all` shows it."""
    variant: str
    seed: int
    schedule: str
    wall_time_s: float
    headline: str       # the last documented accuracy it reached, or the run's last accuracy
    documented: str
    reproduced: str
    inside: str
    verdict: str
    interrupted: str | None = None
    saved: str = ""  # the run's JSON file


def _echo(line: str) -> None:
    try:
        print(line, flush=True)
    except BrokenPipeError:
        # the reader is gone (`| head`): stop as Ctrl-C would, saving what finished, and print nowhere
        _stdout_to_devnull()
        print("rnnmnist: stdout was closed: stopping after the step in progress; what finished is saved "
              "as an interrupted run", file=sys.stderr, flush=True)
        stopping.request(BROKEN_PIPE)


def _stdout_to_devnull() -> None:
    # Python would otherwise fail again on the next print and when it flushes stdout at exit
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _schedule_for(variant, args, p):
    """The tutorial's schedule, truncated as asked; and whether it was."""
    schedule = variant.schedule
    if args.epochs is not None and schedule.steps_per_epoch:
        if args.epochs > schedule.epochs:
            _note(f"{variant.name} has {schedule.epochs} epochs: --epochs {args.epochs} runs all {schedule.epochs}")
        schedule = schedule.truncated_epochs(args.epochs)
    elif args.epochs is not None and args.variant != "all":
        p.error(f"{variant.name} counts steps, not epochs: use --steps")
    if args.steps is not None:
        if args.steps > len(schedule.steps):
            _note(f"{variant.name} has {len(schedule.steps)} steps: --steps {args.steps} runs all "
                  f"{len(schedule.steps)}")
        schedule = schedule.truncated(args.steps)
    return schedule, len(schedule.steps) < len(variant.schedule.steps)


def _note(line: str) -> None:
    print(f"rnnmnist: note: {line}", file=sys.stderr, flush=True)


def reproduce(variant, args, data_dir: Path, seed: int, schedule, truncated: bool) -> tuple[Outcome, list]:
    from . import compare, results, runner
    from .tfcompat import tf

    fixes = frozenset(args.fix)
    print(f"# {variant.name} ({variant.tutorial}): {len(schedule.steps)} of {len(variant.schedule.steps)} steps, "
          f"seed {seed}, TensorFlow {tf.__version__}" + (f", fixes: {', '.join(sorted(fixes))}" if fixes else ""),
          flush=True)
    # flushed line by line: a learner may be watching through a pipe (| tee log)
    curve = runner.run(variant, data_dir, seed, schedule, fixes=fixes, echo=None if args.quiet else _echo,
                       progress=None if args.quiet else sys.stderr)
    result = compare.compare(curve.points, variant.reference, schedule.sample_sizes())
    print()
    if curve.interrupted:
        done = schedule.steps[curve.steps_run - 1] if curve.steps_run else None
        print(f"INTERRUPTED ({curve.interrupted}) after {curve.steps_run} of {len(schedule.steps)} steps"
              + (f" (last finished step {done})" if done is not None else "")
              + ": saving what it finished as an interrupted run")
    print(f"{variant.name}: {curve.steps_run} steps in {curve.wall_time_s:.1f} s "
          f"({curve.train_time_s / max(curve.steps_run, 1) * 1000:.0f} ms/step)"
          + (" [TRUNCATED run]" if truncated else ""))
    if fixes:
        print(f"with fixes: {', '.join(sorted(fixes))}: this is not the tutorial's graph")
    if variant.reference and result.compared:
        print(f"reference: {variant.reference.source}")
        print(compare.table(result))
    partial = "interrupted run, over the checkpoints it reached: " if curve.interrupted else ""
    print(f"verdict: {partial}{compare.describe(result)}")

    record = {
        "schema": results.SCHEMA,
        "variant": variant.name,
        "tutorial": variant.tutorial,
        "seed": seed,
        "status": results.INTERRUPTED if curve.interrupted else results.COMPLETE,
        "interrupted_by": curve.interrupted,
        "fixes": sorted(fixes),
        "command": results.command_line(),
        "truncated": truncated,
        "steps_run": curve.steps_run,
        "steps_total": len(variant.schedule.steps),
        "schedule": results.to_jsonable(schedule),
        "hyperparameters": dict(variant.hyperparameters),
        "wall_time_s": round(curve.wall_time_s, 3),
        "train_time_s": round(curve.train_time_s, 3),
        "curve": [results.to_jsonable(pt) for pt in curve.points],
        "comparison": {"reference": variant.reference.source if variant.reference else None,
                       "verdict": result.verdict, "reason": result.reason, "compared": result.compared,
                       "inside": result.inside, "allowed_outside": result.allowed_outside},
        "provenance": results.provenance(tf.__version__, session_threads=runner.threads()),
    }
    path = results.save(record, args.out)
    print(f"saved {path}")
    if args.tensorboard:
        from . import tensorboard
        events = tensorboard.write(curve.points, args.tensorboard / variant.name / path.stem)
        print(f"TensorBoard events in {events}; to see them: tensorboard --logdir {args.tensorboard}"
              + ("" if tensorboard.viewer_installed() else " (TensorBoard is not installed: pip install -e \".[tensorboard]\")"))

    reached = [r for r in result.rows if r.reproduced is not None and r.metric in compare.ACCURACIES]
    if reached:
        last = reached[-1]
        headline = f"{compare.LABELS[last.metric]} @ {'epoch' if last.metric in compare.EPOCH_METRICS else 'step'} {last.at}"
        documented, reproduced = repr(last.documented), f"{last.reproduced:.6g}"
    else:
        accuracies = [pt for pt in curve.points if pt.metric in compare.ACCURACIES]
        last_pt = accuracies[-1] if accuracies else None
        headline = f"{compare.LABELS[last_pt.metric]} @ {last_pt.at}" if last_pt else "-"
        documented, reproduced = "-", f"{last_pt.value:.6g}" if last_pt else "-"
    return Outcome(variant.name + "".join(f" --fix {f}" for f in sorted(fixes)), seed,
                   schedule.describe() + (" (truncated)" if truncated else ""), curve.wall_time_s,
                   headline, documented, reproduced,
                   f"{result.inside}/{result.compared}" if result.compared else "-", result.verdict,
                   curve.interrupted, str(path)), curve.points


def _ensemble(variant, curves: list, schedule) -> None:
    from . import compare
    result = compare.ensemble(curves, variant.reference, schedule.sample_sizes())
    print()
    print(f"{variant.name}: {len(curves)} seeds against {variant.reference.source if variant.reference else 'nothing'}")
    if result.compared:
        print(compare.table(result))
    print(f"verdict over {len(curves)} seeds: {compare.describe(result)}")


def summary_table(outcomes: list[Outcome]) -> str:
    from tabulate import tabulate
    rows = [[o.variant, o.seed, o.schedule, f"{o.wall_time_s:.0f} s", o.headline, o.documented, o.reproduced,
             o.inside, o.verdict] for o in outcomes]
    return tabulate(rows, headers=["variant", "seed", "schedule", "wall time", "final documented metric", "documented",
                                   "reproduced", "inside band", "verdict"], tablefmt="github", disable_numparse=True)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.list:
        _list()
        return 0
    known = registry.names()
    if not args.variant:
        p.error(f"give --variant NAME (one of: {', '.join(known)}) or --list")
    if args.variant != "all" and args.variant not in known:
        p.error(f"unknown variant {args.variant!r}; known variants: {', '.join(known)}, or all")
    if args.variant == "all" and args.fix:
        p.error("--fix applies to one variant: give --variant NAME")
    data_dir = args.data_dir or default_data_dir()
    if data_dir.exists() and not data_dir.is_dir():
        p.error(f"--data-dir {data_dir} is a file; give a directory (it is created if missing)")
    from . import results
    names = known if args.variant == "all" else [args.variant]
    try:
        for name in names:
            results.check_writable(args.out, name)
    except OSError as e:
        p.error(f"cannot write results to --out {args.out} ({e.strerror or e}); give a writable directory")
    if args.verbose:
        os.environ["RNNMNIST_VERBOSE"] = "1"

    variants = [registry.load(name) for name in names]  # imports TensorFlow
    for variant in variants:
        unknown = sorted(set(args.fix) - set(variant.fixes))
        if unknown:
            available = ", ".join(variant.fixes) or "none"
            p.error(f"{variant.name} has no fix {unknown[0]!r}; its fixes: {available}")
    schedules = [_schedule_for(variant, args, p) for variant in variants]  # usage errors before any fetch
    from . import dataset, sources
    from .runner import NonFiniteLoss
    try:
        # fetched (if need be) and loaded before Ctrl-C becomes a stop request: a fetch stops at once
        dataset.load_raw(data_dir, say=(lambda line: None) if args.quiet else sources.to_stderr)
    except DataError as e:
        print(f"rnnmnist: error: {e}", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt:
        print(f"rnnmnist: interrupted while getting MNIST into {data_dir}; nothing half-made is kept, "
              "run again to fetch it", file=sys.stderr)
        return EXIT_INTERRUPTED["KeyboardInterrupt"]
    tasks = [(variant, schedule, truncated, (variant.seed if args.seed is None else args.seed) + k)
             for variant, (schedule, truncated) in zip(variants, schedules) for k in range(args.seeds)]
    if args.jobs > 1 and len(tasks) > 1:
        return _in_parallel(tasks, args, data_dir)
    stopping.install()
    outcomes, curves = [], []
    try:
        for i, (variant, schedule, truncated, seed) in enumerate(tasks):
            if stopping.requested:  # asked to stop between two runs: the finished ones are saved
                return EXIT_INTERRUPTED[stopping.requested]
            if i:
                print()
            outcome, points = reproduce(variant, args, data_dir, seed, schedule, truncated)
            outcomes.append(outcome)
            if os.environ.get(parallel.OUTCOME_ENV):  # a worker of --jobs: tell the parent
                Path(os.environ[parallel.OUTCOME_ENV]).write_text(json.dumps(asdict(outcome)))
            if outcome.interrupted:
                return EXIT_INTERRUPTED.get(outcome.interrupted, 1)
            curves.append(points)
            if args.seeds > 1 and len(curves) == args.seeds:  # the variant's last seed
                _ensemble(variant, curves, schedule)
                curves = []
    except DataError as e:
        print(f"rnnmnist: error: {e}", file=sys.stderr)
        return EXIT_DATA
    except NonFiniteLoss as e:
        print(f"rnnmnist: error: {e}; the run is stopped and not saved (a learning rate too large for "
              "the data, or a bug in the graph)", file=sys.stderr)
        return EXIT_DATA
    if len(outcomes) > 1:
        print()
        print(summary_table(outcomes))
    return 0


def _in_parallel(tasks: list, args, data_dir: Path) -> int:
    """--jobs: each run in a worker process (python -m rnnmnist.reproduce for that one run)."""
    from . import results
    jobs = []
    for variant, schedule, truncated, seed in tasks:
        argv = ["--variant", variant.name, "--seed", str(seed), "--out", str(args.out), "--data-dir", str(data_dir)]
        if args.steps is not None:
            argv += ["--steps", str(args.steps)]
        if args.epochs is not None and variant.schedule.steps_per_epoch:
            argv += ["--epochs", str(args.epochs)]
        for fix in args.fix:
            argv += ["--fix", fix]
        argv += ["--quiet"] * args.quiet + ["--verbose"] * args.verbose
        if args.tensorboard:
            argv += ["--tensorboard", str(args.tensorboard)]
        jobs.append(parallel.Task(f"{variant.name} seed {seed}", argv))
    print(f"{len(jobs)} runs, {args.jobs} at a time", flush=True)
    finished = parallel.run(jobs, args.jobs, say=_echo)
    reported = {f.task.label: Outcome(**f.outcome) for f in finished if f.outcome}
    outcomes = list(reported.values())
    if args.seeds > 1:
        for start in range(0, len(tasks), args.seeds):  # each variant's seeds, as in the sequential loop
            variant, schedule = tasks[start][:2]
            runs = [reported.get(job.label) for job in jobs[start:start + args.seeds]]
            curves = [results.curve_of(results.load(Path(o.saved))) for o in runs
                      if o and not o.interrupted]
            if len(curves) > 1:
                _ensemble(variant, curves, schedule)
    if outcomes:
        print()
        print(summary_table(outcomes))
    failed = [f for f in finished if f.returncode not in (0, *EXIT_INTERRUPTED.values())]
    if stopping.requested or any(o.interrupted for o in outcomes):
        return EXIT_INTERRUPTED[stopping.requested or next(o.interrupted for o in outcomes if o.interrupted)]
    if failed or len(finished) < len(jobs):
        for f in failed:
            print(f"rnnmnist: error: the run {f.task.label} failed (exit code {f.returncode}); see its lines above",
                  file=sys.stderr)
        return EXIT_DATA
    return 0


def cli(argv: list[str] | None = None) -> NoReturn:
    """The console script and `python -m`: main(), and a closed stdout (`| head`) is no traceback."""
    try:
        code = main(argv)
        sys.stdout.flush()  # a reader gone by now must fail here, not in Python's exit
    except BrokenPipeError:  # stdout closed outside the training loop: nothing unsaved, nothing more to say
        _stdout_to_devnull()
        code = EXIT_INTERRUPTED[BROKEN_PIPE]
    sys.exit(code)


if __name__ == "__main__":
    cli()
