"""The ASGI application uvicorn serves in the wrk benchmark, chosen by LOOPWATCH_BENCH_MODE.

    LOOPWATCH_BENCH_MODE=aiodebug uvicorn --app-dir bench server_app:application

- plain: the test project's Django application alone (loopwatch not in INSTALLED_APPS);
- loopwatch: wrapped in `LoopwatchMiddleware`, exactly as the test project's asgi.py does;
- aiodebug: plain, with aiodebug's slow-callback log enabled at the same threshold;
- debug: plain, with asyncio's debug mode switched on from inside the running loop (uvicorn on
  Python 3.11 starts its loop with debug off whatever PYTHONASYNCIODEBUG says).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from request_workload import THRESHOLD, App, build_app


class DebugMode:
    """Switches the running loop to asyncio debug mode at the first ASGI event."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.switched = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.switched:
            self.switched = True
            loop = asyncio.get_running_loop()
            loop.set_debug(True)
            loop.slow_callback_duration = THRESHOLD
        await self.app(scope, receive, send)


def application_for(mode: str) -> App:
    if mode in ("plain", "loopwatch"):
        return build_app(mode)
    app = build_app("plain")
    if mode == "aiodebug":
        from aiodebug import log_slow_callbacks

        log_slow_callbacks.enable(THRESHOLD)
        return app
    if mode == "debug":
        return DebugMode(app)
    raise SystemExit(f"unknown LOOPWATCH_BENCH_MODE {mode!r}")


application = application_for(os.environ.get("LOOPWATCH_BENCH_MODE", "plain"))
