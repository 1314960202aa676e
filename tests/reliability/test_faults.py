"""Faults inside loopwatch never reach the site: requests succeed, it says so once, it goes on."""

from __future__ import annotations

import ctypes
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from django.core.asgi import get_asgi_application

import loopwatch
from loopwatch.asgi import LoopwatchMiddleware
from loopwatch.metrics import get_exporter
from loopwatch.records import Record
from tests.reliability.conftest import serve
from tests.served.helpers import VIEWS, source_line, wait_for_records

SLEEP_VIEW = f"{VIEWS}.SleepView"
STALL = "/sleep/?s=0.12"  # over the test project's threshold (0.05 s)


@pytest.fixture
def site() -> Iterator[LoopwatchMiddleware]:
    """The test project's application as its asgi.py wraps it; detection stopped afterwards."""
    yield LoopwatchMiddleware(get_asgi_application())
    loopwatch.uninstall()


@pytest_asyncio.fixture
async def client(site: LoopwatchMiddleware) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=site)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert (await http.get("/fast/")).status_code == 200  # the first event starts detection
        assert loopwatch.is_installed()
        yield http


def stalls_of_sleep_view() -> list[Record]:
    return [r for r in loopwatch.recent_stalls() if r.kind == "stall" and r.view == SLEEP_VIEW]


def counted_stalls() -> float:
    value = get_exporter().registry.get_sample_value("loopwatch_stalls_total", {"view": SLEEP_VIEW})
    return value or 0.0


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


@pytest.mark.asyncio
async def test_a_raising_subscriber_breaks_nothing(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber that raises on every record: requests succeed, every stall is still kept
    and counted, and the failure is logged once."""

    def broken(record: Record) -> None:
        raise RuntimeError("subscriber bug")

    loopwatch.subscribe(broken)
    before = counted_stalls()
    statuses = [(await client.get(STALL)).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    kept = stalls_of_sleep_view()
    # At least the three sleeps (a starved machine may stretch another step past the
    # threshold too); whatever was kept was also counted by the exporter after the failure.
    assert len(kept) >= 3
    assert counted_stalls() - before == len(kept)
    assert len(messages(caplog, "failed in on_record")) == 1


def kill_thread(thread: threading.Thread) -> None:
    """End `thread` the way an unexpected error would: an exception raised inside it."""
    assert thread.ident is not None
    hit = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit)
    )
    assert hit == 1
    deadline = time.monotonic() + 5
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)  # polling until the thread has run into the exception
    assert not thread.is_alive()


def watchdog_thread() -> threading.Thread:
    (thread,) = [t for t in threading.enumerate() if t.name == "loopwatch-watchdog"]
    return thread


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
async def test_a_dead_watchdog_is_restarted_and_detection_resumes(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The watchdog thread dies: the next stall is still recorded, the watchdog restarted (logged
    once), and the stalls after it are sampled again, naming their blocking line."""
    kill_thread(watchdog_thread())

    first = (await client.get(STALL)).status_code
    assert watchdog_thread().is_alive()
    later = [(await client.get(STALL)).status_code for _ in range(2)]

    assert [first, *later] == [200, 200, 200]
    records = stalls_of_sleep_view()
    assert len(records) >= 3
    sleep_line = source_line("SLEEP_LINE")
    sampled = [r for r in records if r.blocking_line and r.blocking_line.line == sleep_line]
    assert len(sampled) >= 2  # the stalls after the restart name their line again
    assert len(messages(caplog, "watchdog thread had stopped")) == 1


@pytest.mark.real_server
def test_failing_metric_writes_leave_requests_and_detection_intact(tmp_path: Path) -> None:
    """Metric writes start failing (the multiprocess directory is removed while serving):
    requests succeed, stalls are still recorded with their line, the failure is logged once."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    with serve(
        tmp_path, "asyncio", threshold=0.05, PROMETHEUS_MULTIPROC_DIR=str(directory)
    ) as server:
        shutil.rmtree(directory)
        statuses = [server.get(STALL).status_code for _ in range(3)]
        statuses += [server.get("/fast/").status_code for _ in range(3)]
        assert statuses == [200] * 6

        found = wait_for_records(server, 3, view=SLEEP_VIEW)
        assert len(found) == 3
        assert {r["blocking_line"]["line"] for r in found} == {source_line("SLEEP_LINE")}
        log = server.log()
        assert log.count("failed in on_record") == 1, log


@pytest.mark.real_server
def test_metrics_that_cannot_be_created_leave_detection_on(tmp_path: Path) -> None:
    """The metrics cannot even be created (no multiprocess directory at start): the site serves,
    detection runs and records stalls, and the log says exactly that, once."""
    missing = tmp_path / "never-created"
    with serve(
        tmp_path, "asyncio", threshold=0.05, PROMETHEUS_MULTIPROC_DIR=str(missing)
    ) as server:
        statuses = [server.get(STALL).status_code for _ in range(2)]
        assert statuses == [200, 200]

        found = wait_for_records(server, 2, view=SLEEP_VIEW)
        assert len(found) == 2
        log = server.log()
        assert log.count("metrics could not be set up; detection runs") == 1, log
        assert "could not start detection" not in log
