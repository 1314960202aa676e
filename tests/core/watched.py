"""Running a coroutine on stock asyncio or on uvloop, with loopwatch on as a user turns it on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

import loopwatch
from loopwatch import StallRecord

Main = Callable[[], Awaitable[Any]]
LOOP_KINDS = ["asyncio", "uvloop"]


def run_watched(loop_kind: str, main: Main, threshold: float) -> list[StallRecord]:
    """Run `main()` with loopwatch on; the stalls it recorded, oldest first.

    Stock asyncio: `watching()` around `asyncio.run`. uvloop: `install()` inside the running
    loop (that sets the task factory), then `main()` in a task created afterwards.
    """
    if loop_kind == "asyncio":
        with loopwatch.watching(threshold=threshold):
            asyncio.run(main())
            records = loopwatch.recent_stalls()
    else:

        async def in_uvloop() -> list[loopwatch.Record]:
            loopwatch.install(threshold=threshold)
            try:
                await asyncio.get_running_loop().create_task(main())
                return loopwatch.recent_stalls()
            finally:
                loopwatch.uninstall()

        records = uvloop.run(in_uvloop())
    return [r for r in reversed(records) if isinstance(r, StallRecord)]


def run_plain(loop_kind: str, main: Main) -> Any:
    """Run `main()` on that loop, loopwatch untouched (tests that install it themselves)."""
    if loop_kind == "asyncio":
        return asyncio.run(main())
    return uvloop.run(main())
