"""A heartbeat that measures how late the loop answers a wake-up, without adding a timer.

    >>> probe = LagProbe(monitor, state, interval=0.1)
    >>> probe.maybe_ping(now)        # from the watchdog thread, every poll

The watchdog thread pings the loop with `call_soon_threadsafe`; the loop runs the pong as
soon as it is free, and the delay is the loop's lag (`loopwatch_loop_lag_seconds`). A timer
heartbeat would do the same from inside the loop, but a pending timer makes every iteration
of asyncio's `_run_once` check the timer heap: a cost on every step of an otherwise
timer-free program.

For loops whose bare callbacks are not timed (uvloop) the pong also ends an untimed block the
watchdog noticed: its arrival is the exact moment the loop became free again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from loopwatch.loopstate import LoopState

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor


class LagProbe:
    """Ping/pong between the watchdog thread and one loop."""

    def __init__(self, monitor: Monitor, state: LoopState, interval: float) -> None:
        self.monitor = monitor
        self.state = state
        self.interval = interval
        self.sent = 0.0  # when the outstanding ping was sent; 0.0: none outstanding
        self.next_ping = 0.0

    def maybe_ping(self, now: float, *, urgent: bool = False) -> None:
        """Send a ping if none is outstanding and one is due (or `urgent`): watchdog thread."""
        if self.sent or (now < self.next_ping and not urgent):
            return
        self.sent = now
        self.next_ping = now + self.interval
        try:
            self.state.loop.call_soon_threadsafe(self._pong, now)
        except RuntimeError:  # the loop was closed meanwhile
            self.sent = 0.0

    def _pong(self, sent: float) -> None:
        now = time.perf_counter()
        self.sent = 0.0
        self.monitor.sinks.lag(max(0.0, now - sent))
        if not self.state.times_callbacks:
            self.monitor.on_untimed_block_end(self.state, now)
