"""The panel's HTML: escaped, and honest when loopwatch is not running."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

import loopwatch
from loopwatch.context import RequestState
from loopwatch.records import CodeLine, StallRecord, SyncOrmRecord
from loopwatch.toolbar import LoopwatchPanel, collect, display

HOSTILE = "<script>alert('x')</script>"


def render(stats: dict[str, object]) -> str:
    return render_to_string(LoopwatchPanel.template, display(stats))


def test_everything_shown_is_escaped() -> None:
    """Code, SQL and view names from records reach the panel as text, never as markup."""
    with loopwatch.watching(threshold=0.05) as monitor:
        state = RequestState("GET", "/x/", view=HOSTILE)
        line = CodeLine(file="app/views.py", line=3, function="get", code=HOSTILE)
        monitor.publish(
            StallRecord(view=HOSTILE, request_id=state.id, blocking_line=line, duration=0.2)
        )
        monitor.publish(
            SyncOrmRecord(view=HOSTILE, request_id=state.id, blocking_line=line, sql=HOSTILE)
        )
        html = render(collect(state, "/loopwatch/"))
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") >= 3
    assert 'href="/loopwatch/#stall-' in html


def test_not_running_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without detection running the panel says how to turn it on instead of showing zeros."""
    monkeypatch.setattr("loopwatch.toolbar.current_monitor", lambda: None)
    html = render(collect(RequestState("GET", "/x/"), None))
    assert "loopwatch is not running in this process" in html
    assert "Loop time" not in html
    wsgi = render(collect(None, None))
    assert "not served on an event loop" in wsgi
