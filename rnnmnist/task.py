"""The Dask task of `--jobs`/`--scheduler` (`run_job`): one run, on the worker it lands on, in a fresh
`python -m rnnmnist.worker` process (TensorFlow sizes its thread pools once per process, and a
Session must not be forked).

The task checks the worker's software against the client's, fetches MNIST if that machine lacks
it (once per machine and directory), gives the run its share of the machine's cores unless the
job says how many, and hands the run's process the `Job` on its stdin (`rnnmnist.messages`). It
passes what that process prints on to the client as numbered `TaskEvent`s, tells it to stop when
the client's stop `Event` is set (a `StopRun` line, with the reason the `Variable` of the same
name holds), and returns a `TaskResult`. A process that dies without its document raises
`RunLost`, for Dask to retry the task.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from . import cpu
from .messages import Document, Failure, Job, Line, Points, StopRun, TaskEvent, TaskResult, from_run

CHECKED = ("rnnmnist", "tensorflow", "tf-keras", "keras")  # a worker must have these as the client has them
JAX = ("jax", "jaxlib")     # and these too, for a Keras run on the JAX backend
REASON_TIMEOUT_S = 5        # for the scheduler to say why the client stopped


class RunLost(Exception):
    """The run's process ended without its document: killed (OOM, by hand). Raised to have Dask retry it."""


def threads_per_job(jobs: int) -> int:
    """The cores a run gets when `jobs` run at once on one machine."""
    return max(1, cpu.count() // jobs)


def software() -> dict[str, str]:
    """What a worker must share with the client: the versions, and rnnmnist's own sources by digest."""
    from . import __version__, identity
    found = {}
    for name in CHECKED[1:] + JAX:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "none"
    return {"rnnmnist": f"{__version__} (sources {identity.sources_sha256()[:12]})", **found}


def checked(jobs) -> tuple[str, ...]:
    """The software a worker must share with the client for these jobs: JAX's too if one runs on it."""
    return CHECKED + (JAX if any(job.request.backend == "jax" for job in jobs) else ())


def mismatch(theirs: dict[str, str], ours: dict[str, str], where: str) -> str | None:
    """One line on what differs between a worker's software and this machine's (`ours`: what is checked), or None."""
    for name in ours:
        if theirs.get(name) != ours.get(name):
            return (f"the Dask worker {where} has {name} {theirs.get(name)} where this machine has {ours.get(name)}: "
                    f"install the same there (pip install -e . in a clone of the same commit), or stop that worker")
    return None


class _Sender:
    """One attempt at a job: its events to the client, numbered, and its result, which says how many."""

    def __init__(self, worker, topic: str, index: int):
        self.worker, self.topic, self.index = worker, topic, index
        self.attempt, self.counter = uuid.uuid4().hex[:8], itertools.count()

    def emit(self, kind: str, line: str = "", points: Points | None = None) -> None:
        event = TaskEvent(self.index, self.attempt, kind, self.worker.address, next(self.counter), line, points)
        self.worker.log_event(self.topic, event.to_dict())

    def result(self, **fields: Any) -> dict:
        return TaskResult(self.attempt, next(self.counter), **fields).to_dict()


def run_job(job: dict, topic: str, index: int, stop_name: str, expected: dict[str, str]) -> dict:
    """The task: one run (`Job.to_dict()`), in a fresh process on this worker. Its lines go to `topic`
    as events; a `TaskResult.to_dict()` comes back, with its document."""
    from distributed import Event, get_client, get_worker
    from .idx import DataError
    worker = get_worker()
    send, stop = _Sender(worker, topic, index), Event(stop_name)
    send.emit("start", worker.address)
    problem = mismatch(software(), expected, worker.address)
    if problem:
        return send.result(error=problem)
    if stop.is_set():
        return send.result(skipped=True)  # asked to stop before it began
    job = Job.from_dict(job)
    if not job.inter_op_threads:
        job = replace(job, inter_op_threads=_share_of_cores(worker, get_client()))
    try:
        _ensure_mnist(Path(job.request.data_dir), send)
    except DataError as e:
        return send.result(error=f"MNIST on {socket.gethostname()}: {e}")
    code, answers = _run_in_process(job, send, stop, stop_name)
    document, failure = answers.get(Document), answers.get(Failure)
    if document is None and failure is None and code < 0:
        raise RunLost(f"the run's process on {worker.address} was killed by {signal.Signals(-code).name}")
    return send.result(run=document and document.run, error=(failure and failure.error) or (
        None if document else f"the run's process exited with code {code}"))


def _ensure_mnist(data_dir: Path, send: _Sender) -> None:
    """Missing files fetched once per machine and directory, however many workers share them (the run
    verifies every file as it loads it)."""
    from distributed import Lock
    from . import dataset, sources
    from .settings import Settings
    if dataset.missing(data_dir):
        with Lock(f"rnnmnist-mnist-{socket.gethostname()}-{data_dir.resolve()}"):  # this machine's mirror, if any
            sources.ensure(data_dir, say=lambda line: send.emit("err", line), official_url=Settings.read().mnist_url)


def _run_in_process(job: Job, send: _Sender, stop, stop_name: str) -> tuple[int, dict[type, Any]]:
    """The run in its own process, its output passed on as it comes: its exit code, and its last
    `Document` and `Failure` by type."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnmnist.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            start_new_session=True)  # a terminal's Ctrl-C does not reach it: this task tells it
    proc.stdin.write(job.to_json() + "\n")
    proc.stdin.flush()  # left open: the worker process ends itself when this one is gone
    answers: dict[type, Any] = {}
    pumps = [threading.Thread(target=_pump_out, args=(proc, send, answers), daemon=True),
             threading.Thread(target=_pump_err, args=(proc, send), daemon=True)]
    for pump in pumps:
        pump.start()
    _stop_when_asked(proc, stop, stop_name)
    code = proc.wait()
    for pump in pumps:
        pump.join()
    proc.stdin.close()
    return code, answers


def _pump_out(proc: subprocess.Popen, send: _Sender, answers: dict[type, Any]) -> None:
    for text in proc.stdout:
        message = from_run(text)
        if message is None:
            send.emit("out", text.rstrip("\n"))
        elif isinstance(message, Line):
            send.emit("out", message.line)
        elif isinstance(message, Points):
            send.emit("points", points=message)
        else:
            answers[type(message)] = message


def _pump_err(proc: subprocess.Popen, send: _Sender) -> None:
    for text in proc.stderr:
        send.emit("err", text.rstrip("\n"))


def _stop_when_asked(proc: subprocess.Popen, stop, stop_name: str) -> None:
    """Until the run's process ends: once the client's stop event is set, tell it why."""
    from distributed import Variable
    while proc.poll() is None:
        if not stop.wait(0.5):
            continue
        reason = Variable(stop_name).get(timeout=REASON_TIMEOUT_S)
        with contextlib.suppress(OSError):  # a run that has just ended needs no telling
            proc.stdin.write(StopRun(reason).to_json() + "\n")
            proc.stdin.flush()
        return


def _share_of_cores(worker, client) -> int:
    """This machine's cores over the runs its workers can hold at once."""
    host = worker.address.rsplit(":", 1)[0]
    slots = sum(n for address, n in client.ncores().items() if address.rsplit(":", 1)[0] == host)
    return threads_per_job(max(1, slots))
