"""The test project served by a real uvicorn process, on stock asyncio and on uvloop."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, Server, server_env, start_uvicorn

APP = "tests.testproject.asgi:application"
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def migrated_db(directory: Path) -> Path:
    """A fresh SQLite file with the test project's tables."""
    db = directory / "db.sqlite3"
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=server_env(
            {"DJANGO_SETTINGS_MODULE": "tests.testproject.settings", "LOOPWATCH_TEST_DB": str(db)}
        ),
        check=True,
    )
    return db


def serve(tmp_path: Path, loop: str, **env: str) -> Server:
    settings = {
        "DJANGO_SETTINGS_MODULE": "tests.testproject.settings",
        "LOOPWATCH_TEST_DB": str(migrated_db(tmp_path)),
        **env,
    }
    return start_uvicorn(APP, loop=loop, env=settings, ready_path="/fast/")


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(tmp_path: Path, loop_name: str) -> Iterator[Server]:
    """The test project under uvicorn with the default settings (threshold 0.05 s)."""
    with serve(tmp_path, loop_name) as running:
        yield running
