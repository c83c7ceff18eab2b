"""`--jobs N`: several runs at once, each in a `python -m rnnmnist.reproduce` process of its own.

One run of these small graphs keeps about one core busy (README, performance). So the runs of
`--variant all` or `--seeds K` go to N worker processes, each given cores // N threads, and
their lines are printed as they come, prefixed with the run.
Each worker saves its own run, exactly as a run started by hand would.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import stopping

OUTCOME_ENV = "RNNMNIST_OUTCOME"  # a worker writes its outcome (JSON) to this file
THREADS_ENV = "RNNMNIST_THREADS"  # the runner's threads per session


@dataclass(frozen=True)
class Task:
    label: str         # printed before each of its lines
    argv: list[str]    # python -m rnnmnist.reproduce's arguments for this one run


@dataclass(frozen=True)
class Finished:
    task: Task
    returncode: int
    outcome: dict | None   # what the worker wrote to OUTCOME_ENV, if it got that far


def threads_per_job(jobs: int) -> int:
    """The cores a worker gets when `jobs` run at once."""
    return max(1, (os.cpu_count() or 1) // jobs)


def run(tasks: list[Task], jobs: int, say: Callable[[str], None] = print) -> list[Finished]:
    """Run the tasks, `jobs` at a time; forward Ctrl-C and SIGTERM to the workers (never raise).

    A stop requested in this process some other way (`stopping.request`: `say` found stdout
    closed) reaches the workers as SIGTERM. Returns the tasks that were started, in the order given.
    """
    threads = threads_per_job(jobs)
    lines: queue.Queue = queue.Queue()
    pending, running, finished, stops = list(enumerate(tasks)), {}, {}, []

    def stop_all(signum: int) -> None:  # the workers stop after their step in progress (twice: at once)
        stops.append(signum)
        for proc in running.values():
            proc.send_signal(signum)

    def forward(signum, frame):
        stop_all(signum)

    def pump(index: int, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            lines.put((index, line.rstrip("\n")))
        lines.put((index, None))

    previous = {s: signal.signal(s, forward) for s in stopping.NAMES}
    try:
        with tempfile.TemporaryDirectory(prefix="rnnmnist-jobs-") as tmp:
            while pending or running:
                if stopping.requested and not stops:
                    stop_all(signal.SIGTERM)
                while pending and len(running) < jobs and not stops:
                    index, task = pending.pop(0)
                    env = {**os.environ, THREADS_ENV: str(threads), OUTCOME_ENV: str(Path(tmp) / f"{index}.json"),
                           "PYTHONUNBUFFERED": "1"}
                    # a session of its own: Ctrl-C reaches a worker once, forwarded, not also from the terminal
                    proc = subprocess.Popen([sys.executable, "-m", "rnnmnist.reproduce", *task.argv], env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                            start_new_session=True)
                    running[index] = proc
                    threading.Thread(target=pump, args=(index, proc), daemon=True).start()
                try:
                    index, line = lines.get(timeout=0.5)
                except queue.Empty:
                    continue
                if line is not None:
                    say(f"[{tasks[index].label}] {line}")
                    continue
                code = running.pop(index).wait()
                outcome = Path(tmp) / f"{index}.json"
                finished[index] = Finished(tasks[index], code, json.loads(outcome.read_text())
                                           if outcome.exists() else None)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stops:
        stopping.request(stopping.NAMES[stops[0]])
    return [finished[index] for index in sorted(finished)]
