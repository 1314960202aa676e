"""Views of the test project that make the guide's Common Mistakes, and their correct twins.

Each mistaken line carries a marker comment the tests look up, so no line number is hard-coded.
"""

from __future__ import annotations

import asyncio
import contextlib

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views import View

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


class ForgottenOrmAwaitView(View):
    """An ORM a-method without await: Django's manager creates the coroutine, one frame down."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        Item.objects.acount()  # type: ignore[unused-coroutine]  # UNAWAITED_ORM_LINE
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
