"""The README's commands are the ones CI runs."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readmes_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    test_command = 'pip install -e ".[test]" && python -m pytest'
    assert f"\n{test_command}\n" in readme
    assert f"\n{test_command}\n" in ci
    assert "\npip install -e . && python -m rnnmnist.reproduce --variant morvan\n" in readme


def test_readme_shows_the_reports_summary_table_as_generated():
    report = (REPO / "results" / "REPORT.md").read_text()
    summary = report[report.index("| variant "):].split("\n\n", 1)[0]
    assert summary in (REPO / "README.md").read_text(), "copy the summary table of results/REPORT.md into README.md"
