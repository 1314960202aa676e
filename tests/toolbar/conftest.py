"""The toolbar test site under a real uvicorn process, and headless Chromium to look at it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser import chromium_command

ROOT = Path(__file__).resolve().parents[2]


def require_real(what: str, available: bool) -> None:
    """Skip without `what`; fail instead under LOOPWATCH_REQUIRE_REAL=1 (CI)."""
    if available:
        return
    if os.environ.get("LOOPWATCH_REQUIRE_REAL") == "1":
        pytest.fail(f"LOOPWATCH_REQUIRE_REAL=1 but {what} is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_site(
    tmp: Path, settings: str, *, loop: str = "asyncio", python_prelude: str = ""
) -> Site:
    """uvicorn serving the test project with `settings`; returns once it answers HTTP.

    `python_prelude` runs in the server process before uvicorn starts (e.g. to make a package
    unimportable).
    """
    port = free_port()
    log_path = tmp / f"uvicorn-{port}.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["DJANGO_SETTINGS_MODULE"] = settings
    env["LOOPWATCH_TEST_DB"] = str(tmp / "db.sqlite3")
    args = [
        "tests.testproject.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--loop", loop,
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    code = (
        f"{python_prelude}\nimport sys, uvicorn\nsys.argv = ['uvicorn', *{args!r}]\nuvicorn.main()"
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    site = Site(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{site.log()}")
        try:
            httpx.get(site.url + "/fast/", timeout=2)
            return site
        except httpx.TransportError:
            time.sleep(0.05)  # polling interval while the process starts
    site.stop()
    pytest.fail(f"uvicorn did not answer within 30 s:\n{site.log()}")


def toolbar_site_on(loop: str, tmp: Path) -> Site:
    """The test project with django-debug-toolbar and the loopwatch panel, under uvicorn."""
    require_real("the Python package debug_toolbar", _importable("debug_toolbar"))
    if loop == "uvloop":
        require_real("the Python package uvloop", _importable("uvloop"))
    return start_site(tmp, "tests.toolbar.settings", loop=loop)


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def toolbar_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The toolbar site on stock asyncio and on uvloop."""
    site = toolbar_site_on(str(request.param), tmp_path_factory.mktemp("toolbar"))
    yield site
    site.stop()


@pytest.fixture(scope="module")
def browser_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The toolbar site for the browser tests (stock asyncio)."""
    site = toolbar_site_on("asyncio", tmp_path_factory.mktemp("browser"))
    yield site
    site.stop()


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


@pytest.fixture
def chromium(tmp_path: Path) -> list[str]:
    """The headless Chromium command line (own profile in a temporary directory)."""
    return chromium_command(tmp_path)
