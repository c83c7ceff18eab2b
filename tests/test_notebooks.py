"""The notebooks, executed with a real Jupyter kernel: each cell's declared checks hold, errors only where tagged.

A cell declares what its output must show in its metadata, `"rnnmnist": {"expect": [regex, ...]}`;
a cell tagged `raises-exception` may fail (nbclient allows it) and must show its error. Training
cells run a short schedule here (RNNMNIST_NOTEBOOK_STEPS); the committed outputs are a full run's.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def shown(cell) -> str:
    """Everything a cell's outputs show as text: streams, plain and markdown results, errors."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts += [data.get("text/plain", ""), data.get("text/markdown", "")]
        if out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def test_there_are_the_four_notebooks():
    assert [p.stem for p in NOTEBOOKS] == ["quickstart", "seed_bands", "tf1_to_keras", "variable_reuse"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_outputs_come_from_a_full_execution(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "execute the notebook before committing it"
    for cell in code:
        for pattern in cell.metadata.get("rnnmnist", {}).get("expect", []):
            assert re.search(pattern, shown(cell)), (path.name, pattern)
    if path.stem == "quickstart":
        assert "782 steps" in shown(code[-3]) or "782 of 782" in shown(code[-3])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_a_real_kernel_and_shows_what_it_declares(path, tmp_path, mnist_dir, monkeypatch):
    notebook = nbformat.read(path, as_version=4)
    (tmp_path / "results").symlink_to(REPO / "results")  # the seed-band notebook reads ../results
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv("RNNMNIST_NOTEBOOK_STEPS", "60")
    monkeypatch.setenv("RNNMNIST_DATA_DIR", str(mnist_dir))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path / "notebooks")}})
    client.execute()  # raises on an error in any cell not tagged raises-exception
    for cell in (c for c in notebook.cells if c.cell_type == "code"):
        for pattern in cell.metadata.get("rnnmnist", {}).get("expect", []):
            assert re.search(pattern, shown(cell)), (path.name, pattern, shown(cell)[-2000:])
        if "raises-exception" in cell.metadata.get("tags", []):
            assert [o["ename"] for o in cell.outputs if o["output_type"] == "error"] == ["ValueError"]
    # opened as the README says (`jupyter lab notebooks/`), a notebook works in the project's folder
    assert not any(p.name in ("runs", "MNIST_data") for p in (tmp_path / "notebooks").iterdir())
    if path.stem == "quickstart":
        assert len(list((tmp_path / "runs" / "morvan").glob("*_seed1_truncated.json"))) == 1
