"""The variants: found by module name in `rnnmnist.tutorials` (the folder variants/ of a source tree),
described without importing TensorFlow."""
from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

from . import tutorials
from .spec import Variant


def names() -> list[str]:
    """Variant names: module `softmax_bug` is variant `softmax-bug`."""
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(tutorials.__path__))


def source(name: str) -> str:
    """The variant module's text, read without importing it."""
    return (Path(tutorials.__path__[0]) / f"{name.replace('-', '_')}.py").read_text(encoding="utf-8")


def describe(name: str) -> str:
    """The first line of the variant module's docstring, read without importing it."""
    doc = ast.get_docstring(ast.parse(source(name))) or ""
    return doc.splitlines()[0] if doc else ""


def load(name: str) -> Variant:
    """Import the variant (TensorFlow only when its graph is built: rnnmnist.lazytf)."""
    if name not in names():
        raise KeyError(name)
    return importlib.import_module(f"{tutorials.__name__}.{name.replace('-', '_')}").VARIANT
