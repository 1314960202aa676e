"""The metrics endpoint, and the endpoints' own cost on the loop they watch."""

from __future__ import annotations

import pytest
from django.test import AsyncClient, Client
from django.urls import resolve

from loopwatch.metrics import get_exporter
from loopwatch.monitor import Monitor

from .factories import stall

pytestmark = pytest.mark.usefixtures("open_gate")


def test_metrics_show_published_stalls(client: Client, monitor: Monitor) -> None:
    """A published stall is counted under its view in the text exposition."""
    monitor.sinks.add(get_exporter())
    monitor.publish(stall(view="pages.tests.MetricsView", duration=0.3))

    response = client.get("/loopwatch/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'loopwatch_stalls_total{view="pages.tests.MetricsView"} 1.0' in text
    assert (
        'loopwatch_stall_duration_seconds_bucket{le="0.5",view="pages.tests.MetricsView"}' in text
    )


def test_metrics_speak_openmetrics_when_asked(client: Client) -> None:
    """A scraper asking for OpenMetrics gets it (the format that carries exemplars)."""
    response = client.get(
        "/loopwatch/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0"
    )
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().rstrip().endswith("# EOF")


@pytest.mark.asyncio
async def test_reading_the_endpoints_does_not_stall_the_loop(monitor: Monitor) -> None:
    """Rendering a full ring of records happens off the loop: no stall is charged to the views."""
    stack = stall().stack * 30  # deep stacks, as real ones are
    for i in range(monitor.buffer.maxlen):
        monitor.publish(stall(view=f"v.V{i % 40}", duration=0.1, stack=stack))
    published = {r.id for r in monitor.buffer.recent()}
    resolve("/loopwatch/")  # the first request of any site imports its URLconf: not ours to time
    client = AsyncClient()

    for url in ("/loopwatch/", "/loopwatch/stalls.json", "/loopwatch/metrics"):
        response = await client.get(url)
        assert response.status_code == 200

    seen = [r for r in monitor.buffer.recent() if r.id not in published]
    charged = [r.to_dict() for r in seen if r.view.startswith("loopwatch.")]
    assert [(r["view"], r["duration"], r["cause"], r["stack"][-3:]) for r in charged] == []
