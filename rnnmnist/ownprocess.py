"""A run in a `python -m rnnmnist.worker` process of its own, from this one: for a Keras run this process cannot
take (rnnmnist.kerasrunner.runs_here), as `api.execute` sees to.

The same protocol as a `--jobs` run (rnnmnist.messages): a `Job` line on its stdin, which stays open for a
`StopRun`; `Line`s and `Points` on its stdout, passed on to `echo` and `on_record` as they come, then its
`Document`, read back into the Run it was (`Run.from_record`). Its stderr (progress) goes to `progress`.
A Ctrl-C here (KeyboardInterrupt, a Jupyter kernel's interrupt) or a request on `stop` is sent on: the run
stops after its step and comes back interrupted, as in this process.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Callable, TextIO

from . import results, tflogs
from .curve import Point
from .messages import Document, Failure, Job, Line, Points, StopRun, from_run
from .stopping import Stop

if TYPE_CHECKING:
    from .plan import Plan
    from .run import Run


class RunFailed(RuntimeError):
    """The run's own process ended without its document; the message is its last line of output."""


def environment(plan: "Plan") -> dict[str, str]:
    """This process's environment, with the run's Keras backend for the new one's first import of Keras."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KERAS_BACKEND": plan.backend}
    env.pop("TF_USE_LEGACY_KERAS", None)  # set by rnnmnist.tfcompat here for the TF1 cells; not Keras 3's
    return env


def execute(plan: "Plan", echo: Callable[[str], None] | None, progress: TextIO | None, stop: Stop | None,
            on_record: Callable[[list[Point], int, float], None] | None) -> "Run":
    """Train `plan` in a process of its own; the Run it sends back, stamped with this process's command."""
    from .run import Run
    stop = stop or Stop()
    job = Job(plan.request, quiet=echo is None, inter_op_threads=plan.inter_op_threads, verbose=tflogs.shown,
              bare=True)
    proc = subprocess.Popen([sys.executable, "-m", "rnnmnist.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=environment(plan),
                            start_new_session=True)  # a terminal's Ctrl-C reaches it through this process
    proc.stdin.write((job.to_json() + "\n").encode())
    proc.stdin.flush()  # left open: the worker ends itself once this process is gone
    errors: list[str] = []
    pump = threading.Thread(target=_pump_err, args=(proc, progress, errors), daemon=True)
    pump.start()
    watch = threading.Thread(target=_stop_when_asked, args=(proc, stop), daemon=True)
    watch.start()
    answers: dict[type, object] = {}
    try:
        _follow(proc, echo, on_record, answers, stop)
    finally:
        if proc.poll() is None:  # this process is being torn down: do not leave the run behind
            proc.kill()
            proc.wait()
        pump.join()
        with contextlib.suppress(OSError):
            proc.stdin.close()
    document, failure = answers.get(Document), answers.get(Failure)
    if document is not None:
        return Run.from_record(document.run).with_invoked_as(results.command_line())
    why = failure.error if failure is not None else (errors[-1] if errors else f"exit code {proc.returncode}")
    raise RunFailed(f"the {plan.request.label} run's own process failed: {why}")


def _follow(proc: subprocess.Popen, echo, on_record, answers: dict, stop: Stop) -> None:
    """Pass on what the run sends until it ends. A Ctrl-C here, wherever it lands (waiting for a line, or in
    `echo`: Jupyter's interrupt), stops the run after its step; it still comes back, interrupted."""
    while True:
        try:
            text = proc.stdout.readline()
            if not text:
                break
            text = text.decode(errors="replace")
            _handle(from_run(text), text, echo, on_record, answers)
        except KeyboardInterrupt:
            stop.request("KeyboardInterrupt")
    while True:
        try:
            proc.wait()
            return
        except KeyboardInterrupt:  # its document is in; it is ending
            stop.request("KeyboardInterrupt")


def _handle(message, text: str, echo, on_record, answers: dict) -> None:
    if message is None:  # a line the run printed past the protocol
        if echo:
            echo(text.rstrip("\n"))
    elif isinstance(message, Line):
        if echo:
            echo(message.line)
    elif isinstance(message, Points):
        if on_record is not None:
            on_record([Point(**p) for p in message.points], message.steps_run, message.train_time_s)
    else:
        answers[type(message)] = message


def _pump_err(proc: subprocess.Popen, progress: TextIO | None, errors: list[str]) -> None:
    """Its stderr (the progress line, warnings) to `progress` as written (a progress line redraws itself
    with \\r); its last lines kept for a failure's message."""
    tail = ""
    while True:
        chunk = os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
        if not chunk:
            errors.extend(line.strip() for line in tail.replace("\r", "\n").splitlines()[-20:] if line.strip())
            return
        tail = (tail + chunk)[-4000:]
        if progress is not None:
            with contextlib.suppress(ValueError, OSError):
                progress.write(chunk)
                progress.flush()


def _stop_when_asked(proc: subprocess.Popen, stop: Stop) -> None:
    """Until the run's process ends: once a stop is requested here, tell it why."""
    while proc.poll() is None:
        if stop.requested:
            with contextlib.suppress(OSError, ValueError):  # a run that has just ended needs no telling
                proc.stdin.write((StopRun(stop.requested).to_json() + "\n").encode())
                proc.stdin.flush()
            return
        with contextlib.suppress(Exception):
            proc.wait(0.2)
