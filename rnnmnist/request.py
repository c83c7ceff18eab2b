"""One run, asked for: built once by the command line or `rnnmnist.train`, and handed on whole.

The sequential loop, a `--jobs` worker and the Python API all run a `RunRequest` as it is; a worker
gets it as JSON. Nothing is rebuilt into command-line text or passed through the environment.
"""
from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from . import eras, places, registry
from .places import RUNS
from .settings import DEFAULT_DATA_DIR, Settings
from .spec import titled

PATHS = ("data_dir", "out", "tensorboard", "checkpoint")
IMPLS = ("tf1", "keras")               # the TF1 graph in a tf.compat.v1 session; the tutorial in today's Keras 3
BACKENDS = ("tensorflow", "jax")       # Keras 3's backends a Keras run can train on
JAX_EXTRA = 'pip install -e ".[jax]"'


def jax_missing() -> str | None:
    """Where JAX is not installed, the one line that says how to get it (every command that offers JAX says it)."""
    return None if importlib.util.find_spec("jax") else f"the jax backend needs JAX, which is not installed: {JAX_EXTRA}"


class RequestError(ValueError):
    """A request that cannot run, with a one-line message that says what to give instead."""


@dataclass(frozen=True)
class RunRequest:
    variant: str
    seed: int
    steps: int | None = None          # stop after this many steps (a truncated run)
    epochs: int | None = None         # the same in epochs, for tutorials with an epoch loop
    fixes: tuple[str, ...] = ()       # the tutorial's bugs switched off
    data_dir: Path = DEFAULT_DATA_DIR
    out: Path | None = RUNS           # where the run is saved (None: not saved)
    tensorboard: Path | None = None   # also write TensorBoard events under DIR/<variant>/<run>
    checkpoint: Path | None = None    # save the trained model in a new directory of its own under DIR/<variant>/
    inter_op_threads: int = 0         # the session's inter-op threads (0: one per core)
    era: str | None = None            # the TensorFlow release's behaviour to run under (None: the tutorial's own)
    impl: str = "tf1"                 # "tf1": the tutorial's graph; "keras": its Keras 3 version (variant.keras)
    backend: str | None = None        # a Keras run's Keras 3 backend (build() makes None "tensorflow"); TF1: None

    @classmethod
    def build(cls, variant: str, seed: int | None = None, *, settings: Settings = Settings(),
              **kwargs: Any) -> "RunRequest":
        """A checked request; `seed=None` is the tutorial's own seed. Raises RequestError.

        Everything is checked here, before any data is fetched or anything trained: the types, the
        ranges, and the paths (a directory that is a file, cannot be read or cannot be written).
        `settings` (the environment's, read by the caller) give the data directory and the session's
        threads where `kwargs` give none.
        """
        if not isinstance(variant, str) or variant not in registry.names():
            raise RequestError(f"unknown variant {variant!r}; known variants: {', '.join(registry.names())}")
        asked = {f.name for f in fields(cls)} - {"variant", "seed"}
        unknown = sorted(set(kwargs) - asked)
        if unknown:
            raise RequestError(f"unknown argument {unknown[0]!r}; a run takes seed, {', '.join(sorted(asked))}")
        seed = _whole("seed", seed)
        if seed is not None and not 0 <= seed < 2 ** 31:
            raise RequestError(f"seed must be between 0 and 2**31 - 1, got {seed}")
        for key in ("steps", "epochs"):
            kwargs[key] = _whole(key, kwargs.get(key))
            if kwargs[key] is not None and kwargs[key] < 1:
                raise RequestError(f"{key} must be at least 1, got {kwargs[key]}")
        kwargs["fixes"] = tuple(sorted(set(_names(kwargs.get("fixes")))))
        for key in PATHS:
            if key in kwargs:
                kwargs[key] = _path(key, kwargs[key])
        era = kwargs.get("era")
        if era is not None and (not isinstance(era, str) or era not in eras.ERAS):
            raise RequestError(f"unknown TensorFlow era {era!r}; known: {', '.join(eras.ERAS)}")
        _implementation(kwargs)
        kwargs.setdefault("inter_op_threads", settings.threads)
        if kwargs.get("data_dir") is None:
            kwargs["data_dir"] = settings.data_dir
        _check_paths(variant, kwargs["data_dir"],  # before TensorFlow's import
                     {key: kwargs.get(key, RUNS if key == "out" else None) for key in PATHS[1:]})
        if seed is None:
            seed = registry.load(variant).seed
        return cls(variant, seed, **kwargs)  # what it means for the tutorial: rnnmnist.plan.resolve

    @property
    def title(self) -> str:
        """The variant as the summaries name it: `softmax-bug --fix softmax`."""
        return titled(self.variant, self.fixes)

    @property
    def label(self) -> str:
        """What a `--jobs` line is prefixed with."""
        return f"{self.variant} seed {self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """Its fields as JSON types (paths as text, fixes as a list)."""
        return {k: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v
                for k, v in asdict(self).items()}

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


def _implementation(kwargs: dict[str, Any]) -> None:
    """`impl` and `backend` checked, a Keras run's backend made explicit (None: tensorflow)."""
    impl, backend = kwargs.get("impl", "tf1"), kwargs.get("backend")
    if not isinstance(impl, str) or impl not in IMPLS:
        raise RequestError(f"impl must be one of {', '.join(IMPLS)}, got {impl!r}")
    if impl == "tf1":
        if backend is not None:
            raise RequestError(f"backend {backend!r} is a Keras 3 backend: give it with impl='keras' (--impl keras)")
        return
    backend = "tensorflow" if backend is None else backend
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise RequestError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "jax" and jax_missing():
        raise RequestError(jax_missing())
    if kwargs.get("tensorboard") is not None:
        raise RequestError("tensorboard is written by TF1 runs only: leave it out with impl='keras' (--impl keras)")
    kwargs["impl"], kwargs["backend"] = impl, backend


