"""uvloop under load: a busy loop running many short timed steps is not one long block."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from loopwatch.loopstate import LoopState, Sample
from loopwatch.monitor import Monitor

THRESHOLD = 0.1
T0 = 1000.0  # when the watchdog first saw the loop thread busy outside a timed step


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def seen_busy(loop: asyncio.AbstractEventLoop, last_step_end: float) -> LoopState:
    """A loop the watchdog saw busy outside timed steps at T0 and again at T0 + 0.05 (sampled);
    its last timed step ended at `last_step_end`."""
    state = LoopState(loop, THRESHOLD, times_callbacks=False)
    state.last_idle_seen = T0 - 0.05
    state.busy_since = T0
    state.step_end = last_step_end
    state.sample = Sample(step_start=-T0, wall=T0 + 0.05, raw_stack=(), loop_cpu=None, syscall=-1)
    return state


def test_timed_steps_in_between_mean_no_untimed_block(loop: asyncio.AbstractEventLoop) -> None:
    """Timed steps ran after the loop was first seen busy, the last ending 0.04 s before the
    pong: the loop was never held for the threshold, so nothing is recorded."""
    monitor = Monitor(THRESHOLD)
    monitor.on_untimed_block_end(seen_busy(loop, last_step_end=T0 + 0.08), now=T0 + 0.12)
    assert monitor.buffer.recent() == []


def test_an_untimed_block_after_the_last_timed_step_is_recorded(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """No timed step since before the loop was first seen busy, pong 0.12 s later: one block."""
    monitor = Monitor(THRESHOLD)
    monitor.on_untimed_block_end(seen_busy(loop, last_step_end=T0 - 0.06), now=T0 + 0.12)
    (record,) = monitor.buffer.recent()
    assert record.kind == "stall"
    assert record.duration >= THRESHOLD  # type: ignore[attr-defined]
