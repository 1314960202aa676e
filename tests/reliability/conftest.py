"""Reliability tests: the test project under load and faults, served by a real uvicorn."""

from __future__ import annotations

from pathlib import Path

from tests.served.conftest import APP
from tests.servers import Server, start_uvicorn


def serve(tmp_path: Path, loop: str, *, threshold: float, **env: str) -> Server:
    """The test project under uvicorn at `threshold`, with a database of its own."""
    settings = {
        "DJANGO_SETTINGS_MODULE": "tests.testproject.settings",
        "LOOPWATCH_TEST_DB": str(tmp_path / "db.sqlite3"),
        "LOOPWATCH_TEST_THRESHOLD": str(threshold),
        **env,
    }
    return start_uvicorn(APP, loop=loop, env=settings, ready_path="/fast/")
