"""The run-time mistakes on a real uvicorn server (stock asyncio and uvloop), read over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mistakes.conftest import marker_line, view
from tests.served.conftest import serve
from tests.served.helpers import metric_value, metrics, wait_for_records

pytestmark = [pytest.mark.real_server]

REQUESTS = 3


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_served_site_reports_unawaited_lost_exceptions_and_hops(tmp_path: Path, loop: str) -> None:
    """Under uvicorn each mistake reaches stalls.json and the metrics with its view and line."""
    with serve(tmp_path, loop) as server:
        assert server.get("/mistakes/forgotten-await/").status_code == 200
        assert server.get("/mistakes/lost-exception/").status_code == 200
        for _ in range(REQUESTS):
            assert server.get("/mistakes/orm-hops/").status_code == 200
        [unawaited] = wait_for_records(server, 1, kind="unawaited")
        [lost] = wait_for_records(server, 1, kind="lost_exception")
        text = metrics(server)
    assert unawaited["view"] == view("ForgottenAwaitView")
    assert unawaited["blocking_line"]["line"] == marker_line("UNAWAITED_LINE")
    assert unawaited["coroutine"] == "record_visit"
    assert lost["view"] == view("LostExceptionView")
    assert lost["blocking_line"]["line"] == marker_line("LOST_RAISE_LINE")
    assert lost["exception"] == "ValueError"
    orm = {"view": view("OrmHopsView")}
    hops_per_request = 3  # acount(), aexists(), afirst()
    assert metric_value(text, "loopwatch_thread_hops_total", **orm) == hops_per_request * REQUESTS
    waits = metric_value(text, "loopwatch_sync_to_async_wait_seconds_count", **orm)
    assert waits == hops_per_request * REQUESTS
    assert metric_value(text, "loopwatch_thread_hops_total", view=view("ForgottenAwaitView")) == 0
    fast = {"view": "tests.testproject.views.FastView"}
    assert metric_value(text, "loopwatch_thread_hops_total", **fast) == 0
