"""The README and docs/ say what the program does: its commands are CI's, its sample and errors are real output,
its numbers are the committed results', and every page it links to is there."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnnmnist import compare, idx

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 200  # a newcomer reads it in five minutes; the rest is in docs/


def page(name: str) -> str:
    """A page of docs/, which holds what the README links to."""
    return (DOCS / name).read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_ci_runs_the_readmes_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    test_command = 'pip install -e ".[test]" && python -m pytest'
    assert f"\n{test_command}\n" in README
    assert f"\n{test_command}\n" in ci
    assert "\npip install -e . && python -m rnnmnist.reproduce --variant morvan\n" in README


def test_readme_shows_the_reports_summary_table_as_generated():
    report = (REPO / "results" / "REPORT.md").read_text()
    summary = report[report.index("| variant "):].split("\n\n", 1)[0]
    assert summary in README, "copy the summary table of results/REPORT.md into README.md"


def test_the_sample_output_has_the_programs_format():
    sample = section("Run it").split("```\n")[-2]
    lines = sample.splitlines()
    from rnnmnist import registry
    assert re.fullmatch(re.escape(f"# morvan ({registry.load('morvan').tutorial}): 782 of 782 steps, seed 1, ")
                        + r"TensorFlow 2\.\d+\.\d+ with TF 0\.12 semantics \(the tutorial's own\)", lines[0])
    table = [line for line in lines if line.startswith("|")]
    real = compare.table(compare.Comparison((), 0, 0, 0, 0, "", "")).splitlines()
    assert table[:2] == real[:2] or [re.sub(r"\s+", " ", t) for t in table[:1]] == \
        [re.sub(r"\s+", " ", t) for t in real[:1]], (table[:2], real)
    rows = [[cell.strip() for cell in row.split("|")[1:-1]] for row in table[2:] if "..." not in row]
    assert rows and all(r[0] == "batch accuracy" and re.fullmatch(r"step \d+", r[1]) for r in rows)
    assert all(r[6] in ("yes", "NO") and re.fullmatch(r"±0\.\d{4}", r[5]) for r in rows)
    assert re.search(r"^morvan: 782 steps in [\d.]+ s \(\d+ ms/step\)$", sample, re.M)
    assert re.search(r"^verdict: (reproduced|not reproduced) \(\d+ of 17 checkpoints", sample, re.M)
    assert re.search(r"^also against final-state's first 40 .*: (reproduced|not reproduced) \(\d+ of 40 ", sample, re.M)
    assert re.search(r"^saved runs/morvan/\d{8}T\d{6}Z_seed1\.json$", sample, re.M)


# The first seven rows of docs/troubleshooting.md, and how to make each happen
ERRORS = [["--variant", "x"], ["--variant", "morvan", "--steps", "0"], ["--variant", "morvan", "--seed", "-1"],
          ["--variant", "morvan", "--epochs", "1"], ["--variant", "morvan", "--fix", "softmax"],
          ["--variant", "morvan", "--out", "afile"], ["--variant", "morvan", "--data-dir", "bad"]]


@pytest.mark.parametrize("args", ERRORS, ids=" ".join)
def test_the_error_table_shows_what_the_program_prints(args, tmp_path, reproduce_here):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "bad").mkdir()
    for spec in idx.FILES:
        (tmp_path / "bad" / spec.name).write_bytes(b"\x1f\x8b\x08 truncated")
    out = reproduce_here(*args, cwd=tmp_path)
    line = out.stderr.strip()
    assert out.returncode in (1, 2) and "\n" not in line
    assert line in page("troubleshooting.md"), line


def test_durations_are_given_in_one_place():
    """Timings drift: docs/timing.md's table holds them all, with the CPU each was measured on. (MAINTAINING.md
    keeps the benchmark's own records, each with its commit.)"""
    duration = r"\d\s*(min|minutes?|hours?)\b|\d\s+s\b"
    for path in PAGES:
        if path.name in ("timing.md", "MAINTAINING.md"):
            continue
        elsewhere = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
        assert not re.search(duration, re.sub(r"`[^`]*`", "", elsewhere)), \
            (path.name, re.search(f".{{60}}({duration}).{{20}}", elsewhere))
    for path in ("setup.cfg", "tests/test_reproduction.py"):
        assert not re.search(r"\d\s*(min|minutes?|hours?)\b", (REPO / path).read_text()), path


