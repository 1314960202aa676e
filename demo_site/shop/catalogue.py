"""Every page of the demo shop: its URL, its view, and one sentence on what it shows.

The URLconf, the home page and the load driver all read this one list.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from demo_site.shop.middleware import behind_sync_middleware
from demo_site.shop.views import correct, mistakes


@dataclass(frozen=True)
class Page:
    name: str
    route: str
    view: Callable[..., Any]
    summary: str
    mistake: bool = False
    method: str = "GET"
    # URL arguments the load driver uses to request a route that takes some.
    sample_kwargs: dict[str, Any] = field(default_factory=dict)


PAGES: list[Page] = [
    Page(
        "async-get",
        "good/async-get/",
        correct.AsyncGetView.as_view(),
        "An async get() that awaits asyncio.sleep(): slow for itself, free for everyone else.",
    ),
    Page(
        "about",
        "good/about/",
        correct.AboutView.as_view(),
        "The guide's TemplateView example fixed: its async get() does not await the sync parent.",
    ),
    Page(
        "book-list",
        "good/books/",
        correct.BookListView.as_view(),
        "Async ORM: acount() and async for over a queryset.",
    ),
    Page(
        "book-detail",
        "good/books/<int:pk>/",
        correct.BookDetailView.as_view(),
        "The guide's DetailView example fixed: aget() plus a rating from the ratings API.",
        sample_kwargs={"pk": 1},
    ),
    Page(
        "async-db",
        "good/async-db/",
        correct.AsyncDBView.as_view(),
        "The guide's sync_to_async(list)(queryset): the query runs in a worker thread.",
    ),
    Page(
        "external-api",
        "good/external-api/",
        correct.ExternalApiView.as_view(),
        "An external API call through one shared httpx.AsyncClient (a local stand-in API).",
    ),
    Page(
        "dashboard",
        "good/dashboard/",
        correct.DashboardView.as_view(),
        "The guide's real-world view: API call and query together with asyncio.gather().",
    ),
    Page(
        "parallel-ratings",
        "good/parallel-ratings/",
        correct.ParallelRatingsView.as_view(),
        "Parallel tasks: one API call per book, all in flight at once with asyncio.gather().",
    ),
    Page(
        "async-form",
        "good/form/",
        correct.AsyncFormView.as_view(),
        "The guide's async post() (the load driver POSTs; a browser gets the form).",
        method="POST",
    ),
    Page(
        "async-dispatch",
        "good/async-dispatch/",
        correct.AsyncDispatchView.as_view(),
        "The guide's async dispatch() awaiting an async handler.",
    ),
    Page(
        "book-stream",
        "good/stream/",
        correct.BookStreamView.as_view(),
        "A StreamingHttpResponse fed by an async iterator over the async ORM.",
    ),
    Page(
        "sync-orm",
        "mistakes/sync-orm/",
        mistakes.SyncOrmView.as_view(),
        "Sync ORM in an async view: list(Book.objects.all()) on the loop; Django refuses it.",
        mistake=True,
    ),
    Page(
        "time-sleep",
        "mistakes/time-sleep/",
        mistakes.TimeSleepView.as_view(),
        "time.sleep() instead of asyncio.sleep(): every request in flight waits 200 ms.",
        mistake=True,
    ),
    Page(
        "blocking-library",
        "mistakes/blocking-library/",
        mistakes.BlockingLibraryView.as_view(),
        "A blocking library: requests.get() waits for the ratings API on the loop's thread.",
        mistake=True,
    ),
    Page(
        "cpu-bound",
        "mistakes/cpu-bound/",
        mistakes.CpuBoundView.as_view(),
        "CPU work in the loop: a pure-Python loop in a helper function.",
        mistake=True,
    ),
    Page(
        "forgotten-await",
        "mistakes/forgotten-await/",
        mistakes.ForgottenAwaitView.as_view(),
        "A forgotten await: the coroutine is created and never run.",
        mistake=True,
    ),
    Page(
        "lost-exception",
        "mistakes/lost-exception/",
        mistakes.LostExceptionView.as_view(),
        "A task nobody keeps: it fails and its exception is never retrieved.",
        mistake=True,
    ),
    Page(
        "guide-template-view",
        "mistakes/guide-template-view/",
        mistakes.GuideTemplateView.as_view(),
        "The guide's TemplateView example as printed: awaiting a sync get() fails at run time.",
        mistake=True,
    ),
    Page(
        "guide-detail-view",
        "mistakes/guide-detail-view/<int:pk>/",
        mistakes.GuideDetailView.as_view(),
        "The guide's DetailView example as printed: its parent runs the sync ORM on the loop.",
        mistake=True,
        sample_kwargs={"pk": 1},
    ),
    Page(
        "sync-middleware",
        "mistakes/sync-middleware/",
        behind_sync_middleware(mistakes.SyncMiddlewareView.as_view()),
        "A correct view behind sync MiddlewareMixin middleware: two thread hops per request.",
        mistake=True,
    ),
]
