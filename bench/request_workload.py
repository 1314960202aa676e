"""One process of the per-request benchmark: N requests to one page through the ASGI app.

    python bench/request_workload.py [--time-scale 100] [--page orm] MODE LOOP N
    python bench/request_workload.py watchdog LOOP SECONDS   # the watchdog's CPU, natively

LOOP is asyncio or uvloop. The test project's ASGI application is driven directly (scope,
receive and send built here, no sockets), one request at a time, each in its own task as a
server would run it. The page is `/fast/` (an async view that does nothing: what loopwatch adds
weighs most there), or with `--page orm`, `/orm/async/`: an async view making two queries
against SQLite, one with `acount()` and one through `sync_to_async(list)`, as the guide
teaches. MODE is a rung of a ladder, each adding one part of loopwatch to the one before:

- plain: Django's ASGI application alone; loopwatch is neither in INSTALLED_APPS nor
  installed, so nothing of it runs;
- app: "loopwatch" in INSTALLED_APPS (what its `ready()` connects), nothing installed;
- steps: `loopwatch.install()` without the Django integration: step timing, watchdog, lag probe;
- scoped: the application wrapped in `LoopwatchMiddleware` and started by a lifespan startup
  as under uvicorn, Django patches applied (requests scoped, views named), exporter detached;
- loopwatch: everything on, as the test project's asgi.py runs it (the exporter attached);

and, beside the ladder:

- tracking: `loopwatch` with `LOOPWATCH["TRACK_UNAWAITED"]` on (the creating line of every
  coroutine is kept, so a forgotten `await` can be named);
- aiodebug: `plain` with aiodebug's slow-callback timer on at the same threshold, the
  cheapest detector there is, for reference: it times steps and does nothing per request.
  Under uvloop it times nothing (uvloop never calls the `Handle._run` it wraps).

Run under `valgrind --tool=callgrind`: the difference between N and N=0 runs, divided by N, is
the cost of one request. Both runs first serve `WARMUP` requests, so one-time work (imports,
URL resolver, first-request caches) falls on the side that is subtracted.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 20
THRESHOLD = 0.1  # loopwatch's default; every detector in the benchmarks uses the same
# How much slower than native the program runs under callgrind (measured here: 50-100x).
VALGRIND_SLOWDOWN = 100.0


@dataclass(frozen=True)
class Page:
    path: str
    view: str
    rows: int = 0  # rows the page's queries find (a fresh database is made when non-zero)


PAGES = {
    "fast": Page("/fast/", "tests.testproject.views.FastView"),
    "orm": Page("/orm/async/", "tests.testproject.views.AsyncOrmView", rows=20),
}

Message = MutableMapping[str, Any]
App = Callable[..., Awaitable[None]]


MODES = ("plain", "app", "steps", "scoped", "loopwatch")
# Not a rung: `loopwatch` with LOOPWATCH["TRACK_UNAWAITED"] (coroutine origin tracking) on.
TRACKING = "tracking"
AIODEBUG = "aiodebug"
REFERENCES = (TRACKING, AIODEBUG)
WRAPPED = ("scoped", "loopwatch", TRACKING)


def build_app(
    mode: str, threshold: float = THRESHOLD, page: Page = PAGES["fast"], **loopwatch_settings: Any
) -> App:
    """The test project's ASGI application for one rung of the ladder (see above)."""
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    from tests.testproject import settings as project

    values = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    values["LOOPWATCH"] = {**values["LOOPWATCH"], "THRESHOLD": threshold, **loopwatch_settings}
    if mode in ("plain", AIODEBUG):
        values["INSTALLED_APPS"] = [a for a in values["INSTALLED_APPS"] if a != "loopwatch"]
    if page.rows:
        database = Path(tempfile.mkdtemp(prefix="loopwatch-bench-")) / "db.sqlite3"
        values["DATABASES"] = {"default": {**values["DATABASES"]["default"], "NAME": str(database)}}
    settings.configure(**values)
    django.setup(set_prefix=False)
    if page.rows:
        fill_database(page.rows)
    from django.core.handlers.asgi import ASGIHandler

    app: App = ASGIHandler()
    if mode == "steps":
        from loopwatch import integrations

        integrations.unregister("django")
    if mode in WRAPPED:
        from loopwatch.asgi import LoopwatchMiddleware

        app = LoopwatchMiddleware(app)
    return app


def fill_database(rows: int) -> None:
    """Create the test project's tables and `rows` items the ORM page finds."""
    from django.core.management import call_command

    from tests.testproject.models import Item

    call_command("migrate", verbosity=0, interactive=False)
    Item.objects.bulk_create(Item(name="x") for _ in range(rows))


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


async def request(app: App, path: str = PAGES["fast"].path, query: bytes = b"") -> int:
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
        self.task: asyncio.Future[None] | None = None

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        self.task = asyncio.ensure_future(self.app(scope, self.events.get, self.answers.put))
        await self.events.put({"type": "lifespan.startup"})
        await self.answers.get()

    async def shutdown(self) -> None:
        await self.events.put({"type": "lifespan.shutdown"})
        await self.answers.get()
        if self.task is not None:
            await self.task


