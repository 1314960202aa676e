"""The thread that looks at the loop thread while it is still blocked.

    >>> dog = Watchdog(monitor, interval=threshold / 2)
    >>> dog.start(); ...; dog.stop()

Every `interval` it checks each watched loop. A step that has been running for at least one
interval is sampled once: the loop thread's stack (what names the blocking line: at the end
of the step the task would only show its next `await`), its CPU clock and system call, and the
other threads' CPU clocks and stacks (to name a GIL holder). With the interval at half the
threshold, every step that reaches the threshold is sampled at least once while it runs.

It also drives the lag probe's pings. For loops whose bare callbacks are not timed (uvloop)
it watches the loop thread's system call: out of epoll while no timed step runs means an
untimed callback is running; if that lasts a poll interval it is sampled, and the probe's pong
(which runs the moment the loop is free) turns it into one record.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from typing import TYPE_CHECKING

from loopwatch import causes, stacks
from loopwatch.context import current_request
from loopwatch.lagprobe import LagProbe
from loopwatch.loopstate import LoopState, Sample

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor

logger = logging.getLogger("loopwatch")

MIN_INTERVAL = 0.001


class Watchdog:
    """Samples blocked loop threads; restarts itself if its thread dies."""

    def __init__(self, monitor: Monitor, interval: float) -> None:
        self.monitor = monitor
        self.interval = max(MIN_INTERVAL, interval)
        # A plain flag and time.sleep, not Event.wait: Event.wait runs a Python-level
        # Condition on every poll, and polls happen many times a second.
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._failures_logged = False

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="loopwatch-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._thread = None

    def ensure_running(self) -> None:
        """Restart after an unexpected death (called from the loop's slow path)."""
        if not self._stopping and not self.alive:
            logger.warning("loopwatch: the watchdog thread had stopped; restarting it")
            self.start()

    def _run(self) -> None:
        sleep = time.sleep
        while True:
            sleep(self.interval)
            if self._stopping:
                return
            try:
                self.poll(time.perf_counter())
            except Exception:
                if not self._failures_logged:
                    self._failures_logged = True
                    logger.exception("loopwatch: watchdog poll failed; it keeps running")

    def poll(self, now: float) -> None:
        for state in self.monitor.watched_loops():
            if state.loop.is_closed():
                self.monitor.forget_loop(state)
                continue
            start = state.step_start
            if start:
                if now - start >= self.interval and _needs_sample(state, start):
                    self._sample(state, start, now)
            elif not state.times_callbacks:
                self._watch_untimed(state, now)
            probe = state.probe
            if isinstance(probe, LagProbe):
                probe.maybe_ping(now)

    def _watch_untimed(self, state: LoopState, now: float) -> None:
        """uvloop: is the loop thread busy outside any timed step? Then sample it."""
        polling = causes.is_polling(causes.current_syscall(state.native_id))
        if polling is not False:
            # Idle in epoll (or /proc unreadable: we cannot tell, so we do not guess).
            state.last_idle_seen = now
            state.busy_since = 0.0
            return
        if not state.busy_since:
            state.busy_since = now
            if isinstance(state.probe, LagProbe):
                state.probe.maybe_ping(now, urgent=True)  # its pong marks the block's end
            return
        if now - state.busy_since >= self.interval and _needs_sample(state, -state.busy_since):
            self._sample(state, -state.busy_since, now)

    def _sample(self, state: LoopState, key: float, now: float) -> None:
        # A garbage collection triggered by the allocations below would run in this thread,
        # holding the GIL for tens of ms on a big heap: long enough for the step to end before
        # the sample is stored, and the record would lose its line. Collections wait.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._take_sample(state, key, now)
        finally:
            if collecting:
                gc.enable()

    def _take_sample(self, state: LoopState, key: float, now: float) -> None:
        loop_cpu = causes.thread_cpu(state.thread_id)
        syscall = causes.current_syscall(state.native_id)
        others = causes.other_threads_cpu(state.thread_id)
        frames = sys._current_frames()
        frame = frames.get(state.thread_id)
        stack = stacks.trim_own_frames(stacks.capture(frame))
        # The step may have ended while we were reading: only keep a sample of the same step.
        current = state.step_start if key > 0 else -state.busy_since
        if current != key:
            return
        other_stacks = {
            reading.ident: stacks.capture(frames.get(reading.ident)) for reading in others
        }
        context = state.step_context if key > 0 else None
        request = context.get(current_request) if context is not None else None
        state.sample = Sample(key, now, stack, loop_cpu, syscall, others, other_stacks, request)


def _needs_sample(state: LoopState, key: float) -> bool:
    sample = state.sample
    return sample is None or sample.step_start != key