def test_the_python_example_runs_as_written_after_the_main_command(tmp_path, mnist_dir):
    """The README's flow: the main command's run of seed 1 is saved (a committed one stands in for it, so
    as not to train 782 steps here), then the example adds a 100-step run of the same seed. The two are
    not one recipe: the example pools the complete run alone."""
    main_run = sorted((REPO / "results" / "morvan").glob("*_seed1.json"))[-1]
    (tmp_path / "runs" / "morvan").mkdir(parents=True)
    shutil.copy(main_run, tmp_path / "runs" / "morvan" / main_run.name)
    example = page("python.md").split("```python\n")[1].split("```")[0]
    out = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "RNNMNIST_DATA_DIR": str(mnist_dir), "MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("['final-state', 'morvan'") and lines[-4].startswith("saved runs/morvan/")
    assert lines[-3] in (compare.REPRODUCED, compare.NOT_REPRODUCED) and lines[-2].startswith("80 ")
    # the 782-step run alone, compared as one run is; the 100-step run is another recipe
    assert lines[-1] in (f"morvan, TF 0.12 (its own) 1 {v}" for v in (compare.REPRODUCED, compare.NOT_REPRODUCED))
    assert len(list((tmp_path / "runs" / "morvan").glob("*_seed1_truncated.json"))) == 1


def test_the_readmes_python_lines_are_the_examples_which_runs():
    """The README shows a few lines of docs/python.md's example, which the test above runs: the same lines,
    in the same order, so that they run too."""
    short = section("From Python").split("```python\n")[1].split("```")[0]
    full = iter(page("python.md").split("```python\n")[1].split("```")[0].splitlines())
    lines = [line for line in short.splitlines() if line.strip()]
    assert len(lines) >= 4 and all(line in full for line in lines), "take the README's lines from docs/python.md"


def test_readme_shows_the_era_table_as_the_code_has_it():
    from rnnmnist import eras
    assert eras.table() in page("eras.md")


def test_readme_shows_the_reports_era_table_as_generated():
    report = (REPO / "results" / "REPORT.md").read_text()
    start = report.index("| variant ", report.index("## Each tutorial's own era"))
    table = report[start:].split("\n\n", 1)[0]
    assert table in page("eras.md"), "copy the era table of results/REPORT.md into docs/eras.md"


def test_readme_projects_a_large_ensemble_from_the_committed_benchmarks():
    from rnnmnist.bench_cluster import projection_table
    benches = [REPO / "results" / "bench" / name for name in ("20261124T071121Z.json", "20261129T120119Z.json")]
    assert projection_table(benches) in page("timing.md"), \
        "copy the table of python -m rnnmnist.bench_cluster --project " + " ".join(str(p) for p in benches)


def test_the_readme_is_short():
    lines = README.count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines: move a subject to docs/ and link it"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but hyphens dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M):
        name, n = slug(heading), 0
        while (name if n == 0 else f"{name}-{n}") in found:
            n += 1
        found.add(name if n == 0 else f"{name}-{n}")
    return found


def test_slugs_are_githubs():
    assert slug('How "reproduced" is decided') == "how-reproduced-is-decided"
    assert slug("20 seeds of every tutorial on K machines") == "20-seeds-of-every-tutorial-on-k-machines"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(path):
    """In a clone: each page the README and docs/ link to, and each heading a `#anchor` names, exists."""
    text = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", path.read_text(), flags=re.S))
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert path.name != "README.md" or len(relative) >= 10, relative  # the pattern finds the README's links
    for link in relative:
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        assert file.exists() and REPO in file.parents, f"{path.name}: {link} is not a file of the clone"
        if anchor:
            assert anchor in anchors(file.read_text()), f"{path.name}: {link}: {file.name} has no such heading"


def test_the_readme_links_every_docs_page():
    linked = {link.split("#")[0] for link in re.findall(r"\]\((docs/[^)\s]+)\)", README)}
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} <= linked, "link each page of docs/ from the README"
