"""Views whose mistakes `manage.py check --tag loopwatch` finds without running, and twins.

Only the static-check tests route them (static_urls.py, good_urls.py): importing `requests`
here would slow the first request of every server that loads the shared test project.
Each mistaken line carries a marker comment the tests look up.
"""

from __future__ import annotations

import asyncio
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


class AsyncDispatchView(View):
    """The guide's "Async dispatch()": right, View.dispatch returns the handler's coroutine."""

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return await super().dispatch(request, *args, **kwargs)  # type: ignore[no-any-return,misc]

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("dispatched")


class AsyncTemplateView(TemplateView):
    """TemplateView used correctly from async code: the parent called without await."""

    template_name = "testproject/plain.html"

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        await asyncio.sleep(0)
        return super().get(request, *args, **kwargs)