async def serve(
    app: App, mode: str, n: int, threshold: float, stop_watchdog: bool, page: Page
) -> None:
    import loopwatch

    loop = asyncio.get_running_loop()
    server = Lifespan(app) if mode in WRAPPED else None
    if server is not None:
        await server.startup()
    if mode == "steps":
        loopwatch.install(threshold, log=False)  # inside the loop, as the middleware does
    monitor = loopwatch.current_monitor()
    if monitor is not None and stop_watchdog:
        # Under valgrind all threads run one at a time under its lock, so whenever the watchdog
        # looks, the loop thread is waiting for that lock, never idle in epoll: under uvloop
        # it would report untimed blocks that do not happen natively. Its cost is per second,
        # not per request; `watchdog_share` measures it natively.
        monitor.watchdog.stop()
    if mode == "scoped" and monitor is not None:
        from loopwatch.metrics import get_exporter

        monitor.sinks.remove(get_exporter())
    for index in range(WARMUP + n):
        if index == WARMUP:
            # A full collection walks every object of the process: millions of instructions,
            # landing wherever the allocation count says, so a few bytes more per request
            # could move one into or out of the measured window. Frozen start-up objects are
            # not walked again; what remains is what requests allocate.
            gc.collect()
            gc.freeze()
        status = await loop.create_task(request(app, page.path))
        if status != 200:
            raise SystemExit(f"{page.path} answered {status}")
    if mode in ("loopwatch", TRACKING):
        check_detection_on(WARMUP + n, page.view)
    if server is not None:
        await server.shutdown()
    loopwatch.uninstall()


def check_detection_on(requests: int, view: str) -> None:
    """Refuse to report a figure unless loopwatch timed every request and saw no stall."""
    from loopwatch import is_installed, recent_stalls
    from loopwatch.metrics import get_exporter

    counted = get_exporter().registry.get_sample_value(
        "loopwatch_request_loop_seconds_count", {"view": view}
    )
    if not is_installed() or counted != requests:
        raise SystemExit(f"loopwatch was not on: installed={is_installed()}, counted={counted}")
    unresolved = get_exporter().registry.get_sample_value(
        "loopwatch_request_loop_seconds_count", {"view": "<unresolved>"}
    )
    if unresolved:
        raise SystemExit(f"{unresolved:.0f} requests were accounted twice")
    if recent_stalls():
        # A slow step takes the slow path (stack, record, metrics): not the cost measured here.
        raise SystemExit(f"a step crossed the threshold: {recent_stalls()[0]}")


def run(mode: str, loop: str, n: int, time_scale: float = 1.0, page: str = "fast") -> None:
    """`time_scale`: how much slower than native this process runs (valgrind: ~100).

    Every time constant that decides what runs is scaled by it: the threshold (so a step
    that stays under it natively stays under it here), hence the watchdog's poll and lag-ping
    rate, and the GIL switch interval (5 ms). Otherwise the slowed program would poll, ping
    and switch threads ~100x more often per request than a native one, and how often would
    depend on the machine's load.
    """
    os.chdir(ROOT)
    sys.setswitchinterval(sys.getswitchinterval() * time_scale)
    if mode not in (*MODES, *REFERENCES):
        raise SystemExit(f"MODE must be one of {', '.join((*MODES, *REFERENCES))}")
    threshold = THRESHOLD * time_scale
    chosen = PAGES[page]
    tracking = {"TRACK_UNAWAITED": True} if mode == TRACKING else {}
    app = build_app(mode, threshold=threshold, page=chosen, **tracking)
    if mode == AIODEBUG:
        from aiodebug import log_slow_callbacks

        log_slow_callbacks.enable(threshold, lambda name, seconds: None)
    if loop == "uvloop":
        import uvloop

        uvloop.run(serve(app, mode, n, threshold, time_scale > 1, chosen))
    else:
        asyncio.run(serve(app, mode, n, threshold, time_scale > 1, chosen))


async def watchdog_busy(app: App, seconds: float) -> tuple[float, int]:
    """CPU seconds the watchdog thread used while the app served requests for `seconds`."""
    import threading
    import time

    server = Lifespan(app)
    await server.startup()
    (watchdog,) = [t for t in threading.enumerate() if t.name == "loopwatch-watchdog"]
    assert watchdog.ident is not None
    clock = time.pthread_getcpuclockid(watchdog.ident)  # alive throughout: safe to ask
    loop = asyncio.get_running_loop()
    served = 0
    cpu = time.clock_gettime(clock)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await loop.create_task(request(app))
        served += 1
    cpu = time.clock_gettime(clock) - cpu
    await server.shutdown()
    return cpu, served


def watchdog_share(loop: str, seconds: float) -> None:
    """Print the watchdog's CPU per second of serving, natively (it works per second, not per
    request, so the instruction counts leave it out)."""
    os.chdir(ROOT)
    app = build_app("loopwatch")
    runner = asyncio.run
    if loop == "uvloop":
        import uvloop

        runner = uvloop.run
    cpu, served = runner(watchdog_busy(app, seconds))
    print(f"{cpu / seconds * 1e6:.0f} {served / seconds:.0f}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[0] == "watchdog":
        watchdog_share(arguments[1], float(arguments[2]))
    else:
        options = {"--time-scale": "1", "--page": "fast"}
        while arguments[0] in options:
            options[arguments[0]], arguments = arguments[1], arguments[2:]
        scale, page = float(options["--time-scale"]), options["--page"]
        if page not in PAGES:
            raise SystemExit(f"--page must be one of {', '.join(PAGES)}")
        run(arguments[0], arguments[1], int(arguments[2]), scale, page)
