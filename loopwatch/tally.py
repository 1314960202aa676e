"""Adding up every timed step while someone asks for it: a test's loop time and worst step.

    >>> with monitor.tallying() as tally:
    ...     asyncio.run(main())
    >>> tally.loop_time, tally.worst, tally.worst_line

Costs nothing while no tally is open: the step timers' fast path is not changed. While one is
open the monitor lowers every loop's slow-step floor to zero, so each step takes the slow path
(`Monitor.on_slow_step`), which adds it here before deciding whether it is a stall.
"""

from __future__ import annotations

import threading

from loopwatch.records import CodeLine


class StepTally:
    """Loop time held by timed steps on every watched loop, and the longest single step."""

    def __init__(self) -> None:
        self.loop_time = 0.0
        self.steps = 0
        self.worst = 0.0
        # Where the longest step stopped: its task's next `await` (or the callback's code).
        self.worst_line: CodeLine | None = None
        # Steps of loops in other threads (a live server) are added concurrently.
        self._lock = threading.Lock()

    def add(self, elapsed: float) -> bool:
        """Count one step; True when it is the longest so far (the caller then locates it)."""
        with self._lock:
            self.loop_time += elapsed
            self.steps += 1
            if elapsed > self.worst:
                self.worst = elapsed
                return True
            return False

    def __repr__(self) -> str:
        return f"<StepTally {self.steps} steps, {self.loop_time:.6f}s, worst {self.worst:.6f}s>"
