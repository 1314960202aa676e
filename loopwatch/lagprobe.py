"""A heartbeat that measures how late the loop runs a scheduled callback.

    >>> probe = LagProbe(monitor, state, interval=0.025); probe.start()

Lateness (interval subtracted) goes to the sinks as `loopwatch_loop_lag_seconds`. This sees
stalls no step timer can: GC, protocol callbacks, and under uvloop every bare callback; for
those the watchdog's sample plus the heartbeat's lateness become one stall record.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from loopwatch.loopstate import LoopState

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor


class LagProbe:
    """Reschedules itself every `interval` on one loop until stopped."""

    def __init__(self, monitor: Monitor, state: LoopState, interval: float) -> None:
        self.monitor = monitor
        self.state = state
        self.interval = interval
        self.due = 0.0
        self.last_beat = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._stopped = False

    def start(self) -> None:
        """Schedule the first beat; call from the loop's own thread."""
        self.last_beat = time.perf_counter()
        self._schedule(self.last_beat)

    def _schedule(self, now: float) -> None:
        self.due = now + self.interval
        self._handle = self.state.loop.call_later(self.interval, self._beat)

    def _beat(self) -> None:
        now = time.perf_counter()
        if self._stopped:
            return
        due, previous = self.due, self.last_beat
        lateness = max(0.0, now - due)
        self.last_beat = now
        self.monitor.sinks.lag(lateness)
        if not self.state.times_callbacks and lateness >= self.interval:
            self.monitor.on_untimed_block(self.state, previous, due, now)
        self._schedule(now)

    def stop(self) -> None:
        """Stop rescheduling; cancels the pending beat when called from the loop thread."""
        self._stopped = True
        handle = self._handle
        self._handle = None
        if handle is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.state.loop:
            handle.cancel()
