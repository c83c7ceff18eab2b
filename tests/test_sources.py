"""Fetching: the official download path (served from loopback), and what is never used or lost."""
from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from rnnmnist import idx, sources
from rnnmnist.idx import DataError


@pytest.fixture
def server(tmp_path, mnist_dir):
    """A loopback HTTP server standing in for the official MNIST mirror."""
    root = tmp_path / "served"
    root.mkdir()
    for spec in idx.FILES:
        shutil.copy(mnist_dir / spec.name, root / spec.name)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_official_download_path_fetches_and_verifies(tmp_path, server):
    _, url = server
    target = tmp_path / "data"
    lines = []
    sources.ensure(target, lines.append, official_url=url)
    assert all(v is None for v in sources.status(target).values())
    assert any("downloading" in line for line in lines)
    assert not list(target.glob(".*part"))  # no temporary files left


def test_a_data_dir_that_does_not_exist_yet_is_created_and_filled(tmp_path, server):
    _, url = server
    target = tmp_path / "not" / "yet"
    sources.ensure(target, official_url=url)
    assert all(v is None for v in sources.status(target).values())


def test_missing_files_are_fetched_next_to_good_ones(tmp_path, server, mnist_dir):
    _, url = server
    shutil.copy(mnist_dir / idx.TEST_LABELS.name, tmp_path / idx.TEST_LABELS.name)
    sources.ensure(tmp_path, official_url=url)
    assert all(v is None for v in sources.status(tmp_path).values())


def test_verified_files_cost_no_network(mnist_dir):
    sources.ensure(mnist_dir, official_url="http://127.0.0.1:9/never-contacted/")


def test_a_wrong_download_is_never_installed(tmp_path, server, monkeypatch):
    root, url = server
    (root / idx.TEST_LABELS.name).write_bytes((root / idx.TEST_LABELS.name).read_bytes()[:1000])
    monkeypatch.setattr(sources, "_fallback_arrays", lambda say: (_ for _ in ()).throw(DataError("offline")))
    target = tmp_path / "data"
    with pytest.raises(DataError, match="MNIST unavailable"):
        sources.ensure(target, official_url=url)
    assert not (target / idx.TEST_LABELS.name).exists()
    assert not list(target.glob(".*part"))


def test_a_corrupt_file_is_an_error_naming_it_and_the_fix(tmp_path, mnist_dir):
    for spec in idx.FILES:
        shutil.copy(mnist_dir / spec.name, tmp_path / spec.name)
    (tmp_path / idx.TRAIN_IMAGES.name).write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError) as e:
        sources.ensure(tmp_path)
    message = str(e.value)
    assert idx.TRAIN_IMAGES.name in message and "python -m rnnmnist.data" in message and "\n" not in message


def test_replace_bad_swaps_in_a_verified_copy(tmp_path, server):
    _, url = server
    (tmp_path / idx.TEST_IMAGES.name).write_bytes(b"truncated")
    sources.ensure(tmp_path, replace_bad=True, official_url=url)
    assert sources.status(tmp_path)[idx.TEST_IMAGES.name] is None


def test_a_file_as_data_dir_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is a file, not a directory"):
        sources.ensure(tmp_path / "file")
