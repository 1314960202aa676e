"""Hidden serialization: sync_to_async hops per request, by view and by who made them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from loopwatch import hops
from loopwatch.metrics import PrometheusExporter
from loopwatch.monitor import Monitor
from tests.mistakes import asgi_driver
from tests.mistakes.conftest import marker_line, view
from tests.mistakes.middleware import SYNC_MIDDLEWARE
from tests.pages import htmltree

pytestmark = pytest.mark.asyncio

REQUESTS = 4


async def serve(path: str, times: int = REQUESTS) -> None:
    app = asgi_driver.application()
    for _ in range(times):
        assert await asgi_driver.get(app, path) == 200


def hops_of(view_name: str) -> hops.ViewHops | None:
    return next((row for row in hops.summary() if row.view == view_name), None)


def metric(exporter: PrometheusExporter, name: str, view_name: str) -> float:
    return exporter.registry.get_sample_value(name, {"view": view_name}) or 0.0


@override_settings(MIDDLEWARE=SYNC_MIDDLEWARE)
async def test_three_sync_middlewares_make_three_hops_per_request_naming_them(
    watched: Monitor, exporter: PrometheusExporter
) -> None:
    """Behind three sync middlewares an async view hops at least 3 times per request."""
    await serve("/mistakes/hops/")
    row = hops_of(view("HopsView"))
    assert row is not None
    assert row.requests == REQUESTS
    assert row.per_request >= 3
    middleware = {
        share.name: share.per_request for share in row.makers if share.kind == "middleware"
    }
    assert middleware == {name: 1.0 for name in SYNC_MIDDLEWARE}
    for share in row.makers:
        assert share.name in share.advice
    total = metric(exporter, "loopwatch_thread_hops_total", view("HopsView"))
    assert total == row.hops >= 3 * REQUESTS
    # process_request is thread-sensitive: each hop's queue wait is observed.
    waits = metric(exporter, "loopwatch_sync_to_async_wait_seconds_count", view("HopsView"))
    assert waits == total


@override_settings(MIDDLEWARE=["tests.mistakes.middleware.timing_middleware"])
async def test_a_sync_only_function_middleware_is_named_after_its_factory(
    watched: Monitor,
) -> None:
    """A sync-only function middleware is one hop per request, named after its factory."""
    await serve("/mistakes/hops/")
    row = hops_of(view("HopsView"))
    assert row is not None
    assert [(share.kind, share.name, share.per_request) for share in row.makers] == [
        ("middleware", "tests.mistakes.middleware.timing_middleware", 1.0)
    ]


@pytest.mark.parametrize(
    "middleware", [[], ["tests.mistakes.middleware.AsyncStampMiddleware"]], ids=["none", "async"]
)
async def test_fully_async_stack_makes_no_hop(
    watched: Monitor, exporter: PrometheusExporter, middleware: list[str]
) -> None:
    """An async view behind only async middleware reports zero hops (Django's own excluded)."""
    with override_settings(MIDDLEWARE=middleware):
        await serve("/mistakes/hops/")
    assert hops_of(view("HopsView")) is None
    assert metric(exporter, "loopwatch_thread_hops_total", view("HopsView")) == 0


@pytest.mark.django_db(transaction=True)
async def test_orm_a_methods_are_named_with_the_users_line(watched: Monitor) -> None:
    """Each ORM a-method call is a hop of kind orm, located at the view's line."""
    await serve("/mistakes/orm-hops/")
    row = hops_of(view("OrmHopsView"))
    assert row is not None
    assert row.per_request == 3
    assert {share.kind for share in row.makers} == {"orm"}
    count = next(share for share in row.makers if share.name.startswith("QuerySet.count()"))
    assert count.name == "QuerySet.count() on testproject.Item"
    assert count.where == f"tests/testproject/mistake_views.py:{marker_line('ORM_HOP_LINE')}"
    assert count.per_request == 1


async def test_a_sync_view_is_one_hop_of_kind_view(watched: Monitor) -> None:
    """A sync view served over ASGI is one hop per request, made by the view itself."""
    await serve("/mistakes/sync-hop/")
    row = hops_of(view("sync_hop_view"))
    assert row is not None
    assert [(share.kind, share.name, share.per_request) for share in row.makers] == [
        ("view", view("sync_hop_view"), 1.0)
    ]


@pytest.mark.django_db(transaction=True)
async def test_other_sync_to_async_calls_are_named_with_their_line(watched: Monitor) -> None:
    """The guide's sync_to_async(list)(queryset) is one hop named `list` at the view's line."""
    await serve("/mistakes/list-hop/")
    row = hops_of(view("ListHopView"))
    assert row is not None
    assert [(share.kind, share.name, share.where) for share in row.makers] == [
        ("other", "list", f"tests/testproject/mistake_views.py:{marker_line('LIST_HOP_LINE')}")
    ]


async def test_summary_is_empty_when_not_installed() -> None:
    """Without loopwatch installed there is nothing to summarise."""
    assert hops.summary() == []


@override_settings(MIDDLEWARE=SYNC_MIDDLEWARE)
async def test_the_page_shows_hops_per_request_and_names_the_middleware(
    watched: Monitor,
) -> None:
    """The loopwatch page says how often each view hops per request, who made it, what to do."""
    app = asgi_driver.application()
    for _ in range(REQUESTS):
        assert await asgi_driver.get(app, "/mistakes/hops/") == 200
    token = [(b"authorization", f"Bearer {settings.LOOPWATCH['TOKEN']}".encode())]
    status, body = await asgi_driver.fetch(app, "/loopwatch/", token)
    assert status == 200
    section = htmltree.parse(body.decode()).by_id("hops")
    assert section is not None
    (row,) = section.find_all("div", cls="kind-hops")
    assert row.find_all("a", cls="view")[0].text() == view("HopsView")
    stats = row.find_all("span", cls="stats")[0].text()
    hops_per_request = len(SYNC_MIDDLEWARE)  # one process_request hop each
    assert stats == f"hops to a thread {hops_per_request} times per request · {REQUESTS} requests"
    makers = row.find_all("li")
    assert sorted(li.find_all("b")[0].text() for li in makers) == sorted(SYNC_MIDDLEWARE)
    assert all("async_capable" in li.find_all("p", cls="hint")[0].text() for li in makers)


async def test_sync_to_async_methods_still_look_async(watched: Monitor) -> None:
    """With hop counting on, a `@sync_to_async` method is still a coroutine function."""
    from asgiref.sync import iscoroutinefunction, sync_to_async

    class Report:
        @sync_to_async
        def total(self) -> int:
            return 3

    assert iscoroutinefunction(Report.total)
    assert iscoroutinefunction(Report().total)
    assert await Report().total() == 3
