"""The three endpoints of `loopwatch.urls`: the page, stalls.json and Prometheus metrics.

    # urls.py
    urlpatterns = [..., path("loopwatch/", include("loopwatch.urls"))]

Each view is async, checks the gate on the loop (cheap) and does the rest in a worker thread:
rendering a full ring of records or encoding every metric takes long enough to stall the very
loop loopwatch watches. The page renders with loopwatch's own template engine, so it works
whatever the project's TEMPLATES setting holds (or without one).
"""

from __future__ import annotations

import functools
import json
import os
import secrets
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine
from django.utils.cache import add_never_cache_headers

from loopwatch import hops
from loopwatch import page as page_data
from loopwatch.access import require_access
from loopwatch.api import current_monitor, recent_stalls, stall_groups
from loopwatch.conf import get_config
from loopwatch.metrics import exposition, get_exporter

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


@functools.cache
def _engine() -> Engine:
    return Engine(dirs=[str(TEMPLATE_DIR)])


def current_threshold() -> float:
    """The threshold detection runs with in this process (the setting when it is not running)."""
    monitor = current_monitor()
    return monitor.threshold if monitor is not None else get_config().threshold


def _filters(request: HttpRequest) -> tuple[str | None, str | None]:
    return request.GET.get("view") or None, request.GET.get("kind") or None


def stalls_document(view: str | None = None, kind: str | None = None) -> dict[str, Any]:
    """The stalls.json body: the threshold and every retained record, newest first."""
    stalls = [
        record.to_dict()
        for record in recent_stalls()
        if (view is None or record.view == view) and (kind is None or record.kind == kind)
    ]
    return {"threshold": current_threshold(), "stalls": stalls}


def encode_stalls(view: str | None, kind: str | None) -> bytes:
    return json.dumps(stalls_document(view, kind)).encode()


def render_page(view: str | None, kind: str | None, nonce: str) -> str:
    groups = stall_groups()
    records = recent_stalls()
    monitor = current_monitor()
    context = {
        "groups": page_data.build_groups(groups, records, view=view, kind=kind),
        # Thread hops are not records: shown unless the page is filtered to one kind.
        "hops": [row for row in hops.summary() if view is None or row.view == view]
        if kind is None
        else [],
        "views": page_data.views_of(groups),
        "kinds": page_data.KINDS,
        "totals": page_data.kind_totals(groups),
        "view_filter": view or "",
        "kind_filter": kind or "",
        "threshold": page_data.format_seconds(current_threshold()),
        "running": monitor is not None,
        "retained": len(records),
        "capacity": monitor.buffer.maxlen if monitor is not None else get_config().buffer_size,
        "pid": os.getpid(),
        "nonce": nonce,
    }
    template = _engine().get_template("loopwatch/page.html")
    return template.render(Context(context))


def _content_security_policy(nonce: str) -> str:
    # Only the page's own inline style and script run: an injected element could do nothing
    # even if something slipped past the escaping.
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


async def page(request: HttpRequest) -> HttpResponse:
    """The HTML page of recent stalls and flagged calls, grouped by view and blocking line."""
    require_access(request)
    view, kind = _filters(request)
    nonce = secrets.token_urlsafe(16)
    html = await sync_to_async(render_page, thread_sensitive=False)(view, kind, nonce)
    response = HttpResponse(html)
    response["Content-Security-Policy"] = _content_security_policy(nonce)
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    add_never_cache_headers(response)
    return response


async def stalls_json(request: HttpRequest) -> HttpResponse:
    """stalls.json: `{"threshold": ..., "stalls": [...]}`, newest first; `?view=`, `?kind=`."""
    require_access(request)
    view, kind = _filters(request)
    # Encoded in the thread too: dumping a full ring takes longer than a typical threshold.
    body = await sync_to_async(encode_stalls, thread_sensitive=False)(view, kind)
    response = HttpResponse(body, content_type="application/json")
    add_never_cache_headers(response)
    return response


async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition (OpenMetrics when the scraper asks for it), multiprocess-aware."""
    require_access(request)
    body, content_type = await sync_to_async(exposition, thread_sensitive=False)(
        get_exporter(), request.headers.get("Accept")
    )
    return HttpResponse(body, content_type=content_type)
