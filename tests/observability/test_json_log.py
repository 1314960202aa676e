"""The `loopwatch` logger's records carry the stall's fields, so a JSON formatter emits them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import SLEEP_VIEW, at_line, poll, serve, source_line, stall_records

pytestmark = [pytest.mark.real_server]


def json_stall_lines(log: str) -> list[dict[str, Any]] | None:
    found = []
    for line in log.splitlines():
        if not line.startswith("{"):
            continue  # uvicorn's own lines are plain text
        entry = json.loads(line)
        if entry.get("kind") == "stall":
            found.append(entry)
    return found or None


def test_json_formatter_emits_the_stall_fields(tmp_path: Path) -> None:
    """With the documented LOGGING line, each stall is one JSON object with its fields."""
    line = source_line("SLEEP_LINE")

    def sleep_entry(log: str) -> dict[str, Any] | None:
        entries = json_stall_lines(log) or []
        return next((e for e in entries if e.get("line") == line), None)

    with serve(tmp_path, "tests.observability.settings") as server:
        assert server.get("/sleep/", params={"s": "0.12"}).status_code == 200
        entry = poll("a JSON line for the sleep's stall", lambda: sleep_entry(server.log()))
        record = at_line(stall_records(server, SLEEP_VIEW), "SLEEP_LINE")
    assert record is not None
    assert entry["kind"] == "stall"
    assert entry["view"] == SLEEP_VIEW
    assert entry["file"] == "tests/testproject/views.py"
    assert entry["cause"] in {"io", "cpu", "unknown"}
    assert 0.12 <= entry["duration"] < 1.0
    assert entry["stall_id"] == record["id"]
    assert entry["message"].startswith(f"loopwatch: GET /sleep/ ({SLEEP_VIEW}) held the loop")
