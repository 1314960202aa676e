"""The thread that looks at the loop thread while it is still blocked.

    >>> dog = Watchdog(monitor, interval=watchdog_interval(threshold))
    >>> dog.start(); ...; dog.stop()

Every `interval` it checks each watched loop. A step that has been running for at least one
interval is sampled once: the loop thread's stack (what names the blocking line: at the end
of the step the task would only show its next `await`), its CPU clock and system call, and the
other threads' CPU clocks and stacks (to name a GIL holder). The interval is half the
threshold, shorter for small thresholds (see `watchdog_interval`).

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
from loopwatch import steps as steps_module
from loopwatch.context import RequestState, current_request
from loopwatch.lagprobe import LagProbe
from loopwatch.loopstate import CpuSnapshot, LoopState, Sample, ThreadCpu

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor

logger = logging.getLogger("loopwatch")

MIN_INTERVAL = 0.001
_STEPS_FILE = steps_module.__file__


def watchdog_interval(threshold: float) -> float:
    """Half the threshold, less for thresholds near the interpreter's switch interval.

    A loop thread running Python code hands the GIL to a waiting thread only after the switch
    interval (5 ms by default), so a sample of a CPU-bound step lands up to one interval plus
    one switch interval after the step began; that must come before the step reaches twice
    the threshold. Polls are not free (they are the watchdog's whole cost), hence not shorter.
    """
    return max(MIN_INTERVAL, min(threshold / 2, threshold - sys.getswitchinterval()))


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

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, wait: bool = True) -> None:
        """Start the thread; with `wait`, return once it is in its polling loop.

        A new thread still needs the GIL for its first Python steps; a loop step that blocks
        right after install() (holding the GIL) would keep it from ever looking at that step.
        """
        if self.alive:
            return
        self._stopping = False
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="loopwatch-watchdog", daemon=True
        )
        self._thread.start()
        if wait:
            ready.wait(timeout=1.0)

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
            self.start(wait=False)

    def _run(self, ready: threading.Event) -> None:
        sleep = time.sleep
        try:
            # A first snapshot at once: the baseline for a step that blocks right after
            # install(), before any regular poll.
            self.poll(time.perf_counter())
        except Exception:
            logger.exception("loopwatch: watchdog poll failed; it keeps running")
            self._failures_logged = True
        ready.set()
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

    def busy(self, state: LoopState) -> float | None:
        """The loop thread's CPU and run-queue seconds, plus the GIL it lent us meanwhile."""
        busy = state.proc.busy()
        return busy + state.gil_lent if busy is not None else None

    def syscall(self, state: LoopState) -> int | None:
        """The loop thread's current system call, read without releasing the GIL."""
        return state.proc.syscall()

    def snapshot_before(self, moment: float) -> CpuSnapshot | None:
        """The newest snapshot taken at or before `moment`, else the oldest one kept."""
        kept = self.snapshots
        for snapshot in reversed(kept):
            if snapshot.wall <= moment:
                return snapshot
        return kept[0] if kept else None

    def poll(self, now: float) -> None:
        states = self.monitor.watched_loops()
        # Nothing here releases the GIL, but a busy machine may preempt this thread, and the
        # loop thread takes the GIL back one switch interval later: the stacks of blocked
        # steps are taken first, everything else after.
        frames: dict[int, FrameType] | None = None
        for state in states:
            start = state.running_step()
            if start and now - start >= self.interval and _needs_sample(state, start, now):
                frames = frames if frames is not None else sys._current_frames()
                self._sample(state, start, now, frames)
        snapshot = causes.snapshot_threads(now, {s.thread_id: s.native_id for s in states})
        for state in states:
            # Only a running step needs this reading as its baseline; a ctypes call is the
            # dearest part of an idle poll.
            busy = self.busy(state) if state.running_step() else None
            if busy is not None:
                snapshot.busy[state.thread_id] = busy
        previous = self.snapshots[-1] if self.snapshots else None
        self.snapshots = (*self.snapshots[-1:], snapshot)
        starved = previous is not None and now - previous.wall >= 2 * self.interval
        threshold = self.monitor.threshold
        for state in states:
            if state.loop.is_closed():
                self.monitor.forget_loop(state)
                continue
            holder = None
            if starved and previous is not None:
                holder = causes.gil_holder(previous, snapshot, state.thread_id, threshold)
            start = state.running_step()
            if start:
                if holder is not None and self.syscall(state) not in (causes.FUTEX, -1):
                    holder = None  # the step waits on I/O, not on the GIL
                sample = state.sample
                if holder is not None and (sample is None or sample.step_start != start):
                    frames = frames if frames is not None else sys._current_frames()
                    sample = self._sample(state, start, now, frames)
                elif holder is not None and sample is not None and sample.wall != now:
                    # Looked at before the hold: the verdict and the holder's stack go on it.
                    frames = frames if frames is not None else sys._current_frames()
                    self._complete(state, sample, snapshot, previous, frames, holder)
                if sample is not None and sample.step_start == start and sample.wall == now:
                    frames = frames if frames is not None else sys._current_frames()
                    self._complete(state, sample, snapshot, previous, frames, holder)
            elif holder is not None and previous is not None:
                frames = frames if frames is not None else sys._current_frames()
                self._gil_wait_between_steps(state, previous, snapshot, holder, frames)
            elif not state.times_callbacks:
                self._watch_untimed(state, now)
            probe = state.probe
            if isinstance(probe, LagProbe):
                probe.maybe_ping(now)
        held = time.perf_counter() - now
        for state in states:
            if state.running_step() and self.syscall(state) == causes.FUTEX:
                state.gil_lent += held

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
        key = -state.busy_since
        if now - state.busy_since >= self.interval and _needs_sample(state, key, now):
            frames = sys._current_frames()
            sample = self._sample(state, -state.busy_since, now, frames)
            if sample is not None:
                snapshot = causes.snapshot_threads(now, {state.thread_id: state.native_id})
                self._complete(state, sample, snapshot, None, frames, None)

    def _sample(
        self, state: LoopState, key: float, now: float, frames: dict[int, FrameType]
    ) -> Sample | None:
        """Store the loop thread's stack and clocks at once; `_complete` adds the rest."""
        # The step may have ended before the frames were read: keep only a sample of the step.
        current = state.running_step() if key > 0 else -state.busy_since
        if current != key:
            return None
        raw_stack = stacks.capture_raw(frames.get(state.thread_id))
        if raw_stack and raw_stack[-1][0] == _STEPS_FILE:
            # In the step timer itself, before or after the step's code: nothing to see.
            return None
        sample = state.sample
        if sample is not None and sample.step_start == key:
            # A later look at the same step: only where it is now, and its system call. The
            # clocks stay those of the first look, which measure the most of the stall.
            sample.raw_stack = raw_stack
            sample.syscall = self.syscall(state)
            sample.looked_at = now
            return sample
        sample = state.sample = Sample(
            step_start=key,
            wall=now,
            raw_stack=raw_stack,
            request=_step_request(state) if key > 0 else None,
            loop_cpu=causes.native_thread_cpu(state.native_id),
            syscall=self.syscall(state),
            loop_busy=self.busy(state),
            looked_at=now,
        )
        return sample

    def _complete(
        self,
        state: LoopState,
        sample: Sample,
        snapshot: CpuSnapshot,
        previous: CpuSnapshot | None,
        frames: dict[int, FrameType],
        holder: ThreadCpu | None,
    ) -> None:
        """The other threads' clocks and stacks (to name a GIL holder) and the baseline."""
        others = [t for ident, t in snapshot.threads.items() if ident != state.thread_id]
        sample.other_raw_stacks = {t.ident: stacks.capture_raw(frames.get(t.ident)) for t in others}
        sample.other_threads = others
        sample.gil_holder = holder
        baseline = previous.threads.get(state.thread_id) if previous is not None else None
        # Only a poll from around the step's start is a baseline for the step's own CPU.
        recent = previous is not None and previous.wall >= sample.step_start - 2 * self.interval
        if previous is not None and baseline is not None and recent:
            sample.baseline_wall = previous.wall
            sample.baseline_loop_cpu = baseline.cpu
            sample.baseline_loop_busy = previous.busy.get(state.thread_id)

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
        if duration < self.monitor.threshold:
            return
        self.monitor.on_gil_wait(
            state,
            after.wall - duration,
            after.wall,
            holder,
            stacks.capture_raw(frames.get(state.thread_id)),
            stacks.capture_raw(frames.get(holder.ident)),
        )


def _needs_sample(state: LoopState, key: float, now: float) -> bool:
    """First look at a blocked step, or a new look each time its age has doubled.

    The first look may land on a line the step only passed through (a send before the
    recv that blocks, on a busy machine): the latest look, deepest into the stall, names the
    line. Looks stay few (one per doubling) and happen only for steps already this slow.
    """
    sample = state.sample
    if sample is None or sample.step_start != key:
        return True
    if sample.gil_holder is not None:
        return False  # waiting for another thread's GIL: its own line is not the point
    begin = key if key > 0 else -key
    return now - begin >= 2 * (sample.looked_at - begin)


def _step_request(state: LoopState) -> RequestState | None:
    """The request of the step running now, read mid-step (right even if it ends the request)."""
    if state.times_callbacks:
        context = state.step_context
        return context.get(current_request) if context is not None else None
    # uvloop: only task steps are timed, and each sets its task's binding as it starts.
    binding = state.step_binding
    return binding.request if binding is not None else None
