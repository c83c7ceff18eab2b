"""`--jobs N` and `--scheduler ADDRESS`: several runs at once, on Dask distributed (the client side).

`--jobs N` starts a `LocalCluster` of N one-thread worker processes on 127.0.0.1; `--scheduler`
sends the runs to an existing cluster (`dask scheduler`, `dask worker ADDRESS` on each machine).
Either way a run is one task (`rnnmnist.task.run_job`), which runs it in a fresh process on its
worker. The task gets the `Job` whole (`rnnmnist.messages`: the `RunRequest` as given, and the
session's inter-op threads: its share of the cores here for `--jobs`) and sends each line the run
prints to this process as a `TaskEvent` (Dask's `log_event`), which prints it prefixed with the run.
The run's document comes back in the task's `TaskResult` and is saved here, by the caller, atomically.

Stopping: Ctrl-C, SIGTERM or a closed stdout here sets a Dask `Event` (and a `Variable` says
which of them it was); each task watches the event and tells its run why; the run stops after
its step in progress and comes back marked as interrupted, by that reason. Each run also sends
the numbers it records as it records them (`Points`), before the lines that print them: a second
signal stops waiting at once, and the runs still out are saved from those (`Finished.partial`).
Faults: a run whose process is killed is retried once (`RETRIES`), on the same or another worker;
so is a run whose worker is lost (the `LocalCluster`'s scheduler allows one loss; an existing
cluster's own `allowed-failures` decides there). Past that the run is reported as failed.
Workers with another rnnmnist or TensorFlow are refused before anything runs.
"""
from __future__ import annotations

import contextlib
import logging
import queue
import signal
import time
import uuid
from concurrent.futures import CancelledError
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

from .messages import Job, Points, TaskEvent, TaskResult
from .stopping import Stop
from .task import CHECKED, checked, mismatch, run_job, software, threads_per_job

RETRIES = 1                 # a run lost with its process or worker runs once more, then is reported as failed
CONNECT_TIMEOUT_S = 5       # to reach an existing scheduler (and to reach it again if it goes)
WORKERS_TIMEOUT_S = 60      # for an existing scheduler to have a worker at all
LINES_GRACE_S = 10          # for a finished run's last lines to arrive after its result
# The LocalCluster's settings (its workers get them from their nanny). Runs keep every core busy,
# so what Dask does on its own costs them speed: its statistical profiler samples the task's
# thread every 10 ms, and its event-loop, system and memory monitors tick every 20 to 500 ms
# (together 9% of a core at rest here, 1% with these).
LOCAL_CONFIG = {
    "distributed.scheduler.allowed-failures": RETRIES,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


class ClusterError(Exception):
    """The cluster cannot be used (unreachable, gone, wrong software): a one-line message saying what to do."""


@dataclass(frozen=True)
class Where:
    """Where the runs go: a new LocalCluster of `workers` processes, or the cluster whose scheduler is at `scheduler`."""
    workers: int | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class Finished:
    job: Job
    record: dict | None   # the run's document, if it got that far
    error: str | None     # why not, in one line
    # stopped at once before its document came: what reached this process of its curve (`Points.to_dict()`:
    # points, steps_run, train_time_s, wall_time_s and the provenance of where it trained), to be saved as an
    # interrupted run
    partial: dict | None = None


def silence_dask() -> None:
    """Dask's own log lines off (a lost worker, a lost scheduler): the command line says those in one line."""
    import distributed  # noqa: F401 - its logging configuration first, then this over it
    for name in [*logging.root.manager.loggerDict, "distributed"]:
        if name.startswith("distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def dask_setup(worker) -> None:
    """The `LocalCluster` workers' preload: Ctrl-C at the terminal reaches every process of the
    foreground group, and it must stop the runs through the client, not kill their workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def connect(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: of a new LocalCluster of `workers` processes, or of the scheduler at `scheduler`."""
    import dask
    from distributed import Client, LocalCluster
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as e:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} ({_first_line(e)}): start one "
                               f"(dask scheduler; then dask worker ADDRESS on each machine) and give its address, "
                               f"or leave out --scheduler to run here") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
            except TimeoutError:
                raise ClusterError(f"the Dask scheduler at {scheduler} has no worker after {WORKERS_TIMEOUT_S} s: "
                                   f"start one with dask worker {scheduler}") from None
            yield client
        return
    with dask.config.set(LOCAL_CONFIG):
        try:
            local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                 dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR, preload=[__name__])
        except (OSError, RuntimeError, TimeoutError) as e:
            raise ClusterError(f"could not start {workers} Dask workers on this machine ({_first_line(e)}); "
                               f"try fewer --jobs, or leave --jobs out to run one after another") from None
    with local, Client(local) as client:
        yield client


