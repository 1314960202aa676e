"""Helpers shared by the exemplar and log tests: the test project under uvicorn."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.servers import ROOT, Server, server_env, start_uvicorn

APP = "tests.testproject.asgi:application"
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROJECT_VIEWS = ROOT / "tests" / "testproject" / "views.py"
SLEEP_VIEW = "tests.testproject.views.SleepView"

T = TypeVar("T")


def source_line(marker: str) -> int:
    """The line of the test project's views tagged `# <marker>`."""
    for number, text in enumerate(PROJECT_VIEWS.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"# {marker}"):
            return number
    raise AssertionError(f"no line tagged {marker}")


def migrated_db(directory: Path, settings: str) -> Path:
    db = directory / "db.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=server_env({"DJANGO_SETTINGS_MODULE": settings, "LOOPWATCH_TEST_DB": str(db)}),
        check=True,
    )
    return db


def serve(tmp_path: Path, settings: str = "tests.testproject.settings", **env: str) -> Server:
    overrides = {
        "DJANGO_SETTINGS_MODULE": settings,
        "LOOPWATCH_TEST_DB": str(migrated_db(tmp_path, settings)),
        **env,
    }
    return start_uvicorn(APP, env=overrides, ready_path="/fast/")


def stall_records(server: Server, view: str) -> list[dict[str, Any]]:
    body = server.get("/loopwatch/stalls.json", params={"view": view}, headers=AUTH).json()
    return [r for r in body["stalls"] if r["kind"] == "stall"]


def at_line(records: list[dict[str, Any]], marker: str) -> dict[str, Any] | None:
    """The record whose blocking line is the test project's line tagged `marker`.

    Only that record is pinned down: on a loaded machine the same request can stall once more
    elsewhere (sending the response, say), and that is a real stall too.
    """
    line = source_line(marker)
    for record in records:
        where = record.get("blocking_line") or {}
        if where.get("file") == "tests/testproject/views.py" and where.get("line") == line:
            return record
    return None


def poll(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Call `probe` until it returns something other than None (deadline `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.1)  # polling interval
    raise AssertionError(f"{what}: nothing within {timeout:.0f} s")
