"""What the pieces of a `--jobs`/`--scheduler` run say to each other, each as a frozen dataclass with
`to_dict()`/`from_dict()` (JSON types only), so that every side writes and reads them the same way.

- The client to its task, and the task to the run's process (one JSON line on its stdin): `Job`.
- The run's process to its task, JSON lines on its stdout: `Line` (a line the run prints), `Points`
  (the numbers it records, sent before the line that prints them), then `Document` (the run's
  document) or `Failure`. Any other line on its stdout is passed on as printed. The task to the
  run's process, a later line on its stdin: `StopRun` (stop after the step, marked with the reason).
- The task to the client: `TaskEvent`s (Dask's `log_event`), numbered, then its `TaskResult`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Union

from .request import RunRequest


class _Message:
    """Fields as they are (JSON types already), one JSON line."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class Job(_Message):
    """One run, as the client asked for it, and how to run it."""
    request: RunRequest
    quiet: bool = False         # print only the comparison, as --quiet does
    inter_op_threads: int = 0   # the session's inter-op threads (0: the task gives its share of its machine's cores)
    verbose: bool = False       # TensorFlow's own log lines, as --verbose shows them
    bare: bool = False          # only the tutorial's lines, as api.execute prints them (no header, no comparison)

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "quiet": self.quiet, "inter_op_threads": self.inter_op_threads,
                "verbose": self.verbose, "bare": self.bare}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        return cls(RunRequest.from_dict(data["request"]), data["quiet"], data["inter_op_threads"], data["verbose"],
                   data.get("bare", False))


@dataclass(frozen=True)
class Line(_Message):
    """A line the run prints."""
    line: str


@dataclass(frozen=True)
class Points(_Message):
    """Numbers the run has recorded since its last `Points`, and where it is; `provenance` (where it
    trains, as its document will say) comes with the first."""
    points: tuple[dict[str, Any], ...]   # each a `curve.Point` as JSON
    steps_run: int
    train_time_s: float
    wall_time_s: float
    provenance: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "points": list(self.points)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Points":
        return cls(**{**data, "points": tuple(data["points"])})

    def then(self, later: "Points") -> "Points":
        """These points and the later ones, where the run is by the later."""
        return Points(self.points + later.points, later.steps_run, later.train_time_s, later.wall_time_s,
                      later.provenance or self.provenance)


@dataclass(frozen=True)
class Document(_Message):
    """The run's document, as `results.record` makes it."""
    run: dict[str, Any]


@dataclass(frozen=True)
class Failure(_Message):
    """Why the run could not go on, in one line."""
    error: str


@dataclass(frozen=True)
class StopRun(_Message):
    """Stop after the step in progress, marked with this reason (KeyboardInterrupt, SIGTERM, BrokenPipe)."""
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"stop": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StopRun":
        return cls(str(data["stop"]))


FromRun = Union[Line, Points, Document, Failure]
_FROM_RUN = {"line": Line, "points": Points, "run": Document, "error": Failure}  # each by the key only it has


def from_run(text: str) -> FromRun | None:
    """A message on the run's stdout; None for any other line there."""
    try:
        data = json.loads(text) if text.startswith("{") else None
        kind = next(kind for key, kind in _FROM_RUN.items() if key in data)
        return kind.from_dict(data)
    except (ValueError, TypeError, KeyError, StopIteration):
        return None


KINDS = ("start", "out", "err", "points")   # the task began on a worker; a line on stdout, on stderr; numbers


@dataclass(frozen=True)
class TaskEvent(_Message):
    """What a task sends the client while its run goes: numbered (`seq`) within its attempt."""
    job: int          # the job's place in the list the client sent
    attempt: str      # this try at the job (a lost one is tried again, elsewhere perhaps)
    kind: str         # one of KINDS
    worker: str       # the Dask worker's address
    seq: int
    line: str = ""
    points: Points | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a task event is one of {', '.join(KINDS)}, not {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "points": self.points and self.points.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TaskEvent":
        return cls(**{**data, "points": data["points"] and Points.from_dict(data["points"])})


@dataclass(frozen=True)
class TaskResult(_Message):
    """How a task ended: with the run's document or why not; `skipped` if stopped before it began.
    `lines`: how many events it sent, so the client waits for them all (none if the task itself failed)."""
    attempt: str | None = None
    lines: int = 0
    run: dict[str, Any] | None = None
    error: str | None = None
    skipped: bool = False
