"""A real uvicorn process over real HTTP: stalls are charged to the right view and line."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.served.conftest import serve
from tests.served.helpers import (
    VIEWS,
    metric_value,
    metrics,
    records,
    source_line,
    wait_for_records,
)
from tests.servers import Server

pytestmark = pytest.mark.real_server


def only_stalls(found: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in found if r["kind"] == "stall"]


def test_time_sleep_is_charged_to_its_view_and_line(server: Server) -> None:
    """A time.sleep(0.12) in an async CBV shows in stalls.json and metrics with its line."""
    assert server.get("/sleep/").status_code == 200
    [stall] = only_stalls(wait_for_records(server, 1, view=f"{VIEWS}.SleepView"))
    assert stall["method"] == "GET"
    assert stall["path"] == "/sleep/"
    assert stall["cause"] == "io"
    assert 0.12 <= float(stall["duration"]) < 0.2  # type: ignore[arg-type]
    line = stall["blocking_line"]
    assert line == {
        "file": "tests/testproject/views.py",
        "line": source_line("SLEEP_LINE"),
        "function": "get",
        "code": "time.sleep(seconds)  # SLEEP_LINE",
    }
    text = metrics(server)
    assert metric_value(text, "loopwatch_stalls_total", view=f"{VIEWS}.SleepView") == 1
    assert (
        metric_value(text, "loopwatch_stall_duration_seconds_count", view=f"{VIEWS}.SleepView") == 1
    )


@pytest.mark.flaky(reruns=2)  # the cause needs the watchdog scheduled mid-stall (see tests/core)
def test_cpu_loop_is_charged_to_the_helpers_loop_line(server: Server) -> None:
    """CPU work names the line of the loop inside the helper, with cause cpu."""
    assert server.get("/cpu/").status_code == 200
    [stall] = only_stalls(wait_for_records(server, 1, view=f"{VIEWS}.CpuView"))
    assert stall["cause"] == "cpu"
    assert stall["blocking_line"]["line"] == source_line("CPU_LOOP_LINE")  # type: ignore[index]


@pytest.fixture
def slow_peer() -> Iterator[int]:
    """A local HTTP server that answers after 0.15 s (what a slow external API looks like)."""

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(0.15)  # the peer is slow; the loop of the site under test must not wait
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"peer")

        def log_message(self, *args: object) -> None:
            pass

    peer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=peer.serve_forever, daemon=True)
    thread.start()
    yield int(peer.server_address[1])
    peer.shutdown()
    peer.server_close()


def test_blocking_urllib_call_is_charged_to_its_view(server: Server, slow_peer: int) -> None:
    """A blocking urllib call to a slow peer is a stall at the urlopen line."""
    assert server.get(f"/urllib/?port={slow_peer}").text == "peer"
    [stall] = only_stalls(wait_for_records(server, 1, view=f"{VIEWS}.UrllibView"))
    assert stall["cause"] == "io"
    assert stall["blocking_line"]["line"] == source_line("URLLIB_LINE")  # type: ignore[index]


def test_streaming_iterator_stall_is_charged_to_the_view(server: Server) -> None:
    """A stall inside a streaming response's iterator belongs to the view that returned it."""
    assert server.get("/stream/").text == "first\nsecond\n"
    [stall] = only_stalls(wait_for_records(server, 1, view=f"{VIEWS}.StreamView"))
    assert stall["blocking_line"]["line"] == source_line("STREAM_LINE")  # type: ignore[index]


def test_unmatched_urls_are_unresolved_not_their_path(server: Server) -> None:
    """A 404 is charged to <unresolved>: the view label never grows with URLs."""
    assert server.get("/no/such/page/").status_code == 404
    text = metrics(server)
    assert 'view="<unresolved>"' in text
    assert "/no/such/page/" not in text


def test_counts_are_exact_under_concurrency(server: Server) -> None:
    """40 concurrent fast requests and 3 blocking ones: 3 stalls for the blocker, 0 for fast."""
    fast_before = metric_value(
        metrics(server), "loopwatch_request_loop_seconds_count", view=f"{VIEWS}.FastView"
    )
    paths = ["/fast/"] * 40 + ["/sleep/?s=0.1"] * 3
    with httpx.Client(base_url=server.url, timeout=30) as client, ThreadPoolExecutor(43) as pool:
        statuses = list(pool.map(lambda path: client.get(path).status_code, paths))
    assert statuses == [200] * 43
    wait_for_records(server, 3, view=f"{VIEWS}.SleepView")
    text = metrics(server)
    assert metric_value(text, "loopwatch_stalls_total", view=f"{VIEWS}.SleepView") == 3
    assert metric_value(text, "loopwatch_stalls_total", view=f"{VIEWS}.FastView") == 0
    fast_after = metric_value(
        text, "loopwatch_request_loop_seconds_count", view=f"{VIEWS}.FastView"
    )
    assert fast_after - fast_before == 40


