"""Serving requests through the test project's real ASGI stack, in-process, as a server would.

`LoopwatchMiddleware(ASGIHandler())`: the same application `tests/testproject/asgi.py` builds,
built here after the test's settings are in place (Django loads MIDDLEWARE when the handler is
created).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.core.handlers.asgi import ASGIHandler

from loopwatch.asgi import LoopwatchMiddleware

Message = MutableMapping[str, Any]
App = Callable[..., Awaitable[None]]


def application() -> App:
    return LoopwatchMiddleware(ASGIHandler())


def http_scope(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def get(app: App, path: str) -> int:
    """One GET as an ASGI server makes it, in its own task; returns the response status."""
    status, _ = await fetch(app, path)
    return status


async def fetch(
    app: App, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, bytes]:
    """One GET as an ASGI server makes it, in its own task: the status and the body."""
    done = asyncio.Event()
    status = 0
    body = bytearray()
    body_sent = False

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # the client stays connected until the response is complete
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    scope = http_scope(path, headers)
    await asyncio.get_running_loop().create_task(app(scope, receive, send))
    return status, bytes(body)
