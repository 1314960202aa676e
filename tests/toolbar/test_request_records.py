"""Records name the request they were made in, so one request's records can be fetched."""

from __future__ import annotations

import asyncio
import time

import loopwatch
from loopwatch.context import RequestState, request_scope


async def serve_two_requests() -> tuple[RequestState, RequestState]:
    blocking = RequestState("GET", "/blocking/")
    with request_scope(blocking):
        await asyncio.sleep(0)
        time.sleep(0.05)  # held the loop for this request only
        await asyncio.sleep(0)
    calm = RequestState("GET", "/calm/")
    with request_scope(calm):
        await asyncio.sleep(0)
    return blocking, calm


def test_a_requests_records_are_fetched_by_its_id() -> None:
    """A stall made while serving a request is returned for that request, not for another."""
    with loopwatch.watching(threshold=0.03) as monitor:
        blocking, calm = asyncio.run(serve_two_requests())
        mine = monitor.buffer.for_request(blocking.id)
        theirs = monitor.buffer.for_request(calm.id)
    assert [r.kind for r in mine] == ["stall"]
    assert mine[0].request_id == blocking.id
    assert mine[0].path == "/blocking/"
    assert theirs == []


def test_request_id_stays_out_of_stalls_json() -> None:
    """stalls.json keeps the shape fixed in DESIGN.md: the request id is not one of its keys."""
    record = loopwatch.StallRecord(view="v", request_id=7, duration=0.1)
    assert "request_id" not in record.to_dict()
