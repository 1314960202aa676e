"""A django-debug-toolbar panel: what the current request did to the event loop.

    # settings.py (development only; needs `pip install loopwatch[toolbar]`)
    DEBUG_TOOLBAR_PANELS = [*debug_toolbar.settings.PANELS_DEFAULTS,
                            "loopwatch.toolbar.LoopwatchPanel"]

For the request the toolbar shows: each step that held the loop at least the threshold (its
duration, cause and blocking line), each ORM call made on the loop thread, the
`sync_to_async` hops, and the time the request's own steps held the loop next to its wall
time. Records are matched by `Record.request_id`, the id of the request's `RequestState`.

Only this module imports debug_toolbar; nothing else in loopwatch does, so a site without the
toolbar installed never loads it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable
from typing import Any

from debug_toolbar.panels import Panel
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from loopwatch.api import current_monitor
from loopwatch.context import RequestState, current_request
from loopwatch.records import Record, StallRecord, SyncOrmRecord


# debug_toolbar ships py.typed but leaves Panel's methods unannotated: the calls below into
# them carry `no-untyped-call` ignores.
class LoopwatchPanel(Panel):
    """Stalls, ORM calls on the loop, thread hops and loop time of the current request."""

    # Safe under ASGI. In async mode the toolbar calls generate_stats() on the event-loop
    # thread, so it only reads in-memory state (the request's RequestState and the record
    # ring): no database, no I/O. The panel's content is rendered later by the toolbar's
    # render_panel view, a sync view Django runs in a worker thread.
    is_async = True
    title = "Event loop"
    template = "loopwatch/toolbar_panel.html"

    @property
    def nav_title(self) -> str:
        return "Event loop"

    @property
    def nav_subtitle(self) -> str:
        stats: dict[str, Any] = self.get_stats()  # type: ignore[no-untyped-call]
        if not stats.get("running"):
            return "loopwatch not running"
        stalls = len(stats.get("stalls", []))
        orm = len(stats.get("orm_calls", []))
        text = f"{stalls} stall{'s' if stalls != 1 else ''}"
        if orm:
            text += f", {orm} ORM on loop"
        return f"{text}, loop {stats['loop_time'] * 1000:.0f} ms"

    def process_request(self, request: HttpRequest) -> Any:
        response = super().process_request(request)  # type: ignore[no-untyped-call]
        if inspect.isawaitable(response):
            return self._after_the_view(response)
        return response

    async def _after_the_view(self, pending: Awaitable[HttpResponse]) -> HttpResponse:
        response = await pending
        # The loop step that ran the view is still running, and a stall is recorded when its
        # step ends: yield once so that it ends before the stats are gathered.
        await asyncio.sleep(0)
        return response

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        stats = collect(current_request.get(), page_url())
        self.record_stats(stats)  # type: ignore[no-untyped-call]

    @property
    def content(self) -> str:
        stats: dict[str, Any] = self.get_stats()  # type: ignore[no-untyped-call]
        return render_to_string(self.template, display(stats))


def collect(state: RequestState | None, page: str | None) -> dict[str, Any]:
    """The panel's stats for `state`'s request: plain JSON values, as the toolbar stores them."""
    monitor = current_monitor()
    if monitor is None or state is None:
        # Not running (LOOPWATCH["ENABLED"] off, no LoopwatchMiddleware) or served over WSGI.
        return {"running": False, "served_on_loop": state is not None}
    records = monitor.buffer.for_request(state.id)
    # A copy: worker threads add to it while their hops start (None until the first hop).
    makers = dict(state.hop_makers or {})
    return {
        "running": True,
        "served_on_loop": True,
        "threshold": monitor.threshold,
        "view": state.view,
        "method": state.method,
        "path": state.path,
        "loop_time": state.loop_time,
        "wall_time": time.perf_counter() - state.started,
        "wait_time": state.wait_time,
        "hops": state.hops,
        "hop_makers": [
            {"kind": maker.kind, "name": maker.name, "where": maker.where, "count": count}
            for maker, count in sorted(makers.items(), key=lambda item: -item[1])
        ],
        "stalls": [_row(r, page) for r in records if isinstance(r, StallRecord)],
        "orm_calls": [_row(r, page) for r in records if isinstance(r, SyncOrmRecord)],
        "others": [
            _row(r, page) for r in records if not isinstance(r, StallRecord | SyncOrmRecord)
        ],
    }


def _row(record: Record, page: str | None) -> dict[str, Any]:
    row = record.to_dict()
    row["page_link"] = f"{page}#stall-{record.id}" if page else None
    return row


def display(stats: dict[str, Any]) -> dict[str, Any]:
    """The stats with durations in milliseconds, as the template shows them."""
    shown = dict(stats)
    if not stats.get("running"):
        return shown
    loop, wall = stats["loop_time"], stats["wall_time"]
    shown["loop_ms"] = _ms(loop)
    shown["wall_ms"] = _ms(wall)
    shown["wait_ms"] = _ms(stats["wait_time"])
    shown["threshold_ms"] = _ms(stats["threshold"])
    shown["loop_share"] = f"{loop / wall:.0%}" if wall > 0 else "-"
    for row in (*stats["stalls"], *stats["orm_calls"], *stats["others"]):
        duration = row.get("duration")
        row["duration_ms"] = _ms(duration) if duration is not None else ""
    return shown


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def page_url() -> str | None:
    """Where `loopwatch.urls` is included, if it is."""
    try:
        return reverse("loopwatch:page")
    except NoReverseMatch:
        return None
