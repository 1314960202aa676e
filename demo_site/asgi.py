"""ASGI entry point: ``uvicorn demo_site.asgi:application`` (from the repository root)."""

import os

from django.core.asgi import get_asgi_application
from django.urls import get_resolver

from loopwatch.asgi import LoopwatchMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")

application = LoopwatchMiddleware(get_asgi_application())

# Django imports the URLconf, and with it every view module and what they import, on the first
# request: on the event loop, where that import holds every request for ~100 ms. Import it now.
get_resolver().url_patterns  # noqa: B018
