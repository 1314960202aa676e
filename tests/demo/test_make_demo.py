"""``make demo`` end to end: a fresh virtualenv, the server, the load driver's report, Ctrl-C."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

from .conftest import ROOT, TOKEN
from .expected import GUIDE_TEMPLATE_VIEW, MISTAKE_LINES, MISTAKES, MISTAKES_FILE

pytestmark = pytest.mark.real_server


def require_make() -> str:
    make = shutil.which("make")
    if make is None:
        if os.environ.get("LOOPWATCH_REQUIRE_REAL") == "1":
            pytest.fail("make is not installed, and LOOPWATCH_REQUIRE_REAL=1 requires it")
        pytest.skip("make is not installed")
    return make


def wait_for_output(out: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    """The output so far, once it contains ``text``; fails if make exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = out.read_text(errors="replace")
        if text in output:
            return output
        if process.poll() is not None:
            pytest.fail(f"make demo exited with {process.returncode} before {text!r}:\n{output}")
        time.sleep(0.2)  # polling interval
    pytest.fail(f"no {text!r} within {timeout:g} s:\n{out.read_text(errors='replace')}")


def test_make_demo(tmp_path: Path) -> None:
    """make demo installs into its virtualenv, prints a report naming every Common Mistake view
    at its blocking line, keeps serving loopwatch's page and metrics, and stops on Ctrl-C."""
    make = require_make()
    port = free_port()
    out = tmp_path / "make-demo.out"
    env = dict(os.environ, DEMO_SITE_DB=str(tmp_path / "db.sqlite3"), LOOPWATCH_TOKEN=TOKEN)
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [make, "demo", f"VENV={tmp_path / 'venv'}", f"PYTHON={sys.executable}",
             f"PORT={port}", "DURATION=6", "CONCURRENCY=10"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to send it Ctrl-C as a terminal does
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        report = wait_for_output(out, "Still serving at", process, timeout=600)

        for mistake in MISTAKE_LINES:
            where = f"{MISTAKES_FILE}:{mistake.line}"
            pattern = rf"{re.escape(mistake.dotted)}\n\s+at {re.escape(where)} in \S+\n\s+"
            assert re.search(pattern + re.escape(mistake.code), report), f"{where}\n{report}"
        assert f"{MISTAKES_FILE}:{GUIDE_TEMPLATE_VIEW.line}" in report
        hops_row = next(r for r in report.splitlines() if r.startswith(MISTAKES + "SyncMiddleware"))
        assert float(hops_row.split()[-1]) >= 2.0

        assert f"{base_url}/loopwatch/  HTTP 200" in report
        assert f"{base_url}/loopwatch/metrics  HTTP 200" in report
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for path in ("/loopwatch/", "/loopwatch/metrics"):
            assert httpx.get(base_url + path, headers=headers, timeout=30).status_code == 200

        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        assert "Stopping the demo site." in out.read_text()
        with pytest.raises(httpx.TransportError):
            httpx.get(base_url + "/", timeout=2)
    finally:
        # Ctrl-C first even after a failure: the demo script stops the server it started.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
