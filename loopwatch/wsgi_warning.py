"""A one-time warning when the site is served through WSGI, where loopwatch cannot work.

Under WSGI there is no event loop to watch: Django runs each async view in a fresh loop of
its own, per request (the guide's "Running async code on WSGI server"). Connected to
`request_started` by the app's `ready()`; it only looks at the sender.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("loopwatch")

_warned = False


def warn_if_wsgi(sender: Any, **kwargs: Any) -> None:
    global _warned
    if _warned:
        return
    from django.core.handlers.wsgi import WSGIHandler

    if isinstance(sender, type) and issubclass(sender, WSGIHandler):
        _warned = True
        logger.warning(
            "loopwatch: this site is served through WSGI (%s). There is no event loop to "
            "watch: async views run in a new event loop per request, one request at a time. "
            "Serve it with an ASGI server (uvicorn project.asgi:application) and wrap the "
            "ASGI application in loopwatch.asgi.LoopwatchMiddleware.",
            sender.__name__,
        )
