"""Views of the test project: each blocking line is one obvious statement."""

from __future__ import annotations

import asyncio
import os
import time
import urllib.request

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views import View

from tests.testproject.models import Item


def burn(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:  # CPU_LOOP_LINE
        pass


class FastView(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0)
        return HttpResponse("fast")


_arrived = 0


class WaitView(View):
    """Stays in flight without holding the loop (a victim of other requests' stalls)."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        global _arrived
        _arrived += 1
        await asyncio.sleep(float(request.GET.get("s", "1.0")))
        return HttpResponse("waited")


class ArrivedView(View):
    """How many WaitView requests have started: lets a test know they are all in flight."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(str(_arrived))


class SleepView(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        seconds = float(request.GET.get("s", "0.12"))
        time.sleep(seconds)  # SLEEP_LINE
        return HttpResponse(f"slept in {os.getpid()}")


class CpuView(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        burn(float(request.GET.get("s", "0.12")))
        return HttpResponse("burned")


class UrllibView(View):
    """Calls a slow local peer whose address the test passes in (the test's own server)."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        port = int(request.GET["port"])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:  # URLLIB_LINE
            body = reply.read()
        return HttpResponse(body)


class StreamView(View):
    async def get(self, request: HttpRequest) -> StreamingHttpResponse:
        async def chunks():  # type: ignore[no-untyped-def]
            yield b"first\n"
            time.sleep(0.12)  # STREAM_LINE
            yield b"second\n"

        return StreamingHttpResponse(chunks())


class SyncOrmView(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        names = [item.name for item in Item.objects.filter(name="x")]  # ORM_LINE
        return HttpResponse(str(len(names)))


class AsyncOrmView(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        count = await Item.objects.filter(name="x").acount()
        listed = await sync_to_async(list)(Item.objects.filter(name="x"))
        return HttpResponse(f"{count} {len(listed)}")


def sync_view(request: HttpRequest) -> HttpResponse:
    names = list(Item.objects.values_list("name", flat=True))
    return HttpResponse(str(len(names)))
