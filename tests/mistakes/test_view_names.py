"""Every request is charged to the view it was routed to, whatever kind of callable that is.

The view's dotted name is worked out once per view and remembered; these requests alternate
between views, so a name remembered for the wrong view would show in the counts.
"""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from loopwatch.metrics import PrometheusExporter
from loopwatch.monitor import Monitor
from tests.mistakes import asgi_driver

pytestmark = pytest.mark.asyncio

ROUNDS = 3


async def first_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("first")


async def second_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("second")


class UnhashableView:
    """A callable object with `__eq__` and so no hash: it cannot be a dict key."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnhashableView)

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("unhashable")


urlpatterns = [
    path("first/", first_view),
    path("second/", second_view),
    path("unhashable/", UnhashableView()),
]

NAMES = {
    "/first/": f"{__name__}.first_view",
    "/second/": f"{__name__}.second_view",
    "/unhashable/": f"{__name__}.UnhashableView",
}


async def test_each_request_is_charged_to_its_own_view(
    watched: Monitor, exporter: PrometheusExporter
) -> None:
    """Alternating views, an unhashable one among them: each counted under its own name."""
    app = asgi_driver.application()
    with override_settings(ROOT_URLCONF=__name__):
        for _ in range(ROUNDS):
            for url in NAMES:
                assert await asgi_driver.get(app, url) == 200
    counts = {
        url: exporter.registry.get_sample_value(
            "loopwatch_request_loop_seconds_count", {"view": name}
        )
        for url, name in NAMES.items()
    }
    assert counts == {url: ROUNDS for url in NAMES}
    unresolved = exporter.registry.get_sample_value(
        "loopwatch_request_loop_seconds_count", {"view": "<unresolved>"}
    )
    assert unresolved is None
