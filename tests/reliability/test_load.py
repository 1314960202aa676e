"""Under load: 5k requests, 100 at a time, 5% of them blocking the loop."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import serve
from tests.served.helpers import VIEWS, metric_value, metrics, records, source_line

REQUESTS = 5000
CONCURRENCY = 100
STALL_EVERY = 20  # 5%
THRESHOLD = 0.03
STALL = 0.08  # well over the threshold: a stall is never borderline, and is sampled while it runs


async def fire(base_url: str) -> list[int]:
    """Every request's status, `CONCURRENCY` in flight at a time, in request order."""
    statuses = [0] * REQUESTS
    next_index = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal next_index
            while next_index < REQUESTS:
                index = next_index
                next_index += 1
                path = f"/sleep/?s={STALL}&n={index}" if index % STALL_EVERY == 0 else "/fast/"
                try:
                    statuses[index] = (await client.get(path)).status_code
                except httpx.HTTPError:
                    statuses[index] = -1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


@pytest.mark.real_server
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_every_injected_stall_is_counted_once_under_load(tmp_path: Path, loop: str) -> None:
    """5k requests at concurrency 100: each injected stall is one record with its view and line,
    the metric agrees with the records, and every request succeeds."""
    injected = REQUESTS // STALL_EVERY
    with serve(tmp_path, loop, threshold=THRESHOLD, LOOPWATCH_TEST_DEBUG="0") as server:
        statuses = asyncio.run(fire(server.url))
        assert Counter(statuses) == {200: REQUESTS}, server.log()

        found = records(server, kind="stall")
        sleep_line = source_line("SLEEP_LINE")
        at_sleep = [
            r for r in found if r["blocking_line"] and r["blocking_line"]["line"] == sleep_line
        ]
        others = [r for r in found if r["view"] == f"{VIEWS}.SleepView" and r not in at_sleep]
        assert len(at_sleep) == injected, others
        assert {r["view"] for r in at_sleep} == {f"{VIEWS}.SleepView"}
        assert {r["blocking_line"]["file"] for r in at_sleep} == {"tests/testproject/views.py"}
        assert len({r["path"] for r in at_sleep}) == 1  # the path, never the query string
        assert all(r["duration"] >= STALL for r in at_sleep)

        # The counter agrees with the records: nothing counted twice, nothing dropped.
        text = metrics(server)
        counted = metric_value(text, "loopwatch_stalls_total", view=f"{VIEWS}.SleepView")
        assert counted == len(at_sleep) + len(others)
        assert "Traceback" not in server.log()
