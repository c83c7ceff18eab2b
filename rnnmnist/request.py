"""One run, asked for: built once by the command line or `rnnmnist.train`, and handed on whole.

The sequential loop, a `--jobs` worker and the Python API all run a `RunRequest` as it is; a worker
gets it as JSON. Nothing is rebuilt into command-line text or passed through the environment.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import eras, registry
from .dataset import default_data_dir
from .results import RUNS
from .spec import Schedule, Variant, titled

# The runner's inter-op threads per session when a request names none (default: one per core).
THREADS_ENV = "RNNMNIST_THREADS"


class RequestError(ValueError):
    """A request that cannot run, with a one-line message that says what to give instead."""


@dataclass(frozen=True)
class RunRequest:
    variant: str
    seed: int
    steps: int | None = None          # stop after this many steps (a truncated run)
    epochs: int | None = None         # the same in epochs, for tutorials with an epoch loop
    fixes: tuple[str, ...] = ()       # the tutorial's bugs switched off
    data_dir: Path = field(default_factory=default_data_dir)
    out: Path | None = RUNS           # where the run is saved (None: not saved)
    tensorboard: Path | None = None   # also write TensorBoard events under DIR/<variant>/<run>
    checkpoint: Path | None = None    # save the trained model in a new directory of its own under DIR/<variant>/
    inter_op_threads: int = 0         # the session's inter-op threads (0: one per core)
    era: str | None = None            # the TensorFlow release's behaviour to run under (None: the tutorial's own)

    @classmethod
    def build(cls, variant: str, seed: int | None = None, **kwargs: Any) -> "RunRequest":
        """A checked request; `seed=None` is the tutorial's own seed. Raises RequestError."""
        if variant not in registry.names():
            raise RequestError(f"unknown variant {variant!r}; known variants: {', '.join(registry.names())}")
        if seed is None:
            seed = registry.load(variant).seed
        if not 0 <= seed < 2 ** 31:
            raise RequestError(f"seed must be between 0 and 2**31 - 1, got {seed}")
        kwargs["fixes"] = tuple(sorted(set(kwargs.get("fixes") or ())))
        for key in ("data_dir", "out", "tensorboard", "checkpoint"):
            if kwargs.get(key) is not None:
                kwargs[key] = Path(kwargs[key])
        if kwargs.get("era") is not None and kwargs["era"] not in eras.ERAS:
            raise RequestError(f"unknown TensorFlow era {kwargs['era']!r}; known: {', '.join(eras.ERAS)}")
        if "inter_op_threads" not in kwargs:
            kwargs["inter_op_threads"] = int(os.environ.get(THREADS_ENV) or 0)
        request = cls(variant, seed, **{k: v for k, v in kwargs.items() if not (k == "data_dir" and v is None)})
        request.schedule(registry.load(variant))  # unknown fixes, --epochs on a step loop: said now
        return request

    def schedule(self, variant: Variant) -> tuple[Schedule, bool, list[str]]:
        """The tutorial's schedule cut as asked; whether it was cut; notes on what was asked beyond it."""
        unknown = sorted(set(self.fixes) - set(variant.fixes))
        if unknown:
            raise RequestError(f"{variant.name} has no fix {unknown[0]!r}; its fixes: {', '.join(variant.fixes) or 'none'}")
        for name, value in (("steps", self.steps), ("epochs", self.epochs)):
            if value is not None and value < 1:
                raise RequestError(f"{name} must be at least 1, got {value}")
        schedule, notes = variant.schedule, []
        if self.epochs is not None:
            if not schedule.steps_per_epoch:
                raise RequestError(f"{variant.name} counts steps, not epochs: use --steps")
            if self.epochs > schedule.epochs:
                notes.append(f"{variant.name} has {schedule.epochs} epochs: --epochs {self.epochs} runs all "
                             f"{schedule.epochs}")
            schedule = schedule.truncated_epochs(self.epochs)
        if self.steps is not None:
            if self.steps > len(schedule.steps):
                notes.append(f"{variant.name} has {len(schedule.steps)} steps: --steps {self.steps} runs all "
                             f"{len(schedule.steps)}")
            schedule = schedule.truncated(self.steps)
        return schedule, len(schedule.steps) < len(variant.schedule.steps), notes

    def era_of(self, variant: Variant) -> "eras.Era":
        """The release whose behaviour this run has: the one asked for, else the tutorial's own."""
        return eras.get(self.era or variant.era)

    @property
    def title(self) -> str:
        """The variant as the summaries name it: `softmax-bug --fix softmax`."""
        return titled(self.variant, self.fixes)

    @property
    def label(self) -> str:
        """What a `--jobs` line is prefixed with."""
        return f"{self.variant} seed {self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """Its fields as JSON types (paths as text)."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> "RunRequest":
        data = dict(fields)
        for key in ("data_dir", "out", "tensorboard", "checkpoint"):
            if data.get(key) is not None:
                data[key] = Path(data[key])
        data["fixes"] = tuple(data["fixes"])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "RunRequest":
        return cls.from_dict(json.loads(text))

    def but(self, **changes: Any) -> "RunRequest":
        return replace(self, **changes)
