"""Middleware for the hop tests: three synchronous ones, and one async-only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin


class StampMiddleware(MiddlewareMixin):
    """Sync `process_request`: under ASGI, one hop to a thread per request."""

    def process_request(self, request: HttpRequest) -> None:
        request.META["HTTP_X_STAMP"] = "1"


class AuditMiddleware(MiddlewareMixin):
    def process_request(self, request: HttpRequest) -> None:
        request.META["HTTP_X_AUDIT"] = "1"


class LocaleGuessMiddleware(MiddlewareMixin):
    def process_request(self, request: HttpRequest) -> None:
        request.META["HTTP_X_LOCALE"] = "en"


class AsyncStampMiddleware:
    """Async-only middleware: no hop."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META["HTTP_X_STAMP"] = "1"
        return await self.get_response(request)


def timing_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A sync-only function middleware: Django hops once for it and everything below it."""

    def middleware(request: HttpRequest) -> HttpResponse:
        return get_response(request)

    return middleware


SYNC_MIDDLEWARE = [
    "tests.mistakes.middleware.StampMiddleware",
    "tests.mistakes.middleware.AuditMiddleware",
    "tests.mistakes.middleware.LocaleGuessMiddleware",
]
