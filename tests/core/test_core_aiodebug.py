"""Living next to aiodebug's slow-callback log, which patches the same function first."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
from aiodebug import log_slow_callbacks
from blockers import sleep_for, tagged_line, timed

import loopwatch
from loopwatch import StallRecord


@pytest.fixture
def stdlib_handle_run() -> Iterator[object]:
    """aiodebug cannot undo its patch: put the standard library's function back ourselves."""
    original = asyncio.events.Handle.__dict__["_run"]
    yield original
    asyncio.events.Handle._run = original  # type: ignore[method-assign]


def test_aiodebug_and_loopwatch_both_report_and_aiodebug_outlives_uninstall(
    stdlib_handle_run: object,
) -> None:
    """With aiodebug enabled first, both see the stall; after uninstall aiodebug still works."""
    aiodebug_saw: list[float] = []
    log_slow_callbacks.enable(0.005, lambda name, seconds: aiodebug_saw.append(seconds))
    aiodebug_run = asyncio.events.Handle.__dict__["_run"]
    assert aiodebug_run is not stdlib_handle_run
    blocked: list[float] = []

    async def main() -> None:
        await asyncio.sleep(0)
        blocked.append(timed(sleep_for, 0.030))
        await asyncio.sleep(0)

    with loopwatch.watching(threshold=0.005):
        asyncio.run(main())
        stalls = [r for r in loopwatch.recent_stalls() if isinstance(r, StallRecord)]

    assert len(stalls) == 1
    assert stalls[0].duration == pytest.approx(blocked[0], abs=0.002)
    assert stalls[0].blocking_line is not None
    assert os.path.basename(stalls[0].blocking_line.file) == "blockers.py"
    assert stalls[0].blocking_line.line == tagged_line("sleep")
    assert len(aiodebug_saw) == 1
    assert aiodebug_saw[0] == pytest.approx(blocked[0], abs=0.002)

    # loopwatch is gone, aiodebug's patch is still the one in place and still reporting.
    assert asyncio.events.Handle.__dict__["_run"] is aiodebug_run
    aiodebug_saw.clear()
    asyncio.run(main())
    assert len(aiodebug_saw) == 1
