"""The separate metrics port, in process: what it serves, to whom, and that it stops cleanly."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_django import Settings

from loopwatch.conf import get_config
from loopwatch.metrics_server import MetricsServer, scrape_allowed, start_metrics_server

from .conftest import OUTSIDER

TOKEN = "port-token-0123456789"


@pytest.fixture
def metrics_server() -> Iterator[MetricsServer]:
    config = dataclasses.replace(get_config(), metrics_port=0, token=TOKEN)
    server = start_metrics_server(config)
    assert server is not None
    yield server
    server.stop()


def test_serves_metrics_on_a_free_port(metrics_server: MetricsServer) -> None:
    """Port 0 picks a free port; /metrics answers with the exposition, any other path 404."""
    response = httpx.get(metrics_server.url, timeout=5)
    assert response.status_code == 200
    assert "# TYPE loopwatch_stalls_total counter" in response.text
    other = httpx.get(metrics_server.url.replace("/metrics", "/admin"), timeout=5)
    assert other.status_code == 404


def test_openmetrics_when_asked(metrics_server: MetricsServer) -> None:
    """The port honours the scraper's Accept header like the in-site endpoint."""
    accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
    response = httpx.get(metrics_server.url, headers=accept, timeout=5)
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")


def test_answers_while_a_loop_in_this_process_is_blocked(metrics_server: MetricsServer) -> None:
    """The server has its own thread: a loop blocked in another thread does not delay it."""
    blocking = threading.Event()
    release = threading.Event()

    async def hold_the_loop() -> None:
        blocking.set()
        release.wait(10)  # blocks this loop's thread until the scrape has been answered

    thread = threading.Thread(target=asyncio.run, args=(hold_the_loop(),))
    thread.start()
    try:
        assert blocking.wait(10)
        response = httpx.get(metrics_server.url, timeout=2)
        still_blocked = not release.is_set() and thread.is_alive()
    finally:
        release.set()
        thread.join()
    assert response.status_code == 200
    assert still_blocked


def test_gate(settings: Settings) -> None:
    """Loopback and INTERNAL_IPS clients may scrape; others only with the token."""
    settings.INTERNAL_IPS = ["198.51.100.4"]
    assert scrape_allowed("127.0.0.1", None, None)
    assert scrape_allowed("::1", None, None)
    assert scrape_allowed("198.51.100.4", None, None)
    assert not scrape_allowed(OUTSIDER, None, TOKEN)
    assert not scrape_allowed(OUTSIDER, "Bearer wrong-token-0123456789", TOKEN)
    assert not scrape_allowed(OUTSIDER, f"Bearer {TOKEN}", None)
    assert scrape_allowed(OUTSIDER, f"Bearer {TOKEN}", TOKEN)


def test_stop_frees_the_port(metrics_server: MetricsServer) -> None:
    """After stop() nothing listens on the port and the thread has ended (twice is fine)."""
    port = metrics_server.port
    metrics_server.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
    assert not any(t.name == "loopwatch-metrics" for t in threading.enumerate())


def test_taken_port(
    metrics_server: MetricsServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A taken port is an error, except in multiprocess mode where another worker serves it."""
    config = dataclasses.replace(get_config(), metrics_port=metrics_server.port)
    with pytest.raises(OSError, match="in use"):
        start_metrics_server(config)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert start_metrics_server(config) is None


def test_needs_a_port() -> None:
    """Starting without METRICS_PORT is a programming error, said plainly."""
    with pytest.raises(ValueError, match="METRICS_PORT"):
        start_metrics_server(dataclasses.replace(get_config(), metrics_port=None))
