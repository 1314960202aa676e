"""Views of the test project that make the guide's Common Mistakes, and their correct twins.

Each mistaken line carries a marker comment the tests look up, so no line number is hard-coded.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from typing import Any
from urllib.request import urlopen

import requests
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views import View
from django.views.generic import DetailView, TemplateView

from tests.testproject.models import Item


async def record_visit(name: str) -> None:
    await asyncio.sleep(0)


async def charge(amount: int) -> None:
    await asyncio.sleep(0)
    raise ValueError(f"card declined for {amount}")  # LOST_RAISE_LINE


class ForgottenAwaitView(View):
    """Calls a coroutine function and drops the coroutine: it never runs."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        record_visit("home")  # type: ignore[unused-coroutine]  # UNAWAITED_LINE
        return HttpResponse("forgot")


class KeptUnawaitedView(View):
    """Keeps the coroutine in a variable and returns without awaiting it."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        pending = record_visit("kept")  # UNAWAITED_KEPT_LINE
        return HttpResponse(f"kept {pending is not None}")


class LostExceptionView(View):
    """Starts a task that fails and never looks at it again."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        asyncio.create_task(charge(42))
        return HttpResponse("charged")


class AwaitedView(View):
    """The correct twin: every coroutine is awaited, every task's result is read."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        await record_visit("home")
        task = asyncio.create_task(charge(1))
        with contextlib.suppress(ValueError):
            await task
        await asyncio.gather(record_visit("a"), record_visit("b"))
        return HttpResponse("awaited")


class HopsView(View):
    """An async view that makes no hop of its own (hops come from the middleware around it)."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0)
        return HttpResponse("hops")


class OrmHopsView(View):
    """Three ORM a-method calls: three hops to the request's database thread."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        count = await Item.objects.acount()  # ORM_HOP_LINE
        exists = await Item.objects.filter(name="x").aexists()
        first = await Item.objects.afirst()
        return HttpResponse(f"{count} {exists} {first is not None}")


class ListHopView(View):
    """The guide's `sync_to_async(list)(queryset)`: one hop, named after `list`."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        items = await sync_to_async(list)(Item.objects.all())  # LIST_HOP_LINE
        return HttpResponse(str(len(items)))


def sync_hop_view(request: HttpRequest) -> HttpResponse:
    """A sync view under ASGI: Django runs it in a thread (one hop per request)."""
    return HttpResponse("sync")


# -- found without running: `manage.py check --tag loopwatch` (routed in tests/mistakes) --------


class GuideTemplateView(TemplateView):
    """The guide's "Async in Template Views" example, which fails: TemplateView.get is sync."""

    template_name = "testproject/plain.html"

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        await asyncio.sleep(0)
        return await super().get(request, *args, **kwargs)  # type: ignore[misc]  # SUPER_GET_LINE


class GuideDetailView(DetailView):  # type: ignore[type-arg]
    """The guide's "Async in DetailView" example: DetailView.get is sync (and queries)."""

    model = Item

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        await asyncio.sleep(0)
        return await super().get(request, *args, **kwargs)  # type: ignore[misc]  # SUPER_DETAIL_LINE


class BlockingCallsView(View):
    """Known blocking calls inside an async handler, one per line."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        time.sleep(0.001)  # BLOCK_SLEEP_LINE
        requests.get("http://127.0.0.1:9/", timeout=1)  # BLOCK_REQUESTS_LINE
        urlopen("http://127.0.0.1:9/")  # BLOCK_URLOPEN_LINE
        with open(__file__) as source:  # BLOCK_OPEN_LINE
            source.read()
        subprocess.run(["true"], check=False)  # BLOCK_SUBPROCESS_LINE
        items = Item.objects.filter(name="x")
        for item in items:  # BLOCK_QS_FOR_LINE
            print(item)
        names = [item.name for item in Item.objects.all()]  # BLOCK_QS_COMPREHENSION_LINE
        listed = list(Item.objects.all())  # BLOCK_QS_LIST_LINE
        first = Item.objects.first()  # BLOCK_QS_FIRST_LINE
        return HttpResponse(f"{len(names)} {len(listed)} {first}")


def helper_that_blocks() -> int:
    time.sleep(0.001)
    return len(list(Item.objects.all()))


class OffloadedView(View):
    """The correct twins of the blocking calls: nothing here blocks the loop."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        await asyncio.to_thread(time.sleep, 0.001)
        listed = await sync_to_async(list)(Item.objects.all())
        names = [item.name async for item in Item.objects.all()]
        first = await Item.objects.afirst()
        count = await Item.objects.filter(name="x").acount()

        def read() -> str:  # runs in a thread below, so its open() is fine
            with open(__file__) as source:
                return source.read()

        text = await sync_to_async(read)()
        blocked = await sync_to_async(helper_that_blocks)()
        return HttpResponse(f"{len(listed)} {len(names)} {first} {count} {len(text)} {blocked}")


class AsyncTemplateView(TemplateView):
    """TemplateView used correctly from async code: the parent called without await."""

    template_name = "testproject/plain.html"

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        await asyncio.sleep(0)
        return super().get(request, *args, **kwargs)
