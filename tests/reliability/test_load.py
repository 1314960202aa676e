"""Under load: 5k requests, 100 at a time, 5% of them blocking the loop."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.reliability.conftest import serve
from tests.reliability.rawhttp import Connection
from tests.served.helpers import VIEWS, metric_value, metrics, records, source_line

REQUESTS = 5000
CONCURRENCY = 100
STALL_EVERY = 20  # 5%
THRESHOLD = 0.03
STALL = 0.08  # well over the threshold: a stall is never borderline, and is sampled while it runs


async def fire(base_url: str) -> tuple[list[int], list[str]]:
    """Every request's status in request order, `CONCURRENCY` connections in flight, and the
    client-side errors (a status of -1)."""
    host, port = urlsplit(base_url).hostname or "", urlsplit(base_url).port or 80
    statuses = [0] * REQUESTS
    errors: list[str] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        connection = await Connection.open(host, port)
        try:
            while next_index < REQUESTS:
                index = next_index
                next_index += 1
                path = f"/sleep/?s={STALL}&n={index}" if index % STALL_EVERY == 0 else "/fast/"
                try:
                    statuses[index] = await connection.get(path)
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    statuses[index] = -1
                    errors.append(repr(error))
                    await connection.close()
                    connection = await Connection.open(host, port)
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses, errors


@pytest.mark.real_server
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_every_injected_stall_is_counted_once_under_load(tmp_path: Path, loop: str) -> None:
    """5k requests at concurrency 100: each injected stall is one record with its view and line,
    the metric agrees with the records, and every request succeeds."""
    injected = REQUESTS // STALL_EVERY
    with serve(tmp_path, loop, threshold=THRESHOLD, LOOPWATCH_TEST_DEBUG="0") as server:
        statuses, errors = asyncio.run(fire(server.url))
        assert Counter(statuses) == {200: REQUESTS}, (errors, server.log())

        found = records(server, kind="stall")
        # Each injected sleep is one step of at least STALL: exactly one record each, under
        # its view (another step of a request stretched past the threshold by a busy machine
        # may add a shorter record, never one this long).
        sleep_view = f"{VIEWS}.SleepView"
        sleeps = [r for r in found if r["view"] == sleep_view and r["duration"] >= STALL]
        long_others = [
            (r["view"], r["duration"], r.get("source"), r["stack"][-1:])
            for r in found
            if r["view"] != sleep_view and r["duration"] >= STALL
        ]
        assert len(sleeps) == injected, long_others
        assert {r["path"] for r in sleeps} == {"/sleep/"}  # the path, never the query string

        # With its line: sampled while the sleep runs. On a starved machine the watchdog may
        # get the CPU only after the sleep returned, within the same step (then it sees the
        # response being written): rare, and never more than 1% here.
        sleep_line = source_line("SLEEP_LINE")
        late = [
            r for r in sleeps if not r["blocking_line"] or r["blocking_line"]["line"] != sleep_line
        ]
        assert len(late) <= injected // 100, [(r["blocking_line"], r["stack"][-2:]) for r in late]
        named = {
            (r["blocking_line"]["file"], r["blocking_line"]["code"])
            for r in sleeps
            if r["blocking_line"]  # the late ones above may have none
        }
        assert ("tests/testproject/views.py", "time.sleep(seconds)  # SLEEP_LINE") in named

        # The counter agrees with the records: nothing counted twice, nothing dropped.
        text = metrics(server)
        counted = metric_value(text, "loopwatch_stalls_total", view=f"{VIEWS}.SleepView")
        assert counted == len([r for r in found if r["view"] == f"{VIEWS}.SleepView"])
        assert "Traceback" not in server.log()
