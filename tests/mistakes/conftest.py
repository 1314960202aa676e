"""Fixtures for the Common Mistakes tests: loopwatch watching the test's own loop."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import pytest_asyncio
import uvloop
from django.test import override_settings
from prometheus_client import CollectorRegistry

import loopwatch
from loopwatch.metrics import PrometheusExporter
from loopwatch.monitor import Monitor

VIEWS_FILE = Path(__file__).resolve().parents[1] / "testproject" / "mistake_views.py"
MISTAKE_URLS = "tests.mistakes.urls"


def marker_line(marker: str, path: Path = VIEWS_FILE) -> int:
    """The line of `path` that carries the comment `# MARKER` (no hard-coded line numbers)."""
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"# {marker}"):
            return number
    raise LookupError(f"no line marked {marker} in {path}")


def view(name: str) -> str:
    return f"tests.testproject.mistake_views.{name}"


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test here runs once on stock asyncio and once on uvloop."""
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture
def mistake_urls() -> Iterator[None]:
    """Serve the test project's "mistakes/" routes."""
    with override_settings(ROOT_URLCONF=MISTAKE_URLS):
        yield


@pytest.fixture
def exporter() -> PrometheusExporter:
    """A Prometheus exporter on a fresh registry, for reading this test's metrics."""
    return PrometheusExporter(registry=CollectorRegistry())


@contextmanager
def watching(exporter: PrometheusExporter) -> Iterator[Monitor]:
    """Install loopwatch in this thread (inside the running loop), uninstall, check restored."""
    monitor = loopwatch.install(threshold=1.0, log=False)
    monitor.sinks.add(exporter)
    try:
        yield monitor
    finally:
        patches = monitor.all_patches()
        loopwatch.uninstall()
        assert all(patch.is_pristine() for patch in patches), patches


@pytest_asyncio.fixture
async def watched(mistake_urls: None, exporter: PrometheusExporter) -> AsyncIterator[Monitor]:
    """loopwatch installed inside the test's running loop (as the ASGI middleware does)."""
    with watching(exporter) as monitor:
        yield monitor


@pytest_asyncio.fixture
async def watched_tracking(
    mistake_urls: None, exporter: PrometheusExporter
) -> AsyncIterator[Monitor]:
    """The same, with `LOOPWATCH["TRACK_UNAWAITED"]` on (coroutine origin tracking)."""
    with (
        override_settings(LOOPWATCH={"TRACK_UNAWAITED": True, "LOG": False}),
        watching(exporter) as monitor,
    ):
        yield monitor


async def wait_for(
    found: Callable[[], list[loopwatch.Record]], deadline: float = 5.0
) -> list[loopwatch.Record]:
    """Poll until `found()` returns records (collecting garbage meanwhile), or the deadline."""
    end = time.monotonic() + deadline
    while True:
        records = found()
        if records or time.monotonic() > end:
            return records
        gc.collect()
        await asyncio.sleep(0.01)


def records_of(kind: str) -> list[loopwatch.Record]:
    return [r for r in loopwatch.recent_stalls() if r.kind == kind]