def check_workers(client, names: tuple[str, ...] = CHECKED) -> dict[str, str]:
    """This machine's software (`names` of it), which every worker has; else ClusterError says which has what."""
    ours = {name: version for name, version in software().items() if name in names}
    try:
        theirs = client.run(software)
    except Exception as e:  # noqa: BLE001 - whatever a worker raised, it is one line for the user
        raise ClusterError(f"a Dask worker cannot run rnnmnist ({_first_line(e)}): install it there "
                           f"(pip install -e . in a clone of the same commit)") from None
    for address, found in theirs.items():
        problem = mismatch(found, ours, address)
        if problem:
            raise ClusterError(problem)
    return ours


def run(jobs: list[Job], where: Where, *, say: Callable[[str], None] = print, stop: Stop | None = None,
        finished_one: Callable[[Finished], None] = lambda f: None, header: str | None = None) -> list[Finished]:
    """Run the jobs on Dask; print their lines through `say` as they come; never raise but ClusterError.

    A request on `stop` (signals, a closed stdout) stops every run after its step in progress.
    `finished_one` gets each run as it ends (to save it at once). `header` is said once the cluster
    answers (an unreachable one is its error line alone). Returns the runs that were started, in the
    order given.
    """
    stop = stop or Stop()
    with connect(where.workers, where.scheduler) as client:
        ours = check_workers(client, checked(jobs))
        if header:
            say(header)
        if stop.requested:  # while the cluster started: no run is sent
            return []
        return _Dispatch(client, where, jobs, say, stop, finished_one).run(ours)


