"""`--jobs N` and `--scheduler ADDRESS`: several runs at once, on Dask distributed.

`--jobs N` starts a `LocalCluster` of N one-thread worker processes on 127.0.0.1; `--scheduler`
sends the runs to an existing cluster (`dask scheduler`, `dask worker ADDRESS` on each machine).
Either way a run is one task, and the task starts a fresh `python -m rnnmnist.worker` process on
its worker: TensorFlow sizes its thread pools once per process and a Session must not be forked.
The task hands that process the `RunRequest` whole, as JSON, and sends each line it prints to
this process as a Dask event (`log_event`), which prints it prefixed with the run. The run's
document comes back as the task's result and is saved here, by the caller, atomically.

Stopping: Ctrl-C, SIGTERM or a closed stdout here sets a Dask `Event` (and a `Variable` says
which of them it was); each task watches the event and tells its run why, on the run's stdin; the
run stops after its step in progress and comes back marked as interrupted, by that reason. Each
run also sends the numbers it records as it records them, before the lines that print them: a
second signal stops waiting at once, and the runs still out are saved from those (`Finished.partial`).
Faults: a run whose process is killed is retried once (`RETRIES`), on the same or another worker;
so is a run whose worker is lost (the `LocalCluster`'s scheduler allows one loss; an existing
cluster's own `allowed-failures` decides there). Past that the run is reported as failed.
Workers with another rnnmnist or TensorFlow are refused before anything runs.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import CancelledError
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

from . import cpu
from .request import RunRequest
from .stopping import Stop

RETRIES = 1                 # a run lost with its process or worker runs once more, then is reported as failed
CONNECT_TIMEOUT_S = 5       # to reach an existing scheduler (and to reach it again if it goes)
WORKERS_TIMEOUT_S = 60      # for an existing scheduler to have a worker at all
LINES_GRACE_S = 10          # for a finished run's last lines to arrive after its result
CHECKED = ("rnnmnist", "tensorflow", "tf-keras")  # a worker must have these as this machine has them
SCHEDULER_ENV = "RNNMNIST_SCHEDULER"
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
class Job:
    request: RunRequest
    quiet: bool = False   # print only the comparison, as --quiet does

    def to_json(self) -> str:
        return json.dumps({"request": self.request.to_dict(), "quiet": self.quiet})

    @classmethod
    def from_json(cls, text: str) -> "Job":
        data = json.loads(text)
        return cls(RunRequest.from_dict(data["request"]), data["quiet"])


@dataclass(frozen=True)
class Finished:
    job: Job
    record: dict | None   # the run's document, if it got that far
    error: str | None     # why not, in one line
    # stopped at once before its document came: what reached this process of its curve (points, steps_run,
    # train_time_s, wall_time_s and the provenance of where it trained), to be saved as an interrupted run
    partial: dict | None = None


def threads_per_job(jobs: int) -> int:
    """The cores a run gets when `jobs` run at once on one machine."""
    return max(1, cpu.count() // jobs)


def software() -> dict[str, str]:
    """What a worker must share with the client: the versions, and rnnmnist's own sources by digest."""
    from . import __version__, identity
    found = {}
    for name in CHECKED[1:]:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "none"
    return {"rnnmnist": f"{__version__} (sources {identity.sources_sha256()[:12]})", **found}


def mismatch(theirs: dict[str, str], ours: dict[str, str], where: str) -> str | None:
    """One line on what differs between a worker's software and this machine's, or None."""
    for name in CHECKED:
        if theirs.get(name) != ours.get(name):
            return (f"the Dask worker {where} has {name} {theirs.get(name)} where this machine has {ours.get(name)}: "
                    f"install the same there (pip install -e . in a clone of the same commit), or stop that worker")
    return None


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


def check_workers(client) -> dict[str, str]:
    """This machine's software, which every worker has; else ClusterError says which has what."""
    ours = software()
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


def run(jobs: list[Job], *, workers: int | None = None, scheduler: str | None = None,
        say: Callable[[str], None] = print, stop: Stop | None = None,
        finished_one: Callable[[Finished], None] = lambda f: None, header: str | None = None) -> list[Finished]:
    """Run the jobs on Dask; print their lines through `say` as they come; never raise but ClusterError.

    `workers`: a LocalCluster of that many processes; `scheduler`: an existing cluster's address.
    A request on `stop` (signals, a closed stdout) stops every run after its step in progress.
    `finished_one` gets each run as it ends (to save it at once). `header` is said once the cluster
    answers (an unreachable one is its error line alone). Returns the runs that were started, in the
    order given.
    """
    with connect(workers, scheduler) as client:
        ours = check_workers(client)
        if header:
            say(header)
        return _run_on(client, ours, jobs, workers, scheduler, say, stop or Stop(), finished_one)


