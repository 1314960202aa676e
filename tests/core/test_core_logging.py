"""One warning per stall on the `loopwatch` logger, with its fields for structured logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from blockers import sleep_for, spin_for, tagged_line

from loopwatch import StallRecord
from loopwatch.context import RequestState, request_scope

Run = Callable[[Any, float], list[StallRecord]]
FIELDS = ("view", "duration", "cause", "file", "line", "stall_id")


class JsonFormatter(logging.Formatter):
    """What a user's JSON logging config does: the message plus the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        data.update({name: getattr(record, name, None) for name in FIELDS})
        return json.dumps(data)


@pytest.fixture
def json_log() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The `loopwatch` logger's output through a JSON formatter, one dict per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("loopwatch")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_each_stall_is_one_warning_rate_limited_per_call_site(
    run: Run, json_log: Callable[[], list[dict[str, Any]]]
) -> None:
    """Three stalls at one line and one at another: two warnings, each naming its stall."""

    async def main() -> None:
        with request_scope(RequestState("GET", "/slow/", view="shop.views.SlowView")):
            for _ in range(3):
                await asyncio.sleep(0)
                sleep_for(0.020)
            await asyncio.sleep(0)
            spin_for(0.020)
            await asyncio.sleep(0)

    stalls = run(main, 0.005)
    lines = json_log()

    assert len(stalls) == 4, [s.to_dict() for s in stalls]
    assert [line["stall_id"] for line in lines] == [stalls[0].id, stalls[3].id]
    for line, stall in zip(lines, (stalls[0], stalls[3]), strict=True):
        assert stall.blocking_line is not None
        assert line["level"] == "WARNING"
        assert line["logger"] == "loopwatch"
        assert line["view"] == "shop.views.SlowView"
        assert line["duration"] == stall.duration
        assert line["cause"] == stall.cause
        assert line["file"] == stall.blocking_line.file
        assert line["file"].endswith("blockers.py")
        assert line["line"] == stall.blocking_line.line
        message = line["message"]
        assert "shop.views.SlowView" in message
        assert "GET /slow/" in message
        assert f"{stall.duration:.3f}s" in message
        assert f"blockers.py:{stall.blocking_line.line}" in message
        assert stall.blocking_line.code in message
    assert [line["line"] for line in lines] == [tagged_line("sleep"), tagged_line("cpu")]
