"""One-time warnings when the site is served through WSGI, where loopwatch cannot work.

Under WSGI there is no event loop to watch: Django runs each async view in a fresh loop of
its own, per request (the guide's "Running async code on WSGI server"). Connected to
`request_started` by the app's `ready()`: it warns once that the site is on WSGI, and once more,
naming the view, when an async view is served that way. Once both are said, or when the
URLconf has no async view at all, it costs one flag test per request.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("loopwatch")

_warned = False
_async_view_done = False


def warn_if_wsgi(sender: Any, **kwargs: Any) -> None:
    global _warned, _async_view_done
    if _warned and _async_view_done:
        return
    from django.core.handlers.wsgi import WSGIHandler

    if not (isinstance(sender, type) and issubclass(sender, WSGIHandler)):
        return
    if not _warned:
        _warned = True
        logger.warning(
            "loopwatch: this site is served through WSGI (%s). There is no event loop to "
            "watch: async views run in a new event loop per request, one request at a time. "
            "Serve it with an ASGI server (uvicorn project.asgi:application) and wrap the "
            "ASGI application in loopwatch.asgi.LoopwatchMiddleware.",
            sender.__name__,
        )
        _async_view_done = not _has_async_views()
    if not _async_view_done:
        view = _async_view_at(kwargs.get("environ") or {})
        if view is not None:
            _async_view_done = True
            logger.warning(
                "loopwatch: the async view %s was served through WSGI (%s): Django ran it in "
                "an event loop created for this one request, so its awaits overlap with "
                "nothing and the worker is blocked for the whole request. Serve the site "
                "with an ASGI server (uvicorn project.asgi:application).",
                view,
                sender.__name__,
            )


def _has_async_views() -> bool:
    from loopwatch import urlwalk

    try:
        return any(urlwalk.is_async_view(callback) for _, callback in urlwalk.routed_views())
    except Exception:
        return False


def _async_view_at(environ: dict[str, Any]) -> str | None:
    from django.urls import resolve

    from loopwatch import urlwalk

    try:
        match = resolve(environ.get("PATH_INFO") or "/")
    except Exception:
        return None  # no match (Django answers 404), or a URLconf error Django will report
    if not urlwalk.is_async_view(match.func):
        return None
    return urlwalk.dotted(urlwalk.view_target(match.func))


def reset() -> None:
    """Forget what was said (for tests)."""
    global _warned, _async_view_done
    _warned = _async_view_done = False
