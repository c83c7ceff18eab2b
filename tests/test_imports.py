"""The import graph of rnnmnist/ (#22): no cycle, counting every import (in functions and for type hints too),
the worker below the command line, and a Dask task's side below the client's."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rnnmnist"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found |= {f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m in modules and m != name}


def test_no_module_of_rnnmnist_imports_one_that_imports_it_back():
    modules = _modules()
    # the package's own __init__ reaches the API lazily (rnnmnist.train): every module may import the package
    graph = {name: _imports(name, path, modules) - {"rnnmnist"} for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            assert state.get(other) != "open", " -> ".join(trail + [other])
            if other not in state:
                visit(other, trail + [other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert graph["rnnmnist.request"] and "rnnmnist.results" not in graph["rnnmnist.request"]


def test_the_worker_is_below_the_command_line():
    modules = _modules()
    assert "rnnmnist.reproduce" not in _imports("rnnmnist.worker", modules["rnnmnist.worker"], modules)
    assert "rnnmnist.console" in _imports("rnnmnist.worker", modules["rnnmnist.worker"], modules)


def test_the_task_side_of_dask_is_below_the_client_side():
    modules = _modules()
    below = {"rnnmnist.task": {"rnnmnist.cluster", "rnnmnist.reproduce", "rnnmnist.worker"},
             "rnnmnist.worker": {"rnnmnist.cluster", "rnnmnist.task"},
             "rnnmnist.messages": {"rnnmnist.cluster", "rnnmnist.task", "rnnmnist.worker", "rnnmnist.reproduce"}}
    for name, above in below.items():
        assert not _imports(name, modules[name], modules) & above, name
    assert {"rnnmnist.task", "rnnmnist.messages"} <= _imports("rnnmnist.cluster", modules["rnnmnist.cluster"], modules)
    assert "rnnmnist.messages" in _imports("rnnmnist.worker", modules["rnnmnist.worker"], modules)
