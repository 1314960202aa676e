"""One view per "Common Mistake" of the guide, plus the guide's own wrong examples.

In each view the mistake is the one line under a ``# Mistake:`` comment: the line loopwatch names.
"""

import asyncio
import time
from typing import Any

import requests
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from django.views.generic import DetailView, TemplateView

from demo_site.shop import standin_api
from demo_site.shop.models import Book


class SyncOrmView(View):
    """Sync ORM in an async view: Django refuses it on the loop (SynchronousOnlyOperation)."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        # Mistake: sync ORM on the event loop.
        books = list(Book.objects.all())
        return HttpResponse(f"Books: {len(books)}")


class TimeSleepView(View):
    """``time.sleep()`` instead of ``asyncio.sleep()``: every other request waits too."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        # Mistake: blocks the whole loop for 200 ms.
        time.sleep(0.2)
        return HttpResponse("Slept 200 ms, and so did everyone else")


class BlockingLibraryView(View):
    """A blocking library: ``requests`` waits for the ratings API on the loop's thread."""

    async def get(self, request: HttpRequest) -> JsonResponse:
        url = f"{standin_api.base_url()}/status"
        # Mistake: blocking HTTP client on the loop.
        response = requests.get(url, timeout=5)
        return JsonResponse(response.json())


def _checksum(n: int) -> int:
    # Mistake: pure-Python loop run on the event loop.
    return sum(i * i % 7 for i in range(n))


class CpuBoundView(View):
    """CPU work in the loop: a pure-Python loop in a helper, called from an async view."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"Checksum: {_checksum(2_000_000)}")


_VISITS: dict[str, int] = {}


async def _count_visit(path: str) -> None:
    await asyncio.sleep(0)
    _VISITS[path] = _VISITS.get(path, 0) + 1


class ForgottenAwaitView(View):
    """A forgotten ``await``: the coroutine is created, never run, and silently dropped."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        # Mistake: missing await, the visit is never counted.
        _count_visit(request.path)
        return HttpResponse(f"Visits counted: {_VISITS.get(request.path, 0)}")


async def _send_receipt(order: int) -> None:
    await asyncio.sleep(0.01)
    # The failure nobody sees: loopwatch names this line, where the lost exception came from.
    raise ConnectionError(f"mail server refused the receipt for order {order}")


class LostExceptionView(View):
    """A fire-and-forget task that fails: nobody keeps the task, so nobody sees its error."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        # Mistake: the task is dropped, so its exception is never retrieved.
        asyncio.create_task(_send_receipt(42))
        return HttpResponse("Order placed; receipt on its way (or is it?)")


class GuideTemplateView(TemplateView):
    """The guide's TemplateView example as printed: its parent's get() is sync, so awaiting
    it fails at run time (TypeError: TemplateResponse can't be used in 'await' expression)."""

    template_name = "shop/about.html"

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        await asyncio.sleep(0.1)
        # Mistake: TemplateView.get() is sync and returns a response, not an awaitable.
        return await super().get(request, *args, **kwargs)


class GuideDetailView(DetailView):
    """The guide's DetailView example as printed: its parent's get() runs the query with the
    sync ORM on the loop, before the misplaced ``await`` is even reached."""

    model = Book
    template_name = "shop/book_detail.html"

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        await asyncio.sleep(0.1)
        # Mistake: DetailView.get() queries with the sync ORM, here on the event loop.
        return await super().get(request, *args, **kwargs)


class SyncMiddlewareView(View):
    """A correct async view served behind sync, MiddlewareMixin-style middleware
    (see ``demo_site.shop.middleware``): each sync hook is a hop to a worker thread and back."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        count = await Book.objects.acount()
        return HttpResponse(f"Books: {count} (audited by sync middleware)")
