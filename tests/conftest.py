"""Fixtures shared by unit and pipeline tests."""

import os
from pathlib import Path

import pytest

from tests.http_server import NO_PROXY, LocalServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def http_server(monkeypatch) -> LocalServer:
    """A real HTTP server on 127.0.0.1 answering with queued replies per path (tests/http_server.py)."""
    for name, value in NO_PROXY.items():
        monkeypatch.setenv(name, value)
    with LocalServer() as server:
        yield server


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real prices and headlines in ../shared/data (or $STOCKPIPE_SHARED_DATA).

    Under CI (CI=true) a missing folder fails the run; elsewhere the tests that need it are
    skipped with the reason.
    """
    folder = Path(os.environ.get("STOCKPIPE_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (folder / "prices").is_dir():
        message = f"real data folder {folder} not found (set STOCKPIPE_SHARED_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return folder
