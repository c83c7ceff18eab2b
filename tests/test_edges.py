"""Bad input, drawn at random: one line (a ValueError from Python, exit 2 from the command line) and
nothing on disk changed, before any data is fetched or anything trained.

Every example holds at least one argument that is wrong (a type, a range, a name, or a path that is a
file, under a file, or cannot be written), with the rest drawn from values that are right or wrong.
Fetching and training are tripwires here: an example that got that far is a bug, not a slow test.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rnnmnist
from rnnmnist import api, bench, bench_cluster, data, dataset, eras, idx, registry, report, sources
from rnnmnist.settings import DATA_DIR as DATA_DIR_ENV

ROOT = os.geteuid() == 0  # root writes anywhere: a read-only directory is no test then
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A working directory with a file where directories are asked for, a directory, and a read-only one.

    Fetching MNIST, training and measuring raise: validation must have refused every example before.
    """
    (tmp_path / "afile").write_text("not a directory\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "kept.txt").write_text("mine\n")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)  # the default data directory is here, in the snapshot

    def tripwire(*args, **kwargs):
        raise AssertionError("invalid input reached the data or the training: it was not refused first")
    monkeypatch.setattr(sources, "ensure", tripwire)
    monkeypatch.setattr(dataset, "load_raw", tripwire)
    monkeypatch.setattr(api, "execute", tripwire)
    monkeypatch.setattr(bench, "measure", tripwire)
    monkeypatch.setattr(bench_cluster, "time_one", tripwire)
    yield tmp_path
    (tmp_path / "ro").chmod(0o755)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its kind, mode and bytes: what must be the same after a refusal."""
    return {str(p.relative_to(root)): (p.is_dir(), p.stat().st_mode, None if p.is_dir() else p.read_bytes())
            for p in sorted(root.rglob("*"))}


# Directories asked for (data_dir, out, tensorboard, checkpoint): wrong ones and right ones.
BAD_DIRS = ["afile", "afile/sub"] + ([] if ROOT else ["ro/new"])
GOOD_DIRS = ["adir", "new/deeper"]

NAMES = registry.names()


def one_wrong(wrong: dict[str, st.SearchStrategy], right: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Keyword arguments with at least one wrong value; every other one right or wrong."""
    @st.composite
    def draw(d):
        chosen = d(st.sampled_from(sorted(wrong)))
        kwargs = {chosen: d(wrong[chosen])}
        for key in sorted(right):
            if key != chosen and d(st.booleans()):
                kwargs[key] = d(st.one_of(right[key], wrong[key]) if key in wrong else right[key])
        return kwargs
    return draw()


# -- train(): a ValueError in one line ------------------------------------------------------------

not_whole = st.sampled_from([True, False, 1.5, 2.0, "10", b"3", [1]])
path_like = st.sampled_from([*GOOD_DIRS, *map(Path, GOOD_DIRS)])  # str or Path
TRAIN_WRONG = {
    "variant": st.sampled_from(["nope", "", "MORVAN", 3, None, ["morvan"]]),
    "seed": st.one_of(not_whole, st.integers(max_value=-1), st.integers(min_value=2 ** 31)),
    "steps": st.one_of(not_whole, st.integers(max_value=0)),
    "epochs": st.one_of(not_whole, st.integers(max_value=0)),
    "fixes": st.sampled_from(["softmax", "nope", ["nope"], [1], 3, [b"softmax"]]),
    "era": st.sampled_from(["2.0", "", 1.2, ["1.2"]]),
    **{key: st.sampled_from([*BAD_DIRS, 3, b"adir", ""]) for key in ("data_dir", "out", "tensorboard", "checkpoint")},
}
TRAIN_RIGHT = {
    "variant": st.sampled_from(NAMES),
    "seed": st.one_of(st.none(), st.integers(0, 2 ** 31 - 1)),
    "steps": st.one_of(st.none(), st.integers(1, 10 ** 6)),
    "fixes": st.just(()),
    "era": st.one_of(st.none(), st.sampled_from(list(eras.ERAS))),
    **{key: st.one_of(st.none(), path_like) for key in ("data_dir", "out", "tensorboard", "checkpoint")},
}


@FAST
@given(kwargs=one_wrong(TRAIN_WRONG, TRAIN_RIGHT))
@example(kwargs={"variant": "morvan", "steps": 3, "out": "afile"})
@example(kwargs={"variant": "morvan", "data_dir": "afile"})
@example(kwargs={"variant": "softmax-bug", "fixes": "softmax"})
@example(kwargs={"variant": "morvan", "steps": "10"})
def test_train_refuses_bad_arguments_in_one_line_and_changes_nothing(tree, kwargs):
    before = snapshot(tree)
    kwargs = dict(kwargs)
    variant = kwargs.pop("variant", "morvan")
    with pytest.raises(ValueError) as refused:
        rnnmnist.train(variant, quiet=True, **kwargs)
    message = str(refused.value)
    assert message and "\n" not in message and "Traceback" not in message
    assert snapshot(tree) == before


def test_the_issues_cases_say_what_to_give(tree):
    cases = [({"out": "afile", "steps": 3}, "cannot write results to out afile (afile is a file)"),
             ({"data_dir": "afile"}, "data_dir afile is a file; give a directory"),
             ({"steps": "10"}, "steps must be a whole number, got '10'"),
             ({"steps": True}, "steps must be a whole number, got True"),
             ({"stepz": 3}, "unknown argument 'stepz'; a run takes seed, backend, checkpoint, ")]
    for kwargs, said in cases:
        with pytest.raises(ValueError, match=said.replace("(", r"\(").replace(")", r"\)")):
            rnnmnist.train("morvan", quiet=True, **kwargs)
    with pytest.raises(ValueError, match=r"got the string 'softmax': give fixes=\('softmax',\)"):
        rnnmnist.train("softmax-bug", fixes="softmax")


# -- the command line: exit 2, one line on stderr ---------------------------------------------------

def flag(name: str, values: st.SearchStrategy) -> st.SearchStrategy:
    return values.map(lambda v: [name, str(v)])


BAD_NUMBER = st.sampled_from(["0", "-3", "ten", "1.5", "", "1e3"])
CLI_WRONG = {
    "--variant": flag("--variant", st.sampled_from(["nope", "", "MORVAN"])),
    "--seed": flag("--seed", st.sampled_from(["-1", "2147483648", "x", "1.0"])),
    "--seeds": flag("--seeds", BAD_NUMBER),
    "--jobs": flag("--jobs", BAD_NUMBER),
    "--steps": flag("--steps", BAD_NUMBER),
    "--epochs": flag("--epochs", BAD_NUMBER),
    "--fix": flag("--fix", st.sampled_from(["nope", ""])),
    "--tf-semantics": flag("--tf-semantics", st.sampled_from(["2.0", ""])),
    **{f"--{key}": flag(f"--{key}", st.sampled_from(BAD_DIRS)) for key in ("data-dir", "out", "tensorboard", "checkpoint")},
}
CLI_RIGHT = {
    "--variant": flag("--variant", st.sampled_from(NAMES)),
    "--seed": flag("--seed", st.integers(0, 2 ** 31 - 10)),
    "--seeds": flag("--seeds", st.integers(1, 5)),
    "--jobs": flag("--jobs", st.integers(1, 2)),
    "--steps": flag("--steps", st.integers(1, 10 ** 6)),
    "--tf-semantics": flag("--tf-semantics", st.sampled_from(list(eras.ERAS))),
    **{f"--{key}": flag(f"--{key}", st.sampled_from(GOOD_DIRS)) for key in ("data-dir", "out", "tensorboard", "checkpoint")},
    "--quiet": st.just(["--quiet"]),
}


@FAST
@given(options=one_wrong(CLI_WRONG, CLI_RIGHT))
@example(options={"--seed": ["--seed", "2147483647"], "--seeds": ["--seeds", "2"]})
@example(options={"--checkpoint": ["--checkpoint", "afile"]})
def test_the_command_line_refuses_bad_arguments_in_one_line_and_changes_nothing(tree, reproduce_here, options):
    args = [word for key in sorted(options) for word in options[key]]
    if "--variant" not in options:
        args = ["--variant", "morvan", *args]
    before = snapshot(tree)
    ran = reproduce_here(*args, cwd=tree)
    assert ran.returncode == 2, (args, ran.stderr)
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m rnnmnist.reproduce: error: "), (args, ran.stderr)
    assert ran.stdout == ""
    assert snapshot(tree) == before


# -- the other commands check where they write, and what they read, before any work ----------------

def refused(main, *args: str, capsys) -> str:
    """The one line a command's main() ends with when it refuses its arguments (exit 2)."""
    with pytest.raises(SystemExit) as ended:
        main(list(args))
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("args, said", [
    ([], "--results runs: no such directory"),
    (["--results", "typo"], "--results typo: no such directory"),
    (["--results", "afile"], "--results afile is a file"),
])
def test_report_refuses_a_results_directory_that_is_not_one(tree, capsys, args, said):
    before = snapshot(tree)
    assert said in refused(report.main, *args, capsys=capsys)
    assert snapshot(tree) == before


@pytest.mark.skipif(ROOT, reason="root writes into a read-only directory")
def test_report_refuses_a_directory_it_cannot_write(tree, capsys):
    assert "cannot write the report to --results ro" in refused(report.main, "--results", "ro", capsys=capsys)


@pytest.mark.parametrize("main, args", [
    (bench.main, ["--variant", "morvan"]),
    (bench_cluster.main, []),
])
@pytest.mark.parametrize("out", BAD_DIRS)
def test_benchmarks_check_where_they_save_before_measuring(tree, capsys, main, args, out):
    before = snapshot(tree)
    assert f"cannot write results to --out {out}" in refused(main, *args, "--out", out, capsys=capsys)
    assert snapshot(tree) == before


@pytest.mark.parametrize("args, said", [
    (["--impls", "keras-tpu"], "--impls: unknown kind 'keras-tpu'; choose from keras-eager, keras-function, "
                               "keras-xla, keras-jax, comma-separated, or none"),
    (["--rounds", "1"], "--rounds must be at least 2 and --segment positive"),
])
def test_bench_refuses_what_it_cannot_measure_before_measuring(tree, capsys, args, said):
    before = snapshot(tree)
    assert refused(bench.main, "--variant", "morvan", *args, capsys=capsys) == f"python -m rnnmnist.bench: error: {said}"
    assert snapshot(tree) == before


@pytest.mark.parametrize("project, said", [
    ("adir", "not a readable JSON file (Is a directory)"),
    ("missing.json", "not a readable JSON file (No such file or directory)"),
    ("afile", "not a readable JSON file"),
    ("list.json", "not a `python -m rnnmnist.bench` result"),
])
def test_bench_cluster_project_refuses_what_is_not_a_benchmark(tree, capsys, project, said):
    (tree / "list.json").write_text("[1]")
    assert said in refused(bench_cluster.main, "--project", project, capsys=capsys)


def test_a_directory_where_an_mnist_file_belongs_is_named_and_kept(tmp_path, capsys):
    # `reproduce` pointed here; `data` used to crash renaming its download over the directory
    (tmp_path / idx.TRAIN_IMAGES.name).mkdir()
    before = snapshot(tmp_path)
    assert data.main(["--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rnnmnist.data: error: {tmp_path / idx.TRAIN_IMAGES.name}: a directory where MNIST's file "
                   f"belongs; move or remove it, then run again"]
    assert snapshot(tmp_path) == before
    with pytest.raises(idx.DataError, match="a directory where MNIST's file belongs"):
        dataset.load_raw(tmp_path)


def test_the_console_script_names_itself(tmp_path):
    # the process is the subject: its argv[0] is what names it
    script = Path(sys.executable).parent / "rnnmnist"
    if not script.exists():
        pytest.skip("the console script is not installed next to this Python")
    shown = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert shown.returncode == 0
    assert shown.stdout.startswith("usage: rnnmnist ")


def test_report_help_says_where_the_report_goes(capsys):
    with pytest.raises(SystemExit):
        report.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # as wrapped to the terminal's width
    assert "results/REPORT.md" not in out and "DIR/REPORT.md" in out and "default: runs/" in out


@pytest.mark.skipif(ROOT, reason="root writes into a read-only directory")
def test_a_read_only_data_dir_without_mnist_is_one_line_before_any_download(tmp_path, monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("downloaded into a directory it cannot write")
    monkeypatch.setattr(sources, "_download_official", tripwire)
    monkeypatch.setattr(sources, "_fallback_arrays", tripwire)
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(idx.DataError, match="cannot write the missing MNIST files there"):
        sources.ensure(tmp_path / "ro")