def _whole(name: str, value: Any) -> int | None:
    """A whole number (an int, or NumPy's), or None; `True` and `'10'` are refused, not guessed at."""
    if value is None:
        return None
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise RequestError(f"{name} must be a whole number, got {value!r}")
    return value.__index__()


def _names(fixes: Any) -> tuple[str, ...]:
    """The fixes asked for: several names, each a str; one bare name would be read letter by letter."""
    if fixes is None:
        return ()
    if isinstance(fixes, str):
        raise RequestError(f"fixes takes a list of names, got the string {fixes!r}: give fixes=({fixes!r},)")
    try:
        names = tuple(fixes)
    except TypeError:
        raise RequestError(f"fixes takes a list of names, got {fixes!r}") from None
    for name in names:
        if not isinstance(name, str):
            raise RequestError(f"fixes takes a list of names, got {name!r} in it")
    return names


def _path(name: str, value: Any) -> Path | None:
    if value is None:
        return None
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise RequestError(f"{name} must be a directory's path, got {value!r}")
    return Path(value)


def _check_paths(variant: str, data_dir: Path, outputs: dict[str, Path | None]) -> None:
    """The directories a run reads and writes, checked before it starts; nothing is created."""
    if data_dir.is_dir() and not os.access(data_dir, os.R_OK | os.X_OK):
        raise RequestError(f"data_dir {data_dir} cannot be read; give a readable directory")
    if data_dir.exists() and not data_dir.is_dir():
        raise RequestError(f"data_dir {data_dir} is a file; give a directory (it is created if missing)")
    if not data_dir.exists():
        _writable("data_dir", data_dir, data_dir, "MNIST")
    for key, what, under in (("out", "results", variant), ("tensorboard", "TensorBoard events", variant),
                             ("checkpoint", "the model", "")):
        if outputs[key] is not None:
            _writable(key, outputs[key], outputs[key] / under, what)


def _writable(name: str, given: Path, directory: Path, what: str) -> None:
    """`directory` (under `given`) can be made and written: places.check_writable, as a RequestError."""
    try:
        places.check_writable(directory.parent, directory.name)
    except OSError as e:
        raise RequestError(f"cannot write {what} to {name} {given} ({e.strerror or e}); "
                           f"give a writable directory") from None