class _Dispatch:
    """The jobs sent as tasks; their events shown as they come; each run handed on once all its lines are in."""

    def __init__(self, client, where: Where, jobs: list[Job], say: Callable[[str], None], stop: Stop,
                 finished_one: Callable[[Finished], None]):
        self.client, self.where, self.jobs, self.say, self.stop, self.finished_one = \
            client, where, jobs, say, stop, finished_one
        self.token = uuid.uuid4().hex[:8]
        self.topic, self.stop_name = f"rnnmnist-lines-{self.token}", f"rnnmnist-stop-{self.token}"
        self.events: queue.Queue = queue.Queue()
        self.attempts: dict[int, list[str]] = {i: [] for i in range(len(jobs))}
        self.partial: dict[int, tuple[str, Points]] = {}      # each run's numbers so far, of its latest attempt
        self.printed: dict[str, int] = {}                     # events in, by attempt
        self.ended: dict[int, tuple[TaskResult, float]] = {}  # outcome, and when it came, until its lines are in
        self.finished: dict[int, Finished] = {}

    def run(self, ours: dict[str, str]) -> list[Finished]:
        from distributed import Event, Variable
        self.client.subscribe_topic(self.topic, lambda event: self.events.put(event[1]))
        stop_event, stop_reason = Event(self.stop_name, client=self.client), Variable(self.stop_name, client=self.client)
        try:
            self._wait_for(self._submit(ours), stop_event, stop_reason)
        finally:
            with contextlib.suppress(Exception):
                self.client.unsubscribe_topic(self.topic)
            with contextlib.suppress(Exception):
                stop_reason.delete()
                stop_event.clear()
        return [self.finished[i] for i in sorted(self.finished)]

    def _submit(self, ours: dict[str, str]) -> dict[Any, int]:
        """Each job as a task. On one machine (`workers` runs at once) each run gets its share of the
        cores; on a cluster each worker gives its runs their share of its machine's."""
        workers = self.where.workers
        futures = {}
        for i, job in enumerate(self.jobs):
            threads = job.inter_op_threads or (threads_per_job(workers) if workers else job.request.inter_op_threads)
            futures[self.client.submit(
                run_job, replace(job, inter_op_threads=threads).to_dict(), self.topic, i, self.stop_name, ours,
                retries=RETRIES, pure=False, key=f"rnnmnist-{job.request.variant}-seed{job.request.seed}-{i}-{self.token}",
            )] = i
        return futures

    def _wait_for(self, futures: dict[Any, int], stop_event, stop_reason) -> None:
        pending, stop_sent = set(futures), False
        while pending or self.ended:
            with contextlib.suppress(queue.Empty):
                while True:
                    self.show(TaskEvent.from_dict(self.events.get_nowait()))
            if self.stop.requested and not stop_sent:
                stop_reason.set(self.stop.requested)
                stop_event.set()
                stop_sent = True
            if self.stop.now:  # a second signal: no more waiting; what each run sent so far is kept
                self._keep_what_came()
                return
            if pending:
                pending = self._collect(futures, pending)
            else:
                time.sleep(0.05)
            self._hand_on_ended()

    def show(self, event: TaskEvent) -> None:
        i, attempt = event.job, event.attempt
        label = self.jobs[i].request.label
        if attempt not in self.attempts[i]:
            self.attempts[i].append(attempt)
            if len(self.attempts[i]) > 1:
                self.say(f"[{label}] started again on {event.worker} (attempt {len(self.attempts[i])}): "
                         f"the process or worker running it was lost")
            elif self.where.scheduler:
                self.say(f"[{label}] on {event.worker}")
        self.printed[attempt] = self.printed.get(attempt, 0) + 1
        if event.kind == "points":
            if attempt == self.attempts[i][-1]:  # a new attempt starts again from its first step
                self._add_points(i, attempt, event.points)
        elif event.kind != "start":
            self.say(f"[{label}] {event.line}")

    def _add_points(self, i: int, attempt: str, points: Points) -> None:
        """A run's numbers as they come: the latest attempt's, with its step count, times and provenance."""
        held = self.partial.get(i)
        self.partial[i] = (attempt, held[1].then(points) if held and held[0] == attempt else points)

    def _collect(self, futures: dict[Any, int], pending: set) -> set:
        """The tasks that end within a moment, kept as ended; the ones still pending."""
        from distributed import wait
        try:
            done, pending = wait(pending, timeout=0.2, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return pending
        except CancelledError:  # every future at once: the client lost its scheduler
            raise ClusterError(_lost(self.where.scheduler)) from None
        for future in done:
            self.ended[futures[future]] = (self._outcome(future), time.monotonic())
        return pending

    def _outcome(self, future) -> TaskResult:
        """A task's result; a failed or lost task as an error; a lost scheduler as ClusterError."""
        if future.status == "finished":
            return TaskResult.from_dict(future.result())
        if self.client.status not in ("running", "connecting"):
            raise ClusterError(_lost(self.where.scheduler))
        try:
            error = future.exception()
        except Exception as e:  # noqa: BLE001 - cancelled: the scheduler forgot it
            error = e
        return TaskResult(error=_first_line(error))

    def _hand_on_ended(self) -> None:
        """Each ended run, once its lines are in (or stopped coming), to `finished_one`."""
        for i, (outcome, when) in list(self.ended.items()):
            if outcome.attempt and self.printed.get(outcome.attempt, 0) < outcome.lines \
                    and time.monotonic() - when < LINES_GRACE_S:
                continue  # its last lines are still on their way
            del self.ended[i]
            if not outcome.skipped:
                self._finish(i, Finished(self.jobs[i], outcome.run, outcome.error))

    def _keep_what_came(self) -> None:
        """Stopped at once: each run not yet handed on, from its document if it came, else from its numbers."""
        for i in sorted(set(range(len(self.jobs))) - set(self.finished)):
            run = self.ended[i][0].run if i in self.ended else None
            points = self.partial[i][1] if i in self.partial else None
            if run or (points and points.points):
                self._finish(i, Finished(self.jobs[i], run, None, None if run else points.to_dict()))

    def _finish(self, i: int, finished: Finished) -> None:
        self.finished[i] = finished
        self.finished_one(finished)


def _lost(scheduler: str | None) -> str:
    where = f"at {scheduler}" if scheduler else "of the LocalCluster"
    return (f"lost the Dask scheduler {where}: the runs still going were not finished (the finished ones are "
            f"saved); start it again and rerun what is missing")


def _first_line(e: BaseException | str | None) -> str:
    text = str(e) or type(e).__name__
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


