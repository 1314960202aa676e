"""Hostile input is shown as text everywhere: the HTML page, stalls.json and the metrics."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from django.core.asgi import get_asgi_application
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

import loopwatch
from loopwatch import orm
from loopwatch.asgi import LoopwatchMiddleware
from tests.reliability.hostile_urls import HOSTILE, HOSTILE_NAME

TOKEN = "test-token-0123456789abcdef"  # tests/testproject/settings.py
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE_PATH = f"/any/{HOSTILE}/\"'&amp;/caf\u00e9/\ufffd/" + "x" * 4000
HUGE_HEADER = "y" * 12_000


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The test project's application with hostile routes, loopwatch on, read in-process."""
    with override_settings(ROOT_URLCONF="tests.reliability.hostile_urls"):
        transport = httpx.ASGITransport(app=LoopwatchMiddleware(get_asgi_application()))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    loopwatch.uninstall()


async def endpoints(client: httpx.AsyncClient) -> tuple[str, dict[str, Any], str]:
    """The page, stalls.json (parsed) and the metrics text, as an authorised reader gets them."""
    page = await client.get("/loopwatch/", headers=AUTH)
    document = await client.get("/loopwatch/stalls.json", headers=AUTH)
    metrics = await client.get("/loopwatch/metrics", headers=AUTH)
    assert [page.status_code, document.status_code, metrics.status_code] == [200, 200, 200]
    assert metrics.headers["content-type"].startswith("text/plain")  # never rendered as markup
    return page.text, json.loads(document.content), metrics.text


def view_labels(metrics: str) -> set[str]:
    """Every `view` label value, as a Prometheus parser reads the text."""
    return {
        sample.labels["view"]
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if "view" in sample.labels
    }


@pytest.mark.asyncio
async def test_hostile_paths_names_and_huge_headers_render_as_text(
    client: httpx.AsyncClient,
) -> None:
    """A hostile 4 kB path, a view whose name holds quotes, a newline and markup, and a 12 kB
    header: the requests succeed and every output shows the values as text, unchanged."""
    hostile = await client.get(HOSTILE_PATH, headers={"X-Padding": HUGE_HEADER})
    named = await client.get("/named/", headers={"User-Agent": HUGE_HEADER})
    assert [hostile.status_code, named.status_code] == [200, 200]

    page, document, metrics = await endpoints(client)
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HUGE_HEADER not in page + json.dumps(document) + metrics  # headers are never kept

    stalls = {r["view"]: r for r in document["stalls"] if r["kind"] == "stall"}
    named_view = f"tests.reliability.hostile_urls.{HOSTILE_NAME}"
    assert stalls[named_view]["path"] == "/named/"
    assert stalls["tests.reliability.hostile_urls.any_path"]["path"] == HOSTILE_PATH

    # Escaped in the exposition, read back unchanged; paths never become labels.
    labels = view_labels(metrics)
    assert named_view in labels
    assert not [label for label in labels if label.startswith("/")]
    assert HOSTILE_PATH not in metrics


@pytest.mark.asyncio
async def test_non_utf8_sql_and_source_lines_render_safely(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """SQL bytes that are not UTF-8, and a stack line from a file whose bytes are not UTF-8:
    both are recorded, and the page, stalls.json and metrics still render."""
    assert (await client.get("/loopwatch/", headers=AUTH)).status_code == 200  # starts detection
    monitor = loopwatch.current_monitor()
    assert monitor is not None

    # The ORM execute wrapper, as a driver that takes bytes (psycopg) would call it.
    wrapper = orm.make_execute_wrapper(monitor)
    wrapper(lambda *args: None, b"SELECT '\xff\xfe<b>' -- \x00\x80", None, False, {})

    # A blocking function whose file is replaced by bytes that are not UTF-8 after import.
    module = tmp_path / "replaced_module.py"
    module.write_text("import time\n\ndef block():\n    time.sleep(0.08)\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import replaced_module  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    module.write_bytes(b"import time\n\ndef block():\n    \xff\xfe<script>\x80\n")
    await asyncio.get_running_loop().run_in_executor(None, lambda: None)  # any loop step
    replaced_module.block()  # holds this test's loop, which loopwatch watches
    await asyncio.sleep(0)

    page, document, metrics = await endpoints(client)
    sql = [r["sql"] for r in document["stalls"] if r["kind"] == "sync_orm"]
    assert len(sql) == 1
    assert "\ufffd" in sql[0]
    assert "&lt;b&gt;&#x27; --" in page  # the SQL is on the page, as text
    blocked = [
        r
        for r in document["stalls"]
        if r["kind"] == "stall"
        and r["blocking_line"]
        and r["blocking_line"]["file"].endswith("replaced_module.py")
    ]
    assert blocked, document["stalls"]
    assert "<script>" not in page
    assert text_string_to_metric_families(metrics)  # still parses
