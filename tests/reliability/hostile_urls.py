"""Routes whose names and paths are hostile: a view with a hostile name, a stall on any path."""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path

HOSTILE = "<script>alert(1)</script>"
# A Python name can carry none of these, but `__qualname__` is only a string: the view label.
HOSTILE_NAME = f'view"with\\quote\nand{HOSTILE}'


async def any_path(request: HttpRequest, rest: str) -> HttpResponse:
    time.sleep(0.08)  # HOSTILE_SLEEP_LINE
    return HttpResponse(f"slept on {len(rest)} characters")


async def hostile_named(request: HttpRequest) -> HttpResponse:
    time.sleep(0.08)
    return HttpResponse("slept")


hostile_named.__qualname__ = HOSTILE_NAME

urlpatterns = [
    path("named/", hostile_named),
    path("loopwatch/", include("loopwatch.urls")),
    re_path(r"^any/(?P<rest>.*)$", any_path),
]
