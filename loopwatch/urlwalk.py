"""Every view the URLconf can reach, with the route that reaches it.

    >>> for route, callback in routed_views(): print(route, callback)

Used by the static checks and by the WSGI warning; reads the URLconf Django already loaded.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction


def routed_views(urlconf: str | None = None) -> Iterator[tuple[str, Any]]:
    """(route, callback) for every URL pattern, included URLconfs too, in URLconf order."""
    from django.urls import get_resolver

    yield from _walk(get_resolver(urlconf).url_patterns, "")


def _walk(patterns: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    from django.urls import URLPattern, URLResolver

    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def view_target(callback: Any) -> Any:
    """The class of a class-based view, else the function under its decorators."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return view_class
    return inspect.unwrap(callback)


def is_async_view(callback: Any) -> bool:
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        try:
            return bool(view_class.view_is_async)
        except Exception:
            return False  # mixed sync/async handlers: Django reports that itself
    return iscoroutinefunction(callback) or iscoroutinefunction(inspect.unwrap(callback))


def dotted(target: Any) -> str:
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"
