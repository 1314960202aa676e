"""The lifetime of one request as loopwatch accounts for it.

    >>> async with serving(monitor, scope):
    ...     await app(scope, receive, send)

Used by `LoopwatchMiddleware` and, when no middleware is there (Django's `AsyncClient`), by
the `ASGIHandler.__call__` patch: either way exactly one `RequestState` per request, finished
exactly once (its loop time and wait time then go to the metrics).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from loopwatch.context import RequestState, request_scope

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor


def state_for(scope: dict[str, Any]) -> RequestState:
    return RequestState(method=scope.get("method"), path=scope.get("path"))


@asynccontextmanager
async def serving(monitor: Monitor | None, scope: dict[str, Any]) -> AsyncIterator[RequestState]:
    state = state_for(scope)
    with request_scope(state):
        try:
            yield state
        finally:
            if monitor is not None:
                monitor.request_finished(state)
