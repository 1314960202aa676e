"""Under a real uvicorn (asyncio and uvloop): a blocking view shows up in all three endpoints."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import Server

from .realserver import (
    AUTH,
    SLEEP_VIEW,
    TOKEN,
    VIEWS_FILE,
    get_metrics,
    marked_line,
    sample_value,
    serving,
    stalls,
    wait_for_record,
)

pytestmark = pytest.mark.real_server


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, int]]:
    db = tmp_path_factory.mktemp("pages-db") / "db.sqlite3"
    with serving(request.param, db) as running:
        yield running


@pytest.fixture
def server(served: tuple[Server, int]) -> Server:
    return served[0]


def test_sleeping_view_is_in_stalls_json_with_its_line(server: Server) -> None:
    """A `time.sleep` in an async view is recorded under the view, at the sleep's exact line."""
    line, code = marked_line(VIEWS_FILE, "SLEEP_LINE")
    since = {r["id"] for r in stalls(server)}

    assert server.get("/sleep/", params={"s": "0.12"}).text.startswith("slept")
    record = wait_for_record(server, lambda r: r["id"] not in since and r["view"] == SLEEP_VIEW)

    assert record["kind"] == "stall"
    assert (record["method"], record["path"]) == ("GET", "/sleep/")
    assert record["blocking_line"] == {
        "file": VIEWS_FILE,
        "line": line,
        "function": "get",
        "code": code,
    }
    assert record["stack"][-1] == record["blocking_line"]
    assert record["duration"] >= 0.12
    assert record["cause"] == "io"


def test_sleeping_view_is_counted_in_metrics(server: Server) -> None:
    """The stall is counted under the view's dotted path in /loopwatch/metrics."""
    labels = {"view": SLEEP_VIEW}
    url = server.url + "/loopwatch/metrics"
    before = sample_value(get_metrics(url, headers=AUTH), "loopwatch_stalls_total", labels) or 0

    server.get("/sleep/", params={"s": "0.12"})

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = get_metrics(url, headers=AUTH)
        if (sample_value(text, "loopwatch_stalls_total", labels) or 0) > before:
            break
        time.sleep(0.05)  # polling interval
    else:
        pytest.fail(f"loopwatch_stalls_total{{view={SLEEP_VIEW!r}}} did not grow:\n{text}")
    bucket = {"view": SLEEP_VIEW, "le": "0.1"}
    assert sample_value(text, "loopwatch_stall_duration_seconds_bucket", bucket) == 0
    assert (sample_value(text, "loopwatch_stall_duration_seconds_count", labels) or 0) > before


def test_page_shows_the_stall(server: Server) -> None:
    """The HTML page, served under ASGI, groups the stall under the view with its line."""
    line, code = marked_line(VIEWS_FILE, "SLEEP_LINE")
    server.get("/sleep/", params={"s": "0.12"})
    wait_for_record(server, lambda r: r["view"] == SLEEP_VIEW)

    page = server.get("/loopwatch/", params={"view": SLEEP_VIEW}, headers=AUTH)

    assert page.status_code == 200
    assert f"{VIEWS_FILE}:{line}" in page.text
    assert f"<code>{code}</code>" in page.text
    assert "await asyncio.sleep(...)" in page.text


@pytest.mark.parametrize("path", ["/loopwatch/", "/loopwatch/stalls.json", "/loopwatch/metrics"])
def test_gate_over_http(server: Server, path: str) -> None:
    """DEBUG off and 127.0.0.1 not listed: 404 without the token, 200 with it."""
    assert server.get(path).status_code == 404
    wrong = {"Authorization": f"Bearer {TOKEN}-not"}
    assert server.get(path, headers=wrong).status_code == 404
    assert server.get(path, headers=AUTH).status_code == 200


def test_metrics_port_answers_while_the_loop_is_blocked(served: tuple[Server, int]) -> None:
    """A scrape of the separate metrics port is answered while a view holds the loop for 1 s."""
    server, port = served
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    since = {r["id"] for r in stalls(server)}
    finished = threading.Event()

    def block_the_loop() -> None:
        server.get("/sleep/", params={"s": "1"})
        finished.set()

    blocker = threading.Thread(target=block_the_loop)
    blocker.start()
    try:
        _wait_until_blocked(server, finished)
        asked = dt.datetime.now(dt.UTC)
        response = httpx.get(metrics_url, timeout=0.5)
        answered = dt.datetime.now(dt.UTC)
    finally:
        blocker.join()

    assert response.status_code == 200
    assert "loopwatch_stalls_total" in response.text
    record = wait_for_record(server, lambda r: r["id"] not in since and r["view"] == SLEEP_VIEW)
    stall_end = dt.datetime.fromisoformat(record["at"])
    stall_start = stall_end - dt.timedelta(seconds=record["duration"])
    # The whole scrape, request to answer, fell inside the stall.
    assert stall_start <= asked < answered <= stall_end


def test_metrics_port_serves_only_metrics(served: tuple[Server, int]) -> None:
    """The metrics port answers /metrics and nothing else."""
    _, port = served
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 404
    assert httpx.get(f"http://127.0.0.1:{port}/loopwatch/", timeout=5).status_code == 404


def _wait_until_blocked(server: Server, finished: threading.Event) -> None:
    """Return once the loop stops answering: a fast view gets no answer within 0.2 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not finished.is_set():
        try:
            httpx.get(server.url + "/fast/", timeout=0.2)
        except httpx.TimeoutException:
            return
    pytest.fail("the loop never looked blocked while /sleep/?s=1 ran")
