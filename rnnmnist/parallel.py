"""`--jobs N`: several runs at once, each in a `python -m rnnmnist.worker` process of its own.

One run of these small graphs keeps about one core busy (docs/MAINTAINING.md), so the runs of
`--variant all` or `--seeds K` go to N worker processes, each with cores // N inter-op threads.
TensorFlow sizes its thread pools once per process and a Session must not be forked, hence a
fresh process per run. A worker gets its `RunRequest` whole, as JSON on stdin, and answers in
JSON lines on stdout: each printed line as it comes, then the run's document, which this
process saves. Its stderr (progress, TensorFlow's own noise) is passed on as it is.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from typing import Callable

from .cluster import Job
from .stopping import NAMES, Stop


@dataclass(frozen=True)
class Finished:
    job: Job
    returncode: int
    record: dict | None   # the run's document, if the worker got that far
    error: str | None     # the worker's one-line error, if it had one


def threads_per_job(jobs: int) -> int:
    """The cores a worker gets when `jobs` run at once."""
    return max(1, (os.cpu_count() or 1) // jobs)


def run(jobs: list[Job], n: int, say: Callable[[str], None] = print, stop: Stop | None = None,
        finished_one: Callable[[Finished], None] = lambda f: None) -> list[Finished]:
    """Run the jobs, n at a time; forward Ctrl-C and SIGTERM to the workers (never raise).

    A request on `stop` (`say` found stdout closed) reaches the workers as SIGTERM. `finished_one`
    gets each job as it ends (to save its run at once). Returns the jobs that were started, in the
    order given.
    """
    stop = stop or Stop()
    threads = threads_per_job(n)
    lines: queue.Queue = queue.Queue()
    pending, running, finished, stops = list(enumerate(jobs)), {}, {}, []
    answers: dict[int, dict] = {}

    def stop_all(signum: int) -> None:  # the workers stop after their step in progress (twice: at once)
        stops.append(signum)
        for proc in running.values():
            proc.send_signal(signum)

    def pump(index: int, stream, kind: str) -> None:
        for line in stream:
            lines.put((index, kind, line.rstrip("\n")))
        lines.put((index, kind, None))

    previous = {s: signal.signal(s, lambda signum, frame: stop_all(signum)) for s in NAMES}
    try:
        open_streams: dict[int, int] = {}
        while pending or running:
            if stop.requested and not stops:
                stop_all(signal.SIGTERM)
            while pending and len(running) < n and not stops:
                index, job = pending.pop(0)
                job = replace(job, request=job.request.but(inter_op_threads=threads, out=None))
                # a session of its own: Ctrl-C reaches a worker once, forwarded, not also from the terminal
                proc = subprocess.Popen([sys.executable, "-m", "rnnmnist.worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
                proc.stdin.write(job.to_json() + "\n")
                proc.stdin.flush()  # left open: a worker ends itself when its starter is gone
                running[index], open_streams[index], answers[index] = proc, 2, {}
                threading.Thread(target=pump, args=(index, proc.stdout, "out"), daemon=True).start()
                threading.Thread(target=pump, args=(index, proc.stderr, "err"), daemon=True).start()
            try:
                index, kind, line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            label = jobs[index].request.label
            if line is None:
                open_streams[index] -= 1
                if not open_streams[index]:
                    code = running.pop(index).wait()
                    finished[index] = Finished(jobs[index], code, answers[index].get("run"),
                                               answers[index].get("error"))
                    finished_one(finished[index])
                continue
            message = _message(line) if kind == "out" else None
            if message is None:
                say(f"[{label}] {line}")
            elif "line" in message:
                say(f"[{label}] {message['line']}")
            else:
                answers[index].update(message)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stops:
        stop.request(NAMES[stops[0]])
    return [finished[index] for index in sorted(finished)]


def _message(line: str) -> dict | None:
    """A worker's JSON line; None for anything else on its stdout (passed on as it is)."""
    if not line.startswith("{"):
        return None
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None
