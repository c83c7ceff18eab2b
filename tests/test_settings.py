"""The environment is read in one place (rnnmnist/settings.py) and handed on (issue 22, item 3)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from rnnmnist import settings
from rnnmnist.request import RunRequest
from rnnmnist.settings import Settings, SettingsError

PACKAGE = Path(settings.__file__).parent


def test_unset_or_empty_variables_give_the_defaults_and_set_ones_are_read():
    assert Settings.read({}) == Settings.read({name: "" for name in (settings.DATA_DIR, settings.SCHEDULER,
                                                                      settings.MNIST_URL, settings.THREADS)}) == Settings()
    given = Settings.read({settings.DATA_DIR: "/d", settings.SCHEDULER: "tcp://h:8786", settings.MNIST_URL: "file:///m/",
                           settings.THREADS: "3", settings.VERBOSE: "1"})
    assert given == Settings(Path("/d"), "tcp://h:8786", "file:///m/", 3, True)
    assert not Settings.read({settings.VERBOSE: "yes"}).verbose  # only 1 turns it on, as before


@pytest.mark.parametrize("text", ["-1", "two", "1.5"])
def test_a_bad_thread_count_is_one_line_that_says_what_to_give(text):
    with pytest.raises(SettingsError, match=r"^\$RNNMNIST_THREADS must be a whole number of threads \(0: one per core\)"):
        Settings.read({settings.THREADS: text})


def test_a_request_takes_what_the_settings_give_where_it_is_given_none(tmp_path):
    given = Settings(data_dir=tmp_path / "mnist", threads=3)
    request = RunRequest.build("morvan", 1, settings=given, out=None)
    assert request.data_dir == tmp_path / "mnist" and request.inter_op_threads == 3
    asked = RunRequest.build("morvan", 1, settings=given, out=None, data_dir=tmp_path / "other", inter_op_threads=1)
    assert asked.data_dir == tmp_path / "other" and asked.inter_op_threads == 1
    assert RunRequest.build("morvan", 1, out=None).data_dir == settings.DEFAULT_DATA_DIR  # no settings: the defaults


def test_no_module_but_settings_names_an_rnnmnist_variable():
    """Every RNNMNIST_* variable is read by rnnmnist/settings.py alone (docstrings and help texts may name them)."""
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                assert not node.value.startswith("RNNMNIST_"), f"{path.name}:{node.lineno} reads {node.value}"


def test_the_command_line_refuses_a_bad_variable_in_one_line_before_any_work(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rnnmnist.reproduce", "--variant", "morvan", "--steps", "1"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={"PATH": "/usr/bin:/bin", settings.THREADS: "many"})
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == ("python -m rnnmnist.reproduce: error: $RNNMNIST_THREADS must be a whole number of threads "
                          "(0: one per core), got 'many' (see --help)\n")
    assert list(tmp_path.iterdir()) == []  # nothing fetched, nothing saved
