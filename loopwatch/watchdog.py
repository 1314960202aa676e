"""The thread that looks at the loop thread while it is still blocked.

    >>> dog = Watchdog(monitor, interval=watchdog_interval(threshold))
    >>> dog.start(); ...; dog.stop()

Every `interval` it checks each watched loop. A step that has been running for at least one
interval is sampled once: the loop thread's stack (what names the blocking line: at the end
of the step the task would only show its next `await`), its CPU clock and system call, and the
other threads' CPU clocks and stacks (to name a GIL holder).

The interval is a quarter of the threshold. A loop thread running Python code hands the GIL to
a waiting thread only after the interpreter's switch interval (5 ms by default), so a sample
of a CPU-bound step lands up to one interval plus one switch interval after the step began:
a short interval keeps that early enough to catch steps of twice a small threshold.

It also drives the lag probe's pings. For loops whose bare callbacks are not timed (uvloop)
it watches the loop thread's system call: out of epoll while no timed step runs means an
untimed callback is running; if that lasts a poll interval it is sampled, and the probe's pong
(which runs the moment the loop is free) turns it into one record.

When the watchdog itself was kept off the GIL for a while (it woke late) and one other thread
burned the CPU meanwhile while the loop thread did not, that thread held the GIL: a step that
was running is sampled with that verdict, and a loop thread that sat waiting for the GIL
between steps is recorded as one `gil` stall here.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

from loopwatch import causes, stacks
from loopwatch.lagprobe import LagProbe
from loopwatch.loopstate import CpuSnapshot, LoopState, Sample, ThreadCpu
from loopwatch.syscalls import SyscallReader

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor

logger = logging.getLogger("loopwatch")

MIN_INTERVAL = 0.001


def watchdog_interval(threshold: float) -> float:
    return max(MIN_INTERVAL, threshold / 4)


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
        # The two latest CPU snapshots: the older one predates any block the newer one ends.
        self.snapshots: tuple[CpuSnapshot, ...] = ()
        self._syscalls: dict[int, SyscallReader] = {}

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
        try:
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
        finally:
            for reader in self._syscalls.values():
                reader.close()
            self._syscalls.clear()

    def syscall(self, state: LoopState) -> int | None:
        """The loop thread's current system call, read without releasing the GIL."""
        reader = self._syscalls.get(state.native_id)
        if reader is None:
            reader = self._syscalls[state.native_id] = SyscallReader(state.native_id)
        return reader.read()

    def snapshot_before(self, moment: float) -> CpuSnapshot | None:
        """The newest snapshot taken at or before `moment`, else the oldest one kept."""
        kept = self.snapshots
        for snapshot in reversed(kept):
            if snapshot.wall <= moment:
                return snapshot
        return kept[0] if kept else None

    def poll(self, now: float) -> None:
        states = self.monitor.watched_loops()
        # Nothing below releases the GIL until the samples are stored: a thread waiting for
        # the GIL (the loop thread, after someone held it) stays exactly where it is.
        snapshot = causes.snapshot_threads(now, tuple(state.thread_id for state in states))
        previous = self.snapshots[-1] if self.snapshots else None
        self.snapshots = (*self.snapshots[-1:], snapshot)
        starved = previous is not None and now - previous.wall >= 2 * self.interval
        frames: dict[int, FrameType] | None = None
        for state in states:
            if state.loop.is_closed():
                self.monitor.forget_loop(state)
                continue
            holder = None
            if starved and previous is not None:
                holder = causes.gil_holder(previous, snapshot, state.thread_id, state.threshold)
            start = state.running_step()
            if start:
                if holder is not None and self.syscall(state) not in (causes.FUTEX, -1):
                    holder = None  # the step waits on I/O, not on the GIL
                if holder is not None or (
                    now - start >= self.interval and _needs_sample(state, start)
                ):
                    frames = frames if frames is not None else sys._current_frames()
                    self._sample(state, start, now, snapshot, frames, holder, previous)
            elif holder is not None and previous is not None:
                frames = frames if frames is not None else sys._current_frames()
                self._gil_wait_between_steps(state, previous, snapshot, holder, frames)
            elif not state.times_callbacks:
                self._watch_untimed(state, now)
            probe = state.probe
            if isinstance(probe, LagProbe):
                probe.maybe_ping(now)

    def _watch_untimed(self, state: LoopState, now: float) -> None:
        """uvloop: is the loop thread busy outside any timed step? Then sample it."""
        polling = causes.is_polling(self.syscall(state))
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
            snapshot = causes.snapshot_threads(now, (state.thread_id,))
            frames = sys._current_frames()
            self._sample(state, -state.busy_since, now, snapshot, frames, None, None)

    def _sample(
        self,
        state: LoopState,
        key: float,
        now: float,
        snapshot: CpuSnapshot,
        frames: dict[int, FrameType],
        holder: ThreadCpu | None,
        previous: CpuSnapshot | None,
    ) -> None:
        # The step may have ended before the frames were read: keep only a sample of the step.
        current = state.running_step() if key > 0 else -state.busy_since
        if current != key:
            return
        loop = snapshot.threads.get(state.thread_id)
        others = [t for ident, t in snapshot.threads.items() if ident != state.thread_id]
        state.sample = Sample(
            step_start=key,
            wall=now,
            raw_stack=stacks.capture_raw(frames.get(state.thread_id)),
            loop_cpu=loop.cpu if loop is not None else None,
            syscall=self.syscall(state),
            other_threads=others,
            other_raw_stacks={t.ident: stacks.capture_raw(frames.get(t.ident)) for t in others},
            gil_holder=holder,
        )
        baseline = previous.threads.get(state.thread_id) if previous is not None else None
        if previous is not None and baseline is not None:
            state.sample.baseline_wall = previous.wall
            state.sample.baseline_loop_cpu = baseline.cpu

    def _gil_wait_between_steps(
        self,
        state: LoopState,
        before: CpuSnapshot,
        after: CpuSnapshot,
        holder: ThreadCpu,
        frames: dict[int, FrameType],
    ) -> None:
        """Another thread held the GIL while no step ran: did the loop thread wait for it?"""
        # Held up if it waits on the GIL's futex now, or was just woken from it and is not yet
        # back on the GIL ("running" without the GIL, while we hold it), or if it got the GIL
        # back before us and has already run a step since the window began (a loop with work
        # right around the hold). Idle in epoll all along, it had nothing to run: no stall.
        waiting = causes.FUTEX is not None and self.syscall(state) in (causes.FUTEX, -1)
        if not waiting and state.step_end <= before.wall:
            return
        # The hold began within one interval after the previous poll (we would have polled
        # otherwise) and ended just before this one; the holder ran at least its CPU time.
        gap = after.wall - before.wall
        duration = max(gap - self.interval / 2, causes.cpu_used(before, after, holder.ident))
        if duration < state.threshold:
            return
        self.monitor.on_gil_wait(
            state,
            after.wall - duration,
            after.wall,
            holder,
            stacks.capture_raw(frames.get(state.thread_id)),
            stacks.capture_raw(frames.get(holder.ident)),
        )


def _needs_sample(state: LoopState, key: float) -> bool:
    sample = state.sample
    return sample is None or sample.step_start != key