def test_a_stall_counts_and_charges_the_requests_it_delayed(server: Server) -> None:
    """With 19 requests in flight, one stall says it delayed them all, and they say they waited."""
    with ThreadPoolExecutor(20) as pool:
        waiting = [
            pool.submit(httpx.get, server.url + "/wait/?s=1.5", timeout=30) for _ in range(19)
        ]
        deadline = time.monotonic() + 10
        while server.get("/arrived/").text != "19" and time.monotonic() < deadline:
            time.sleep(0.01)  # polling until all 19 are being served
        assert server.get("/arrived/").text == "19"
        assert server.get("/sleep/?s=0.15").status_code == 200
        assert all(reply.result().status_code == 200 for reply in waiting)
    [stall] = only_stalls(wait_for_records(server, 1, view=f"{VIEWS}.SleepView"))
    assert stall["delayed_requests"] >= 19
    text = metrics(server)
    wait = f"{VIEWS}.WaitView"
    assert metric_value(text, "loopwatch_request_wait_seconds_count", view=wait) == 19
    # Each of the 19 waited at least the stall's duration (less a little for rounding).
    assert metric_value(text, "loopwatch_request_wait_seconds_sum", view=wait) >= 19 * 0.14
    assert metric_value(text, "loopwatch_delayed_requests_total", view=f"{VIEWS}.SleepView") >= 19


def test_sync_orm_is_flagged_as_raised_and_async_orm_is_not(server: Server) -> None:
    """Sync ORM in an async view is flagged `raised` with its SQL; async ORM is not flagged."""
    assert server.get("/orm/async/").status_code == 200
    assert server.get("/sync/").status_code == 200
    assert server.get("/orm/sync/").status_code == 500  # Django raised SynchronousOnlyOperation
    [flag] = wait_for_records(server, 1, kind="sync_orm")
    assert flag["view"] == f"{VIEWS}.SyncOrmView"
    assert flag["outcome"] == "raised"
    assert "FROM" in str(flag["sql"])
    assert "%s" in str(flag["sql"])
    assert flag["blocking_line"]["line"] == source_line("ORM_LINE")  # type: ignore[index]
    assert records(server, kind="sync_orm") == [flag]
    text = metrics(server)
    labels = {"view": f"{VIEWS}.SyncOrmView", "outcome": "raised"}
    assert metric_value(text, "loopwatch_sync_orm_calls_total", **labels) == 1


def test_sync_orm_allowed_by_django_is_flagged_with_sql_and_no_values(
    tmp_path: Path, loop_name: str
) -> None:
    """Under DJANGO_ALLOW_ASYNC_UNSAFE the call runs, flagged `allowed` with SQL and no values."""
    with serve(tmp_path, loop_name, DJANGO_ALLOW_ASYNC_UNSAFE="1") as server:
        assert server.get("/orm/sync/").status_code == 200
        assert server.get("/orm/async/").status_code == 200
        [flag] = wait_for_records(server, 1, kind="sync_orm")
        assert flag["outcome"] == "allowed"
        assert flag["view"] == f"{VIEWS}.SyncOrmView"
        assert float(flag["duration"]) >= 0  # type: ignore[arg-type]
        assert '"name" = %s' in str(flag["sql"])
        assert "'x'" not in str(flag["sql"])
        assert records(server, kind="sync_orm") == [flag]


def test_two_workers_are_summed_in_one_scrape(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, one scrape shows the stalls of every worker."""
    from tests.served.conftest import APP, migrated_db
    from tests.servers import start_uvicorn

    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.testproject.settings",
        "LOOPWATCH_TEST_DB": str(migrated_db(tmp_path)),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with start_uvicorn(APP, env=env, workers=2, ready_path="/fast/") as server:
        pids: set[str] = set()
        sent = 0

        # While one worker sleeps, the other accepts: concurrent blocking requests on fresh
        # connections (a kept-alive one stays with the worker that accepted it) reach both.
        def blocking_request(_: int) -> str:
            return httpx.get(server.url + "/sleep/?s=0.1", timeout=30).text

        with ThreadPoolExecutor(4) as pool:
            while len(pids) < 2 and sent < 40:
                replies = list(pool.map(blocking_request, range(4)))
                pids.update(reply.rsplit(" ", 1)[1] for reply in replies)
                sent += 4
        assert len(pids) == 2, "both workers should have served a blocking request"
        text = metrics(server)
        assert metric_value(text, "loopwatch_stalls_total", view=f"{VIEWS}.SleepView") == sent