def _run_on(client, ours: dict[str, str], jobs: list[Job], workers: int | None, scheduler: str | None,
            say: Callable[[str], None], stop: Stop, finished_one: Callable[[Finished], None]) -> list[Finished]:
    from distributed import Event, Variable, wait
    if stop.requested:  # while the cluster started: no run is sent
        return []
    if workers:  # one machine, `workers` runs at once: each run its share of the cores
        jobs_sent = [replace(j, request=j.request.but(inter_op_threads=threads_per_job(workers), out=None)) for j in jobs]
    else:        # each worker gives its runs their share of its machine's cores
        jobs_sent = [replace(j, request=j.request.but(out=None)) for j in jobs]
    token = uuid.uuid4().hex[:8]
    topic, stop_name = f"rnnmnist-lines-{token}", f"rnnmnist-stop-{token}"
    events: queue.Queue = queue.Queue()
    client.subscribe_topic(topic, lambda event: events.put(event[1]))
    stop_event, stop_reason = Event(stop_name, client=client), Variable(stop_name, client=client)
    futures = {client.submit(_run_on_worker, job.to_json(), topic, i, stop_name, ours, retries=RETRIES,
                             pure=False, key=f"rnnmnist-{job.request.variant}-seed{job.request.seed}-{i}-{token}"): i
               for i, job in enumerate(jobs_sent)}
    attempts: dict[int, list[str]] = {i: [] for i in range(len(jobs))}
    partial: dict[int, dict] = {}                # each run's numbers so far, of its latest attempt
    printed: dict[str, int] = {}
    ended: dict[int, tuple[dict, float]] = {}   # outcome, and when it came, until its lines are in
    finished: dict[int, Finished] = {}
    pending, stop_sent = set(futures), False

    def show(event: dict) -> None:
        i, attempt = event["job"], event["attempt"]
        label = jobs[i].request.label
        if attempt not in attempts[i]:
            attempts[i].append(attempt)
            if len(attempts[i]) > 1:
                say(f"[{label}] started again on {event['worker']} (attempt {len(attempts[i])}): "
                    f"the process or worker running it was lost")
            elif scheduler:
                say(f"[{label}] on {event['worker']}")
        printed[attempt] = printed.get(attempt, 0) + 1
        if event["kind"] == "points":
            if attempt == attempts[i][-1]:  # a new attempt starts again from its first step
                _add_points(partial, i, attempt, event["data"])
        elif event["kind"] != "start":
            say(f"[{label}] {event['line']}")

    try:
        while pending or ended:
            with contextlib.suppress(queue.Empty):
                while True:
                    show(events.get_nowait())
            if stop.requested and not stop_sent:
                stop_reason.set(stop.requested)
                stop_event.set()
                stop_sent = True
            if stop.now:  # a second signal: no more waiting; what each run sent so far is kept
                for i in sorted(set(range(len(jobs))) - set(finished)):
                    outcome = ended.get(i, ({}, 0))[0]
                    if outcome.get("run") or partial.get(i, {}).get("points"):
                        finished[i] = Finished(jobs[i], outcome.get("run"), None,
                                               None if outcome.get("run") else partial[i])
                        finished_one(finished[i])
                break
            if pending:
                try:
                    done, pending = wait(pending, timeout=0.2, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                except CancelledError:  # every future at once: the client lost its scheduler
                    raise ClusterError(_lost(scheduler)) from None
                for future in done:
                    ended[futures[future]] = (_outcome(future, client, scheduler), time.monotonic())
            else:
                time.sleep(0.05)
            for i, (outcome, when) in list(ended.items()):
                attempt = outcome.get("attempt")
                if attempt and printed.get(attempt, 0) < outcome["lines"] and time.monotonic() - when < LINES_GRACE_S:
                    continue  # its last lines are still on their way
                del ended[i]
                if outcome.get("skipped"):
                    continue
                finished[i] = Finished(jobs[i], outcome.get("run"), outcome.get("error"))
                finished_one(finished[i])
    finally:
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(topic)
        with contextlib.suppress(Exception):
            stop_reason.delete()
            stop_event.clear()
    return [finished[i] for i in sorted(finished)]


def _add_points(partial: dict[int, dict], i: int, attempt: str, data: dict) -> None:
    """A run's numbers as they come: the latest attempt's, with its step count, times and provenance."""
    if partial.get(i, {}).get("attempt") != attempt:
        partial[i] = {"attempt": attempt, "points": [], "provenance": None}
    partial[i]["points"] += data["points"]
    partial[i].update({k: data[k] for k in ("steps_run", "train_time_s", "wall_time_s")})
    partial[i]["provenance"] = data.get("provenance") or partial[i]["provenance"]


def _outcome(future, client, scheduler: str | None) -> dict:
    """A task's result; a failed or lost task as an error; a lost scheduler as ClusterError."""
    if future.status == "finished":
        return future.result()
    if client.status not in ("running", "connecting"):
        raise ClusterError(_lost(scheduler))
    try:
        error = future.exception()
    except Exception as e:  # noqa: BLE001 - cancelled: the scheduler forgot it
        error = e
    return {"error": _first_line(error)}


def _lost(scheduler: str | None) -> str:
    where = f"at {scheduler}" if scheduler else "of the LocalCluster"
    return (f"lost the Dask scheduler {where}: the runs still going were not finished (the finished ones are "
            f"saved); start it again and rerun what is missing")


def _first_line(e: BaseException | str | None) -> str:
    text = str(e) or type(e).__name__
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


class RunLost(Exception):
    """The run's process ended without its document: killed (OOM, by hand). Raised to have Dask retry it."""


def _run_on_worker(job_json: str, topic: str, index: int, stop_name: str, expected: dict[str, str]) -> dict:
    """The task: one run, in a fresh process on this worker. Its lines go out as events; its document is returned."""
    from distributed import Event, Lock, Variable, get_client, get_worker
    from . import dataset, sources
    from .idx import DataError
    worker = get_worker()
    attempt, counter = uuid.uuid4().hex[:8], itertools.count()

    def emit(kind: str, line: str = "", data: dict | None = None) -> None:
        worker.log_event(topic, {"job": index, "attempt": attempt, "kind": kind, "line": line, "data": data,
                                 "worker": worker.address, "seq": next(counter)})

    def result(**fields: Any) -> dict:
        return {"attempt": attempt, "lines": next(counter), **fields}

    stop = Event(stop_name)
    emit("start", worker.address)
    problem = mismatch(software(), expected, worker.address)
    if problem:
        return result(error=problem)
    if stop.is_set():
        return result(skipped=True)  # asked to stop before it began
    job = Job.from_json(job_json)
    request = job.request
    if not request.inter_op_threads:
        request = request.but(inter_op_threads=_share_of_cores(worker, get_client()))
    try:  # missing files fetched once per machine and directory, however many workers share them; the
        # run verifies every file as it loads it
        if dataset.missing(request.data_dir):
            with Lock(f"rnnmnist-mnist-{socket.gethostname()}-{Path(request.data_dir).resolve()}"):
                sources.ensure(Path(request.data_dir), say=lambda line: emit("err", line))
    except DataError as e:
        return result(error=f"MNIST on {socket.gethostname()}: {e}")
    proc = subprocess.Popen([sys.executable, "-m", "rnnmnist.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            start_new_session=True)  # a terminal's Ctrl-C does not reach it: this task tells it
    proc.stdin.write(Job(request, job.quiet).to_json() + "\n")
    proc.stdin.flush()  # left open: the worker process ends itself when this one is gone
    answers: dict[str, Any] = {}

    def pump_out() -> None:
        for line in proc.stdout:
            message = _message(line)
            if message is None:
                emit("out", line.rstrip("\n"))
            elif "line" in message:
                emit("out", message["line"])
            elif "points" in message:
                emit("points", data=message)
            else:
                answers.update(message)

    def pump_err() -> None:
        for line in proc.stderr:
            emit("err", line.rstrip("\n"))

    pumps = [threading.Thread(target=pump, daemon=True) for pump in (pump_out, pump_err)]
    for pump in pumps:
        pump.start()
    while proc.poll() is None:
        if not stop.wait(0.5):
            continue
        reason = Variable(stop_name).get(timeout=CONNECT_TIMEOUT_S)
        with contextlib.suppress(OSError):  # a run that has just ended needs no telling
            proc.stdin.write(json.dumps({"stop": reason}) + "\n")
            proc.stdin.flush()
        break
    code = proc.wait()
    for pump in pumps:
        pump.join()
    proc.stdin.close()
    if "run" not in answers and "error" not in answers and code < 0:
        raise RunLost(f"the run's process on {worker.address} was killed by {signal.Signals(-code).name}")
    return result(run=answers.get("run"), error=answers.get("error") or (None if "run" in answers else
                                                                        f"the run's process exited with code {code}"))


def _share_of_cores(worker, client) -> int:
    """This machine's cores over the runs its workers can hold at once."""
    host = worker.address.rsplit(":", 1)[0]
    slots = sum(n for address, n in client.ncores().items() if address.rsplit(":", 1)[0] == host)
    return threads_per_job(max(1, slots))


def _message(line: str) -> dict | None:
    """A worker's JSON line; None for anything else on its stdout (passed on as it is)."""
    if not line.startswith("{"):
        return None
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None
