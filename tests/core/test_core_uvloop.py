"""Under uvloop only task steps can be timed: bare callbacks are caught by the lag probe."""

from __future__ import annotations

import asyncio
import os

import pytest
from blockers import sleep_for, tagged_line, timed
from watched import run_watched

from loopwatch import StallRecord


def test_a_blocking_bare_callback_is_recorded_once_with_its_line() -> None:
    """A 100 ms `call_soon` callback: one record, source "lag", its line, duration within 10%."""
    blocked: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ran = asyncio.Event()
        loop.call_soon(lambda: (blocked.append(timed(sleep_for, 0.100)), ran.set()))
        await ran.wait()
        await asyncio.sleep(0.05)  # time for the probe's pong to close the block

    stalls: list[StallRecord] = run_watched("uvloop", main, 0.005)

    assert len(stalls) == 1, [
        (s.duration, s.source, s.cause, s.blocking_line, s.stack[-3:]) for s in stalls
    ]
    stall = stalls[0]
    assert stall.source == "lag"
    assert stall.view == "<none>"
    assert stall.blocking_line is not None
    assert os.path.basename(stall.blocking_line.file) == "blockers.py"
    assert stall.blocking_line.line == tagged_line("sleep")
    assert stall.duration == pytest.approx(blocked[0], rel=0.10)
