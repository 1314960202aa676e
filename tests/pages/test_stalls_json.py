"""stalls.json: the threshold and every retained record, newest first, in DESIGN.md's shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from loopwatch.monitor import Monitor

from .factories import gil_stall, lost_exception, stall, sync_orm, unawaited

pytestmark = pytest.mark.usefixtures("open_gate")

COMMON = {"id", "kind", "view", "method", "path", "at", "blocking_line", "stack"}
LINE = {"file", "line", "function", "code"}


def get_json(client: Client, query: str = "") -> dict[str, Any]:
    response = client.get("/loopwatch/stalls.json" + query)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def test_shape_and_order(client: Client, monitor: Monitor) -> None:
    """Every kind is there, newest first, each exactly as `record.to_dict()` gives it."""
    published = [stall(), sync_orm(), unawaited(), lost_exception(), gil_stall("w", None)]
    for record in published:
        monitor.publish(record)

    document = get_json(client)

    assert set(document) == {"threshold", "stalls"}
    assert document["threshold"] == 0.05
    assert document["stalls"] == [r.to_dict() for r in reversed(published)]
    first_stall = document["stalls"][-1]
    assert set(first_stall) == COMMON | {"duration", "cause", "delayed_requests", "source"}
    assert set(first_stall["blocking_line"]) == LINE
    assert all(set(frame) == LINE for frame in first_stall["stack"])
    assert first_stall["at"].endswith("Z")
    orm = document["stalls"][-2]
    assert set(orm) == COMMON | {"outcome", "sql", "duration"}
    assert document["stalls"][0]["held_by"] == {"thread": "w", "blocking_line": None}


def test_filters(client: Client, monitor: Monitor) -> None:
    """`?view=` and `?kind=` narrow the list; together they both apply."""
    monitor.publish(stall(view="a.A"))
    monitor.publish(sync_orm(view="a.A"))
    monitor.publish(stall(view="b.B"))

    by_view = get_json(client, "?view=a.A")["stalls"]
    by_kind = get_json(client, "?kind=stall")["stalls"]
    both = get_json(client, "?view=a.A&kind=stall")["stalls"]

    assert [(s["view"], s["kind"]) for s in by_view] == [("a.A", "sync_orm"), ("a.A", "stall")]
    assert [s["view"] for s in by_kind] == ["b.B", "a.A"]
    assert [(s["view"], s["kind"]) for s in both] == [("a.A", "stall")]


def test_threshold_follows_the_running_monitor(client: Client, monitor: Monitor) -> None:
    """The threshold reported is the one detection runs with."""
    monitor.set_threshold(0.2)
    assert get_json(client)["threshold"] == 0.2


def test_without_detection_the_list_is_empty(client: Client) -> None:
    """Before detection starts the document is valid, empty, with the configured threshold."""
    assert get_json(client) == {"threshold": 0.05, "stalls": []}
