"""One process of the per-request benchmark: N requests to /fast/ through the ASGI app, in-process.

    python bench/request_workload.py MODE LOOP N      # MODE: plain|loopwatch, LOOP: asyncio|uvloop

The test project's ASGI application is driven directly (scope, receive and send built here, no
sockets), one request at a time, each in its own task as a server would run it.

- plain: Django's ASGI application alone; loopwatch is neither in INSTALLED_APPS nor
  installed, so nothing of it runs.
- loopwatch: the same application wrapped in `LoopwatchMiddleware`, started by a lifespan
  startup as under uvicorn: detection on at the test project's threshold, Django patches
  applied, the Prometheus exporter attached.

Run under `valgrind --tool=callgrind`: the difference between N and N=0 runs, divided by N, is
the cost of one request. Both runs first serve `WARMUP` requests, so one-time work (imports,
URL resolver, first-request caches) falls on the side that is subtracted.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 20
THRESHOLD = 0.1  # loopwatch's default; every detector in the benchmarks uses the same
SWITCH_INTERVAL = 10.0
PATH = "/fast/"
VIEW = "tests.testproject.views.FastView"

Message = MutableMapping[str, Any]
App = Callable[..., Awaitable[None]]


def build_app(mode: str, **loopwatch_settings: Any) -> App:
    """The test project's ASGI application, bare (plain) or as its asgi.py wraps it."""
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    from tests.testproject import settings as project

    values = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    values["LOOPWATCH"] = {**values["LOOPWATCH"], "THRESHOLD": THRESHOLD, **loopwatch_settings}
    if mode == "plain":
        values["INSTALLED_APPS"] = [a for a in values["INSTALLED_APPS"] if a != "loopwatch"]
    settings.configure(**values)
    django.setup(set_prefix=False)
    from django.core.handlers.asgi import ASGIHandler

    app: App = ASGIHandler()
    if mode == "loopwatch":
        from loopwatch.asgi import LoopwatchMiddleware

        app = LoopwatchMiddleware(app)
    return app


def http_scope(path: str, query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def request(app: App, path: str = PATH, query: bytes = b"") -> int:
    """One request as an ASGI server makes it; returns the response status."""
    done = asyncio.Event()
    status = 0
    body_sent = False

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # Like a server: the client stays connected until the response is complete.
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(http_scope(path, query), receive, send)
    return status


class Lifespan:
    """The lifespan conversation uvicorn holds with the app: startup now, shutdown later."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.events: asyncio.Queue[Message] = asyncio.Queue()
        self.answers: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        self.task = asyncio.get_running_loop().create_task(
            self.app(scope, self.events.get, self.answers.put)
        )
        await self.events.put({"type": "lifespan.startup"})
        await self.answers.get()

    async def shutdown(self) -> None:
        await self.events.put({"type": "lifespan.shutdown"})
        await self.answers.get()
        if self.task is not None:
            await self.task


async def serve(app: App, mode: str, n: int) -> None:
    loop = asyncio.get_running_loop()
    server = Lifespan(app) if mode == "loopwatch" else None
    if server is not None:
        await server.startup()
    for _ in range(WARMUP + n):
        status = await loop.create_task(request(app))
        if status != 200:
            raise SystemExit(f"{PATH} answered {status}")
    if server is not None:
        check_detection_on(WARMUP + n)
        await server.shutdown()


def check_detection_on(requests: int) -> None:
    """Refuse to report a figure for loopwatch unless it really timed every request."""
    from loopwatch import is_installed
    from loopwatch.metrics import get_exporter

    counted = get_exporter().registry.get_sample_value(
        "loopwatch_request_loop_seconds_count", {"view": VIEW}
    )
    if not is_installed() or counted != requests:
        raise SystemExit(f"loopwatch was not on: installed={is_installed()}, counted={counted}")


def run(mode: str, loop: str, n: int) -> None:
    os.chdir(ROOT)
    # Under valgrind the program runs ~50x slower than the clock, so the 5 ms GIL switch
    # interval would force far more thread switches per request than a real run makes, and
    # how many depends on timing. With a long interval threads hand over the GIL where they
    # block (the loop in epoll, Django's worker thread on its queue): the same points in
    # every run, so counts repeat.
    sys.setswitchinterval(SWITCH_INTERVAL)
    app = build_app(mode)
    if loop == "uvloop":
        import uvloop

        uvloop.run(serve(app, mode, n))
    else:
        asyncio.run(serve(app, mode, n))


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]))
