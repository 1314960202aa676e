"""Sync middleware in the MiddlewareMixin style, and a way to put one view behind it.

Under ASGI, Django runs each sync hook of a MiddlewareMixin middleware through
``sync_to_async(thread_sensitive=True)``: a hop to the one shared worker thread and back, on
every request, queued behind every other request's hops. loopwatch counts those hops per view.
"""

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger(__name__)

AsyncView = Callable[..., Awaitable[HttpResponse]]


class AuditMiddleware(MiddlewareMixin):
    """Logs each request with its duration, written the sync way most middleware still is."""

    def process_request(self, request: HttpRequest) -> None:
        request.audit_started = time.perf_counter()  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        elapsed = time.perf_counter() - request.audit_started  # type: ignore[attr-defined]
        logger.info(
            "audit %s %s %d %.3fs", request.method, request.path, response.status_code, elapsed
        )
        return response


def behind_sync_middleware(view: AsyncView) -> AsyncView:
    """``view`` served behind :class:`AuditMiddleware`, as if it were in ``MIDDLEWARE``.

    Only this view pays the hops; the rest of the demo has no sync middleware to compare with.
    """

    async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        async def get_response(request: HttpRequest) -> HttpResponse:
            return await view(request, *args, **kwargs)

        response: HttpResponse = await AuditMiddleware(get_response)(request)
        return response

    # Keeps view_class, so Django (and loopwatch) still name the view after its class.
    return functools.wraps(view)(wrapped)
