"""A forgotten `await` and a task exception nobody read: recorded with their view and line."""

from __future__ import annotations

import json

import pytest
from django.test import AsyncClient, override_settings
from prometheus_client import CollectorRegistry

import loopwatch
from loopwatch.logsink import describe, log_fields
from loopwatch.metrics import PrometheusExporter
from loopwatch.monitor import Monitor
from tests.mistakes.conftest import marker_line, records_of, view, wait_for, watching

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning"),
]


async def test_forgotten_await_is_recorded_with_view_and_line(
    watched: Monitor, exporter: PrometheusExporter
) -> None:
    """A coroutine dropped without `await` in a view is one `unawaited` record: view, line."""
    response = await AsyncClient().get("/mistakes/forgotten-await/")
    assert response.status_code == 200
    records = await wait_for(lambda: records_of("unawaited"))
    assert len(records) == 1
    record = records[0]
    assert record.view == view("ForgottenAwaitView")
    assert record.method == "GET"
    assert record.path == "/mistakes/forgotten-await/"
    assert record.blocking_line is not None
    assert record.blocking_line.file.endswith("tests/testproject/mistake_views.py")
    assert record.blocking_line.line == marker_line("UNAWAITED_LINE")
    assert record.to_dict()["coroutine"] == "record_visit"
    assert describe(record).startswith(
        f"loopwatch: GET /mistakes/forgotten-await/ ({view('ForgottenAwaitView')}) "
        f"record_visit() never awaited at {record.blocking_line.where()} in "
    )
    assert log_fields(record)["coroutine"] == "record_visit"
    counted = exporter.registry.get_sample_value(
        "loopwatch_unawaited_coroutines_total", {"view": view("ForgottenAwaitView")}
    )
    assert counted == 1


async def test_python_still_warns_about_the_unawaited_coroutine(watched: Monitor) -> None:
    """Recording does not swallow Python's own RuntimeWarning."""
    with pytest.warns(RuntimeWarning, match="record_visit' was never awaited"):
        await AsyncClient().get("/mistakes/forgotten-await/")


async def test_origin_tracking_names_the_creating_line_of_a_kept_coroutine(
    watched_tracking: Monitor,
) -> None:
    """With TRACK_UNAWAITED a coroutine kept in a variable is traced to the line creating it."""
    await AsyncClient().get("/mistakes/kept-unawaited/")
    records = await wait_for(lambda: records_of("unawaited"))
    assert [r.view for r in records] == [view("KeptUnawaitedView")]
    line = records[0].blocking_line
    assert line is not None
    assert line.file.endswith("tests/testproject/mistake_views.py")
    assert line.line == marker_line("UNAWAITED_KEPT_LINE")


@pytest.mark.parametrize("tracking", [False, True], ids=["default", "tracking"])
async def test_forgotten_await_on_an_orm_a_method_names_the_users_line(
    tracking: bool, mistake_urls: None, exporter: PrometheusExporter
) -> None:
    """`Item.objects.acount()` without await names the view's line, with or without tracking."""
    settings = {"TRACK_UNAWAITED": tracking, "LOG": False}
    with override_settings(LOOPWATCH=settings), watching(exporter):
        await AsyncClient().get("/mistakes/forgotten-orm-await/")
        records = await wait_for(lambda: records_of("unawaited"))
    assert [r.view for r in records] == [view("ForgottenOrmAwaitView")]
    line = records[0].blocking_line
    assert line is not None
    assert line.file.endswith("tests/testproject/mistake_views.py")
    assert line.line == marker_line("UNAWAITED_ORM_LINE")
    assert records[0].to_dict()["coroutine"] == "QuerySet.acount"


async def test_lost_task_exception_is_recorded_with_view_type_and_line(
    watched: Monitor, exporter: PrometheusExporter
) -> None:
    """A task's unretrieved exception is a `lost_exception` record: view, type, raising line."""
    response = await AsyncClient().get("/mistakes/lost-exception/")
    assert response.status_code == 200
    records = await wait_for(lambda: records_of("lost_exception"))
    assert len(records) == 1
    record = records[0]
    assert record.view == view("LostExceptionView")
    assert record.blocking_line is not None
    assert record.blocking_line.file.endswith("tests/testproject/mistake_views.py")
    assert record.blocking_line.line == marker_line("LOST_RAISE_LINE")
    data = record.to_dict()
    assert data["exception"] == "ValueError"
    assert describe(record).startswith(
        f"loopwatch: GET /mistakes/lost-exception/ ({view('LostExceptionView')}) "
        f"task exception ValueError never retrieved at {record.blocking_line.where()} in "
    )
    assert "for 42" not in describe(record)
    # The message ("card declined for 42") may hold user data: it never leaves the process
    # (the source line is there, the value the message was built from is not).
    assert "for 42" not in json.dumps(data)
    counted = exporter.registry.get_sample_value(
        "loopwatch_lost_exceptions_total", {"view": view("LostExceptionView")}
    )
    assert counted == 1


async def test_the_loops_own_exception_handler_still_runs(watched: Monitor) -> None:
    """Recording a lost exception does not replace the loop's handler: it still hears of it."""
    import asyncio

    heard: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: heard.append(context["message"]))
    try:
        await AsyncClient().get("/mistakes/lost-exception/")
        await wait_for(lambda: records_of("lost_exception"))
    finally:
        loop.set_exception_handler(None)
    assert heard == ["Task exception was never retrieved"]


async def test_correct_code_produces_no_record(watched: Monitor) -> None:
    """Awaited coroutines and read task results produce no record of either kind."""
    for _ in range(3):
        response = await AsyncClient().get("/mistakes/awaited/")
        assert response.status_code == 200
    import gc

    gc.collect()
    assert records_of("unawaited") == []
    assert records_of("lost_exception") == []


async def test_nothing_is_recorded_once_uninstalled(mistake_urls: None) -> None:
    """After uninstall the hooks are gone: no records, and Python's warning is as before."""
    monitor = loopwatch.install(threshold=1.0, log=False)
    monitor.sinks.add(PrometheusExporter(registry=CollectorRegistry()))
    loopwatch.uninstall()
    with pytest.warns(RuntimeWarning):
        await AsyncClient().get("/mistakes/forgotten-await/")
    assert monitor.buffer.recent() == []
