"""The demo site's views, requested over real HTTP from a real uvicorn process."""

import re
import time

import pytest

from .conftest import DemoServer

pytestmark = pytest.mark.real_server

BOOK_COUNT = 12  # the seed migration's books

CORRECT_PAGES = {
    "/good/async-get/": "Async GET response",
    "/good/about/": "About the demo shop",
    "/good/books/": f"Books ({BOOK_COUNT})",
    "/good/books/1/": "Rated ",
    "/good/async-db/": f"Books: {BOOK_COUNT}",
    "/good/external-api/": '"status": "ok"',
    "/good/dashboard/": f'"books": {BOOK_COUNT}',
    "/good/parallel-ratings/": '"ratings": [',
    "/good/form/": '<form method="post">',
    "/good/async-dispatch/": "Dispatched asynchronously",
    "/good/stream/": "Fluent Python (Luciano Ramalho, 2015)",
}

MISTAKE_PAGES = [
    "/mistakes/sync-orm/",
    "/mistakes/time-sleep/",
    "/mistakes/blocking-library/",
    "/mistakes/cpu-bound/",
    "/mistakes/forgotten-await/",
    "/mistakes/lost-exception/",
    "/mistakes/guide-template-view/",
    "/mistakes/guide-detail-view/1/",
    "/mistakes/sync-middleware/",
]


@pytest.mark.parametrize(("path", "expected"), CORRECT_PAGES.items())
def test_correct_view_answers(demo_server: DemoServer, path: str, expected: str) -> None:
    """Each correctly written async view answers 200 with its content."""
    response = demo_server.get(path)
    assert response.status_code == 200, response.text[:500]
    assert expected in response.text


def test_home_lists_every_view_and_loopwatch(demo_server: DemoServer) -> None:
    """The home page links every correct and mistake view, and loopwatch's page."""
    page = demo_server.get("/").text
    links = set(re.findall(r'href="([^"]+)"', page))
    assert set(CORRECT_PAGES) | set(MISTAKE_PAGES) <= links
    assert "/loopwatch/" in links


def test_async_post(demo_server: DemoServer) -> None:
    """The async form view accepts a POST."""
    response = demo_server.request("POST", "/good/form/")
    assert response.status_code == 200
    assert response.text == "Form submitted async"


def test_async_dispatch_wraps_the_response(demo_server: DemoServer) -> None:
    """The async dispatch() gets the handler's response and can change it."""
    assert demo_server.get("/good/async-dispatch/").headers["X-Dispatch"] == "async"


def test_stream_yields_every_book(demo_server: DemoServer) -> None:
    """The streaming view sends one line per book, as plain text."""
    response = demo_server.get("/good/stream/")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert len(response.text.splitlines()) == BOOK_COUNT


def test_missing_book_is_404(demo_server: DemoServer) -> None:
    """The async DetailView turns a missing book into a 404, not a 500."""
    assert demo_server.get("/good/books/999999/").status_code == 404


def test_parallel_calls_overlap(demo_server: DemoServer) -> None:
    """The parallel view's API calls run at once: far quicker than one after another."""
    from demo_site.shop.standin_api import LATENCY

    demo_server.get("/good/parallel-ratings/")  # builds the shared client and starts the API
    started = time.monotonic()
    response = demo_server.get("/good/parallel-ratings/")
    elapsed = time.monotonic() - started
    assert len(response.json()["ratings"]) == BOOK_COUNT
    assert elapsed < BOOK_COUNT * LATENCY / 2


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/mistakes/sync-orm/", 500),
        ("/mistakes/time-sleep/", 200),
        ("/mistakes/blocking-library/", 200),
        ("/mistakes/cpu-bound/", 200),
        ("/mistakes/forgotten-await/", 200),
        ("/mistakes/lost-exception/", 200),
        ("/mistakes/guide-template-view/", 500),
        ("/mistakes/guide-detail-view/1/", 500),
        ("/mistakes/sync-middleware/", 200),
    ],
)
def test_mistake_view_status(demo_server: DemoServer, path: str, status: int) -> None:
    """Each mistake view answers as its mistake makes it: Django refuses sync ORM on the loop,
    and awaiting a sync parent's get() fails; the others look fine from outside."""
    assert demo_server.get(path).status_code == status


def test_forgotten_await_never_counts(demo_server: DemoServer) -> None:
    """The coroutine that was never awaited never ran: the visit counter stays at zero."""
    for _ in range(3):
        response = demo_server.get("/mistakes/forgotten-await/")
    assert response.text == "Visits counted: 0"
