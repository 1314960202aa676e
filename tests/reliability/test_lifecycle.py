"""Starting and stopping leaves nothing behind: no thread, no patch, no growing memory."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from django.core.asgi import get_asgi_application
from django.core.exceptions import SynchronousOnlyOperation
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler

import loopwatch
from loopwatch.asgi import LoopwatchMiddleware
from loopwatch.metrics import get_exporter
from tests.served.helpers import VIEWS

# Everything loopwatch patches, as the objects they are before it starts.
PATCHED = [
    (asyncio.events.Handle, "_run"),
    (ASGIHandler, "__call__"),
    (BaseHandler, "get_response_async"),
    (BaseHandler, "resolve_request"),
    (SynchronousOnlyOperation, "__init__"),
]


def snapshot() -> dict[str, Any]:
    """What must be the same before loopwatch starts and after it stops."""
    return {
        # Executor workers belong to asgiref's and the tests' thread pools, which start and
        # retire them on their own schedule; every thread loopwatch starts has its own name.
        "threads": sorted(
            t.name for t in threading.enumerate() if not t.name.startswith("ThreadPoolExecutor")
        ),
        "patched": [owner.__dict__.get(name) for owner, name in PATCHED],
        "gc_callbacks": list(gc.callbacks),
        "task_factory": asyncio.get_running_loop().get_task_factory(),
    }


def requests_accounted() -> Counter[str]:
    """Requests finished so far, by view, as the exporter counted them."""
    counts: Counter[str] = Counter()
    for family in get_exporter().registry.collect():
        for sample in family.samples:
            if sample.name == "loopwatch_request_loop_seconds_count":
                counts[sample.labels["view"]] = int(sample.value)
    return counts


def loopwatch_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("loopwatch")]


class Lifespan:
    """The lifespan conversation an ASGI server holds with the application."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def startup(self) -> str:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        self.task = asyncio.create_task(self.app(scope, self.events.get, self.answers.put))
        await self.events.put({"type": "lifespan.startup"})
        return str((await self.answers.get())["type"])

    async def shutdown(self) -> str:
        await self.events.put({"type": "lifespan.shutdown"})
        answer = str((await self.answers.get())["type"])
        assert self.task is not None
        await self.task
        return answer


async def get(app: Any, path: str) -> int:
    """One GET through the ASGI application, in a task of its own as a server runs it (under
    uvloop only tasks created after detection started are timed); its status."""
    import httpx

    async def one_request() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return (await client.get(path)).status_code

    return await asyncio.get_running_loop().create_task(one_request())


def run(loop_name: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `main` in a fresh event loop of the given kind, as a server would."""
    if loop_name == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        uvloop.run(main())
    else:
        asyncio.run(main())


@pytest.fixture
def app() -> Iterator[LoopwatchMiddleware]:
    yield LoopwatchMiddleware(get_asgi_application())
    loopwatch.uninstall()


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_lifespan_shutdown_and_restart_leave_nothing_behind(
    app: LoopwatchMiddleware, loop_name: str
) -> None:
    """Lifespan startup starts detection; shutdown removes every thread and patch; a second
    startup of the same application (a server restarting it) detects again and cleans up again."""

    async def main() -> None:
        before = snapshot()
        for _ in range(2):
            server = Lifespan(app)
            assert await server.startup() == "lifespan.startup.complete"
            assert loopwatch.is_installed()
            assert loopwatch_threads() == ["loopwatch-watchdog"]
            served = requests_accounted()
            assert await get(app, "/sleep/?s=0.1") == 200
            # The sleep's stall is charged to its view (on a loaded machine, or on Django's
            # first request, another stall outside any request may be recorded after it).
            assert f"{VIEWS}.SleepView" in [r.view for r in loopwatch.recent_stalls()]
            # Accounted exactly once, to its view (not a second time as unresolved).
            assert requests_accounted() - served == Counter({f"{VIEWS}.SleepView": 1})
            assert await server.shutdown() == "lifespan.shutdown.complete"
            assert not loopwatch.is_installed()
            assert snapshot() == before

    run(loop_name, main)


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_many_install_uninstall_cycles_leave_nothing_behind(loop_name: str) -> None:
    """200 install/uninstall cycles, each timing some steps: no thread, patch or memory stays."""

    async def cycle() -> None:
        loopwatch.install(threshold=0.01, log=False)
        await asyncio.gather(*(asyncio.sleep(0) for _ in range(5)))
        loopwatch.uninstall()

    async def main() -> None:
        before = snapshot()
        for _ in range(20):  # warm-up: first-use caches are not leaks
            await cycle()
        gc.collect()
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            for _ in range(200):
                await cycle()
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - baseline
        finally:
            tracemalloc.stop()
        assert snapshot() == before
        assert grown < 64 * 1024, f"{grown} bytes kept after 200 cycles"

    run(loop_name, main)
