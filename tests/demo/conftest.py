"""A real demo site: uvicorn in its own process, on a free port of 127.0.0.1, fresh database."""

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "demo_site" / "manage.py"
ASGI_APP = "demo_site.asgi:application"
TOKEN = "demo-tests-token"


def demo_env(db_path: Path) -> dict[str, str]:
    """The environment the demo processes run in: this checkout first on the path, a fresh DB."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["DEMO_SITE_DB"] = str(db_path)
    env["LOOPWATCH_TOKEN"] = TOKEN
    # The suite's own settings (pytest-django) are in the environment: the demo uses its own.
    env["DJANGO_SETTINGS_MODULE"] = "demo_site.settings"
    return env


def wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it answers 200 (deadline 30 s); fail at once if the process died."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling interval, not a stand-in for synchronisation
    pytest.fail(f"{url} did not answer within 30 s:\n{log.read_text()}")


@dataclass(frozen=True)
class DemoServer:
    base_url: str
    env: dict[str, str]
    log: Path

    def request(self, method: str, path: str) -> httpx.Response:
        """``method`` on ``path``, carrying loopwatch's bearer token as the driver does."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return httpx.request(method, self.base_url + path, headers=headers, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)


def require_loop(loop: str) -> None:
    """Skip (or, with LOOPWATCH_REQUIRE_REAL=1, fail) when uvloop is wanted but missing."""
    if loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        if os.environ.get("LOOPWATCH_REQUIRE_REAL") == "1":
            pytest.fail("uvloop is not installed, and LOOPWATCH_REQUIRE_REAL=1 requires it")
        pytest.skip("uvloop is not installed")


@pytest.fixture(scope="session", params=["asyncio", "uvloop"])
def demo_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    """The demo site migrated into a fresh SQLite file and served by uvicorn, on each loop."""
    loop = request.param
    require_loop(loop)
    tmp = tmp_path_factory.mktemp(f"demo_site_{loop}")
    env = demo_env(tmp / "db.sqlite3")
    subprocess.run(
        [sys.executable, str(MANAGE), "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", ASGI_APP, "--host", "127.0.0.1",
             "--port", str(port), "--loop", loop, "--no-access-log"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base_url + "/", process, log)
        yield DemoServer(base_url, env, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
