"""`LoopwatchMiddleware`: the one line a user adds to `asgi.py`.

    application = LoopwatchMiddleware(get_asgi_application())

At its first ASGI event (lifespan startup, or the first request when lifespan is off) it
starts detection inside the running loop — under uvloop that is the moment the task factory
can be set — and from then on gives every HTTP request its `RequestState`, so every step the
request causes (middleware, view, streaming, disconnect handling) is charged to its view.
Django's handler does not speak the lifespan protocol; for it, the middleware answers
lifespan itself and stops detection at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from loopwatch import api, requests
from loopwatch.context import RequestState, current_request, enter_request

logger = logging.getLogger("loopwatch")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LoopwatchMiddleware:
    """ASGI middleware that starts loopwatch and scopes each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._started = False
        self._metrics_server: Any = None

    # An `async def`, though a plain function returning the request's coroutine would save a
    # layer: on Python 3.11 some servers (hypercorn) tell an ASGI 3 app by
    # `inspect.iscoroutinefunction`, which sees no asgiref marker.
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._started:
            self._start()
        if scope["type"] == "lifespan" and _is_django(self.app):
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http" or current_request.get() is not None:
            await self.app(scope, receive, send)
            return
        # `requests.serve`'s scope, inlined: this coroutine is a layer every step of the
        # request resumes through, and one layer fewer is measurably cheaper.
        monitor = api.current_monitor()
        state = RequestState(scope.get("method"), scope.get("path"))
        entered = enter_request(state)
        try:
            await self.app(scope, receive, send)
        finally:
            requests.finish(state, entered, monitor)

    def _start(self) -> None:
        self._started = True
        try:
            from loopwatch.django_start import start_detection

            self._metrics_server = start_detection()
        except Exception:
            # loopwatch's own failure must not take the site down: serve without it.
            logger.exception("loopwatch: could not start detection; serving without it")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _stop(self) -> None:
        server, self._metrics_server = self._metrics_server, None
        if server is not None:
            server.stop()
        api.uninstall()
        self._started = False


def _is_django(app: Any) -> bool:
    try:
        from django.core.handlers.asgi import ASGIHandler
    except ImportError:
        return False
    return isinstance(app, ASGIHandler)
