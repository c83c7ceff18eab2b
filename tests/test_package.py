"""The package is whole outside the clone: the wheel and the sdist hold every module of the source tree,
and a wheel installed elsewhere runs the main command and a pitfall lesson, recording what its code is.

Built once for the module (python -m build --no-isolation: offline, with the `test` extra's build tools),
from a copy of what a build reads, so nothing is written into the clone.
"""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import rnnmnist
from rnnmnist import identity, report, results
from rnnmnist.pitfalls import LESSONS

REPO = Path(__file__).resolve().parent.parent
NAME = f"rnnmnist-{rnnmnist.__version__}"
DEPENDENCIES = "dependencies-of-the-test.pth"  # the .pth the test adds, not the wheel
TIMEOUT_S = 300  # a TensorFlow import and 3 steps take about 20 s on one free core


def tree_modules() -> set[str]:
    """Every module of the source tree, named as it is installed: variants/x.py is rnnmnist/tutorials/x.py."""
    names = {p.relative_to(REPO).as_posix() for p in (REPO / "rnnmnist").rglob("*.py")}
    return names | {"rnnmnist/tutorials/" + p.relative_to(REPO / "variants").as_posix()
                    for p in (REPO / "variants").rglob("*.py")}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist, and the wheel built from it (what `python -m build` does), in one directory."""
    work = tmp_path_factory.mktemp("package")
    source, out = work / "source", work / "dist"
    source.mkdir()
    for entry in REPO.iterdir():  # the top-level files (setup.cfg, pyproject.toml, README.md, ...) and the packages
        if entry.is_file() and not entry.name.startswith("."):
            shutil.copy2(entry, source)
    for folder in ("rnnmnist", "variants"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
                           capture_output=True, text=True, timeout=TIMEOUT_S)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed in it, and nothing else of this project.

    The dependencies (TensorFlow: a gigabyte) come from this interpreter's own site-packages, which a
    .pth file adds after the venv's (not --system-site-packages: from inside a venv, as in CI, that
    would be the base Python's, without them). Those can hold a clone's editable install, but the
    venv's own site-packages comes first, so its rnnmnist wins; each command runs with `python -I`
    (no PYTHONPATH, no current directory on the path) from a directory outside the clone, and the test
    checks which rnnmnist was imported. No pip in the venv (the test's, through that .pth, installs into it), so its
    site-packages holds only what the wheel put there beside that .pth.
    """
    env = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=TIMEOUT_S)
    ours = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    (site_packages(env) / DEPENDENCIES).write_text(f"import site; list(map(site.addsitedir, {ours!r}))\n")
    wheel, = dist.glob("*.whl")
    # --ignore-installed: pip neither looks at nor tries to uninstall the clone's editable install
    installed = run(env, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "--ignore-installed",
                    str(wheel), cwd=env)
    assert installed.returncode == 0, installed.stderr
    return env


def run(env: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The venv's python, isolated from PYTHONPATH and the current directory."""
    return subprocess.run([str(env / "bin" / "python"), "-I", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT_S)


def site_packages(env: Path) -> Path:
    found, = env.glob("lib/python*/site-packages")
    return found


def test_the_wheel_and_the_sdist_hold_every_module(dist):
    wheel, = dist.glob("*.whl")
    sdist, = dist.glob("*.tar.gz")
    in_wheel = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    assert in_wheel == tree_modules()
    with tarfile.open(sdist) as tar:
        in_sdist = {n.removeprefix(NAME + "/") for n in tar.getnames() if n.endswith(".py")}
    expected = {p.relative_to(REPO).as_posix() for folder in ("rnnmnist", "variants")
                for p in (REPO / folder).rglob("*.py")}
    assert in_sdist == expected


def test_only_rnnmnist_sits_at_the_top_of_site_packages(venv):
    top = {p.name for p in site_packages(venv).iterdir()} - {DEPENDENCIES}
    assert top == {"rnnmnist", f"{NAME}.dist-info"}
    assert (site_packages(venv) / f"{NAME}.dist-info" / "top_level.txt").read_text().split() == ["rnnmnist"]


def test_an_installed_wheel_runs_the_main_command_and_records_its_code(venv, mnist_dir, tmp_path):
    where = run(venv, "-c", "import rnnmnist, rnnmnist.tutorials as t; print(rnnmnist.__file__); print(t.__file__)",
                cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert [Path(p).parent.parent for p in where.stdout.split()] == [site_packages(venv), site_packages(venv) / "rnnmnist"]

    ran = run(venv, "-m", "rnnmnist.reproduce", "--variant", "morvan", "--steps", "3", "--data-dir", str(mnist_dir),
              "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    saved, = (tmp_path / "runs" / "morvan").glob("*.json")
    provenance = results.load(saved)["provenance"]
    assert provenance["git"]["commit"] is None  # not a checkout: the version and the sources say what ran
    assert provenance["code"] == {"version": rnnmnist.__version__, "sources_sha256": identity.sources_sha256()}
    assert report.code_of(provenance) == f"{rnnmnist.__version__}+{identity.sources_sha256()[:10]}"


def test_an_installed_wheel_lists_and_runs_the_pitfall_lessons(venv, tmp_path):
    listing = run(venv, "-m", "rnnmnist.pitfalls", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[0] for line in listing.stdout.splitlines()[:len(LESSONS)]] == list(LESSONS)
    # the cheapest lesson that imports a variant (softmax-bug) from rnnmnist.tutorials: no training
    lesson = run(venv, "-m", "rnnmnist.pitfalls", "variable-reuse", cwd=tmp_path)
    assert lesson.returncode == 0, lesson.stderr[-2000:]
    assert lesson.stdout.startswith("== variable-reuse:") and "Traceback" not in lesson.stderr


def test_an_installed_wheel_checks_a_curve_and_says_it_has_no_committed_band(venv, tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("0.1875\n0.65625\n", encoding="utf-8")
    checked = run(venv, "-m", "rnnmnist.check", "--variant", "morvan", str(log), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "verdict: " in checked.stdout and checked.stdout.rstrip().splitlines()[-1].startswith(
        "no committed seed band here")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_only_the_checkout_the_code_runs_from_gives_the_commit(tmp_path, monkeypatch):
    """A wheel in a venv inside some repository (a .venv in a clone) is not that repository's commit."""
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    for package in (tmp_path / ".venv" / "lib" / "site-packages" / "rnnmnist", tmp_path / "rnnmnist"):
        package.mkdir(parents=True)
    monkeypatch.setattr(results, "__file__", str(tmp_path / ".venv" / "lib" / "site-packages" / "rnnmnist" / "results.py"))
    assert results.git_commit() == {"commit": None, "dirty": None}
    monkeypatch.setattr(results, "__file__", str(tmp_path / "rnnmnist" / "results.py"))
    assert results.git_commit() == {"commit": head, "dirty": False}
