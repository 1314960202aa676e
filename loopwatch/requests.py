"""The lifetime of one request as loopwatch accounts for it.

    >>> await serve(monitor, scope, app, scope, receive, send)

Used by the `ASGIHandler.__call__` and `get_response_async` patches when no middleware scoped
the request (Django's `AsyncClient`, a site without `LoopwatchMiddleware`). The middleware
opens the scope in its own coroutine, with `finish` at the end, one coroutine layer fewer per
request. Either way exactly one `RequestState` per request, finished exactly once (its loop
time and wait time then go to the metrics).

A coroutine with try/finally rather than an async context manager: this runs once per request
of the site, and an async generator's enter and exit cost several times as much.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from loopwatch.context import Entered, RequestState, enter_request, exit_request

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor

T = TypeVar("T")


async def serve(
    monitor: Monitor | None,
    scope: Mapping[str, Any],
    app: Callable[..., Awaitable[T]],
    *args: Any,
) -> T:
    """Await `app(*args)` (serving one request) as the request described by `scope`.

    `app` is called only once the request is current, so that whatever it calls on the way
    (Django's own handler, patched) sees the request as already scoped.
    """
    state = RequestState(scope.get("method"), scope.get("path"))
    entered = enter_request(state)
    try:
        return await app(*args)
    finally:
        finish(state, entered, monitor)


def finish(state: RequestState, entered: Entered, monitor: Monitor | None) -> None:
    """Close the request's scope and hand its accounts to the monitor (once per request)."""
    exit_request(state, entered)
    if monitor is not None:
        monitor.request_finished(state)
