"""The toolbar test site under a real uvicorn process, and headless Chromium to look at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import chromium_command
from tests.servers import Server, require_module, start_uvicorn

APP = "tests.testproject.asgi:application"


def serve(tmp: Path, settings: str, loop: str = "asyncio", **env: str) -> Server:
    """uvicorn serving the test project with `settings` (no migrations: no test needs tables)."""
    overrides = {
        "DJANGO_SETTINGS_MODULE": settings,
        "LOOPWATCH_TEST_DB": str(tmp / "db.sqlite3"),
        **env,
    }
    return start_uvicorn(APP, loop=loop, env=overrides, ready_path="/fast/")


def toolbar_site_on(loop: str, tmp: Path) -> Server:
    """The test project with django-debug-toolbar and the loopwatch panel, under uvicorn."""
    require_module("debug_toolbar")
    return serve(tmp, "tests.toolbar.settings", loop=loop)


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def toolbar_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The toolbar site on stock asyncio and on uvloop."""
    with toolbar_site_on(str(request.param), tmp_path_factory.mktemp("toolbar")) as site:
        yield site


@pytest.fixture(scope="module")
def browser_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The toolbar site for the browser tests (stock asyncio)."""
    with toolbar_site_on("asyncio", tmp_path_factory.mktemp("browser")) as site:
        yield site


@pytest.fixture
def chromium(tmp_path: Path) -> list[str]:
    """The headless Chromium command line (own profile in a temporary directory)."""
    return chromium_command(tmp_path)
