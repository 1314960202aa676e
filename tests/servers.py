"""Real servers for tests: uvicorn serving an ASGI app in its own process on 127.0.0.1.

    with start_uvicorn("tests.testproject.asgi:application", loop="uvloop") as server:
        httpx.get(server.url + "/sleep/")

`start_uvicorn` returns once the server answers HTTP (any status) on a free loopback port,
and fails the test at once with the server's log if the process exits first. `stop()` (or
leaving the `with` block) shuts it down the way a deployment would: SIGINT, so the lifespan
shutdown runs, then SIGKILL to the whole process group if it does not exit in time.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
STARTUP_DEADLINE = 30.0
SHUTDOWN_DEADLINE = 10.0


def require_real(what: str, available: bool) -> None:
    """Skip the test without `what`; fail instead when LOOPWATCH_REQUIRE_REAL=1 (CI)."""
    if available:
        return
    if os.environ.get("LOOPWATCH_REQUIRE_REAL") == "1":
        pytest.fail(f"LOOPWATCH_REQUIRE_REAL=1 but {what} is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


def require_binary(path_or_name: str) -> str:
    """The full path of an executable; skips without it (fails under LOOPWATCH_REQUIRE_REAL=1)."""
    found = shutil.which(path_or_name)
    require_real(path_or_name, found is not None)
    assert found is not None  # for the type checker: require_real has not returned otherwise
    return found


def require_module(name: str) -> None:
    require_real(f"the Python package {name}", importlib.util.find_spec(name) is not None)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the OS picks it when binding port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, with this checkout first on the path, plus `overrides`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(overrides or {})
    return env


@dataclass
class Server:
    """A running uvicorn process and the base URL it answers on."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        """SIGINT and wait (lifespan shutdown runs); SIGKILL the process group if it hangs."""
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=SHUTDOWN_DEADLINE)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=SHUTDOWN_DEADLINE)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_uvicorn(
    app: str,
    loop: str = "asyncio",
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    *,
    ready_path: str = "/",
    extra_args: tuple[str, ...] = (),
) -> Server:
    """Start `uvicorn app` (`module:attribute`) and return once it answers `ready_path`.

    `loop` is uvicorn's `--loop` (`asyncio` or `uvloop`); `env` is added to this process's
    environment (see `server_env`); the working directory is the repository root, so file
    names in records are relative to it, as for a user running their own project.
    """
    require_module("uvicorn")
    if loop == "uvloop":
        require_module("uvloop")
    tmp = tempfile.TemporaryDirectory(prefix="loopwatch-uvicorn-")
    log_path = Path(tmp.name) / "server.log"
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", loop, "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
        *extra_args,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a hung server can be killed whole
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path, tmp)
    try:
        _wait_until_answering(server, ready_path)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_answering(server: Server, path: str) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"uvicorn exited with {server.process.returncode} before answering:\n"
                f"{server.log()}",
                pytrace=False,
            )
        try:
            httpx.get(server.url + path, timeout=2)
            return  # any HTTP answer means the app is up
        except httpx.TransportError:
            time.sleep(0.05)  # polling interval while the process starts
    pytest.fail(f"uvicorn did not answer within {STARTUP_DEADLINE:.0f} s:\n{server.log()}")
