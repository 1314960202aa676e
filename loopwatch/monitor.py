"""The single global state of a running loopwatch: loops, watchdog, patches, records.

    >>> monitor = Monitor(threshold=0.05); monitor.start()
    >>> monitor.stop()          # every patch undone, every thread stopped

Steps at or over the threshold come here from the step timers (`on_slow_step`), untimed
blocks from the lag probe (`on_untimed_block`); both become one `StallRecord` each, which goes
to the ring buffer and to every sink.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from loopwatch import causes, context, integrations, stacks, threadproc
from loopwatch.buffer import RecordBuffer
from loopwatch.context import NO_REQUEST, RequestState, in_flight
from loopwatch.hops import HopLedger
from loopwatch.lagprobe import LagProbe
from loopwatch.loopstate import LoopState, Sample, ThreadCpu
from loopwatch.patches import ListEntry, Patch, PatchSet, Reversible, TaskFactoryPatch
from loopwatch.records import Cause, CodeLine, HeldBy, Record, StallRecord
from loopwatch.sinks import Sinks
from loopwatch.stacks import RawStack
from loopwatch.steps import make_task_factory, make_timed_run
from loopwatch.tally import StepTally
from loopwatch.watchdog import Watchdog, watchdog_interval

logger = logging.getLogger("loopwatch")

# How often the lag probe pings each loop (besides the pings that end untimed blocks).
LAG_INTERVAL = 0.1


class Monitor:
    """Everything loopwatch runs while detection is on."""

    def __init__(self, threshold: float, buffer_size: int = 1000) -> None:
        self.threshold = threshold
        self.buffer = RecordBuffer(maxlen=buffer_size)
        self.sinks = Sinks()
        self.loops: dict[Any, LoopState] = {}
        self.active = False
        self.tally: StepTally | None = None
        self.gc_pauses = causes.GcPauses()
        self.hops = HopLedger()
        self.watchdog = Watchdog(self, interval=watchdog_interval(threshold))
        self._core_patches = PatchSet(
            [
                Patch(asyncio.events.Handle, "_run", wrap=make_timed_run(self)),
                ListEntry(gc.callbacks, self.gc_pauses.callback, "gc.callbacks"),
            ]
        )
        self._integration_patches = PatchSet([])
        self._factory_patches: list[TaskFactoryPatch] = []
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._core_patches.apply()
        try:
            extra: list[Reversible] = []
            for _name, factory in integrations.registered():
                extra.extend(factory(self))
            self._integration_patches = PatchSet(extra)
            self._integration_patches.apply()
        except BaseException:
            self._core_patches.restore()
            raise
        self.active = True
        self.watchdog.start()
        self.watch_running_loop()

    def stop(self) -> None:
        self.active = False
        self.watchdog.stop()
        for patch in self._factory_patches:
            patch.restore()
        self._factory_patches.clear()
        self._integration_patches.restore()
        self._core_patches.restore()
        for state in self.loops.values():
            state.proc.close()
            context.timed_task_loops.pop(state.loop, None)
        self.loops.clear()

    def all_patches(self) -> list[Reversible]:
        """Every patch this monitor applied (for leak checks in tests)."""
        return [
            *self._core_patches.patches,
            *self._integration_patches.patches,
            *self._factory_patches,
        ]

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.watchdog.interval = watchdog_interval(threshold)
        self._apply_step_floor()

    # -- tallying every step (the pytest plugin's baseline) ----------------------------------

    @contextmanager
    def tallying(self) -> Iterator[StepTally]:
        """Add up every timed step on every watched loop until the block ends (one at a time).

        While it is open each step takes the slow path; the fast path is untouched otherwise.
        """
        with self._lock:
            if self.tally is not None:
                raise RuntimeError("loopwatch: a step tally is already open")
            tally = self.tally = StepTally()
        self._apply_step_floor()
        try:
            yield tally
        finally:
            with self._lock:
                self.tally = None
            self._apply_step_floor()

    def _step_floor(self) -> float:
        """Steps at or over this leave the fast path: the threshold, or 0 while tallying."""
        return 0.0 if self.tally is not None else self.threshold

    def _apply_step_floor(self) -> None:
        floor = self._step_floor()
        for state in list(self.loops.values()):
            state.threshold = floor

    # -- loops -------------------------------------------------------------------------------

    def adopt_loop(self, loop: Any) -> LoopState | None:
        """First step of a stock asyncio loop: start watching it (runs in its thread)."""
        if not self.active:
            return None
        with self._lock:
            state = self.loops.get(loop)
            if state is None:
                state = LoopState(loop, self._step_floor(), times_callbacks=True)
                self._start_probe(state)
                self.loops[loop] = state
        return state

    def watch_running_loop(self) -> LoopState | None:
        """Watch the loop running in this thread, if any; under uvloop, set the task factory."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if not self.active:
            return None
        if isinstance(loop, asyncio.BaseEventLoop):
            return self.adopt_loop(loop)
        with self._lock:
            state = self.loops.get(loop)
            if state is not None:
                return state
            state = LoopState(loop, self._step_floor(), times_callbacks=False)
            factory_patch = TaskFactoryPatch(
                loop, lambda previous: make_task_factory(state, self, previous)
            )
            factory_patch.apply()
            self._factory_patches.append(factory_patch)
            self._start_probe(state)
            self.loops[loop] = state
            context.timed_task_loops[loop] = state
        return state

    def _start_probe(self, state: LoopState) -> None:
        state.probe = LagProbe(self, state, LAG_INTERVAL)

    def watched_loops(self) -> list[LoopState]:
        return list(self.loops.values())

    def forget_loop(self, state: LoopState) -> None:
        with self._lock:
            if self.loops.get(state.loop) is state:
                del self.loops[state.loop]
                state.proc.close()
            if context.timed_task_loops.get(state.loop) is state:
                del context.timed_task_loops[state.loop]
            self._factory_patches = [p for p in self._factory_patches if p.loop is not state.loop]

    # -- stalls ------------------------------------------------------------------------------

    def on_slow_step(
        self,
        state: LoopState,
        step: Any,
        start: float,
        end: float,
        request: RequestState | None,
    ) -> None:
        """A timed step reached the loop's slow-step floor (runs on the loop thread).

        That floor is the threshold, or 0 while a tally is open: then every step comes here.
        """
        try:
            tally = self.tally
            if tally is not None:
                if tally.add(end - start):
                    tally.worst_line = _step_user_line(step)
                if end - start < self.threshold:
                    return
            state.last_stall_end = end
            sample = state.sample if state.sample and state.sample.step_start == start else None
            if sample is None:
                sample = self._gil_wait_sample(state, start)
            verdict = self._classify(state, sample, start, end)
            stack = sample.stack if sample and sample.raw_stack else _end_of_step_stack(step)
            if sample is not None and sample.request is not None:
                # Read mid-step: right even when the request ended within this very step.
                request = sample.request
            self._record_stall(state, sample, stack, start, end, request, "step", verdict)
            self.watchdog.ensure_running()
            _own_work_done(state)
        except Exception:
            logger.exception("loopwatch: failed to record a stall of %.3fs", end - start)

    def _gil_wait_sample(self, state: LoopState, start: float) -> Sample | None:
        """No sample of a slow step: was the watchdog kept off the GIL too, by one thread?

        When a thread holds the GIL in one long C call, the loop thread and the watchdog wait
        for it alike; if the loop thread gets it back first, its step ends before the
        watchdog could look. The watchdog's CPU snapshot from before the block still tells who
        ran meanwhile; that thread's stack still shows the call it has just returned from.
        """
        before = self.watchdog.snapshot_before(start)
        if before is None:
            return None
        after = causes.snapshot_threads(time.perf_counter(), {state.thread_id: state.native_id})
        if after.wall - before.wall < self.threshold:
            return None
        holder = causes.gil_holder(before, after, state.thread_id, self.threshold)
        if holder is None:
            return None
        frame = sys._current_frames().get(holder.ident)
        return Sample(
            step_start=start,
            wall=before.wall,
            raw_stack=(),
            loop_cpu=None,
            syscall=None,
            other_threads=[holder],
            other_raw_stacks={holder.ident: stacks.capture_raw(frame)},
            gil_holder=holder,
        )

    def on_gil_wait(
        self,
        state: LoopState,
        start: float,
        end: float,
        holder: ThreadCpu,
        raw_stack: RawStack,
        holder_stack: RawStack,
    ) -> None:
        """The loop thread waited for a GIL another thread held, between steps (watchdog)."""
        try:
            if state.last_stall_end >= start:
                return  # a slow step already accounts for this hold
            state.last_stall_end = end
            sample = Sample(
                step_start=-start,
                wall=start,
                raw_stack=raw_stack,
                loop_cpu=None,
                syscall=causes.FUTEX,
                other_threads=[holder],
                other_raw_stacks={holder.ident: holder_stack},
                gil_holder=holder,
            )
            verdict = self._classify(state, sample, start, end)
            self._record_stall(state, sample, sample.stack, start, end, None, "lag", verdict)
        except Exception:
            logger.exception("loopwatch: failed to record a wait for the GIL")

    def on_untimed_block_end(self, state: LoopState, now: float) -> None:
        """The loop answered a ping: if an untimed block was sampled, record it (uvloop)."""
        try:
            busy_since = state.busy_since
            sample = state.sample
            if not busy_since or sample is None or sample.step_start != -busy_since:
                return
            state.busy_since = 0.0
            if state.last_stall_end >= busy_since:
                return  # a timed step already accounts for this time
            if state.step_end > busy_since:
                # Timed steps ran since it was first seen busy (a saturated loop: each poll
                # found some short untimed callback running): the loop was not held since
                # then, only after the last of them.
                begin = state.step_end
            else:
                # The block began after the loop was last seen idle and before it was first
                # seen busy; the midpoint halves the error of either bound.
                lower = max(state.last_idle_seen, state.step_end)
                begin = (min(lower, busy_since) + busy_since) / 2
            if now - begin >= self.threshold:
                verdict = self._classify(state, sample, begin, now)
                stack = sample.stack
                self._record_stall(state, sample, stack, begin, now, None, "lag", verdict)
                _own_work_done(state)
        except Exception:
            logger.exception("loopwatch: failed to record an untimed block")

    def _classify(
        self, state: LoopState, sample: Sample | None, start: float, end: float
    ) -> tuple[Cause, ThreadCpu | None]:
        """Cause of a stall that just ended. Call it before doing anything else on the loop
        thread: the clocks read here must not include loopwatch's own bookkeeping (the first
        read of a source file for the stack takes milliseconds of CPU)."""
        loop_cpu_end = causes.native_thread_cpu(state.native_id)
        loop_busy_end = _busy(state)
        others_end = {}
        if sample is not None:
            for reading in sample.other_threads:
                cpu = causes.native_thread_cpu(reading.native_id)
                if cpu is not None:
                    others_end[reading.ident] = cpu
        return causes.classify(
            sample,
            start,
            end,
            loop_cpu_end,
            self.gc_pauses.overlap(start, end),
            others_end,
            loop_busy_end,
        )

    def _record_stall(
        self,
        state: LoopState,
        sample: Sample | None,
        stack: tuple[CodeLine, ...],
        start: float,
        end: float,
        request: RequestState | None,
        source: str,
        verdict: tuple[Cause, ThreadCpu | None],
    ) -> None:
        duration = end - start
        cause, culprit = verdict
        held_by = None
        blocking = stacks.user_line(stack)
        if cause == "gil" and culprit is not None and sample is not None:
            held_by = HeldBy(culprit.name, stacks.user_line(sample.other_stack(culprit.ident)))
            blocking = None  # the loop thread only waited: its own line is not to blame
        victims = in_flight.others(request)
        for victim in victims:
            victim.wait_time += duration
        record = StallRecord(
            view=request.view if request is not None else NO_REQUEST,
            method=request.method if request is not None else None,
            path=request.path if request is not None else None,
            request_id=request.id if request is not None else None,
            blocking_line=blocking,
            stack=stack,
            duration=duration,
            cause=cause,
            delayed_requests=len(victims),
            held_by=held_by,
            source=source,
        )
        self.publish(record)

    # -- everything else that becomes a record -----------------------------------------------

    def publish(self, record: Record) -> None:
        """Keep the record, then tell every sink; a failing sink loses nothing."""
        self.buffer.append(record)
        self.sinks.record(record)

    def request_finished(self, state: RequestState) -> None:
        self.hops.request_finished(state, self.sinks)
        self.sinks.request_end(state)


def _busy(state: LoopState) -> float | None:
    busy = threadproc.thread_busy(state.native_id)
    return busy + state.gil_lent if busy is not None else None


def _own_work_done(state: LoopState) -> None:
    """Recording a stall runs on the loop thread (reading source lines the first time can take
    milliseconds); under uvloop the watchdog would see that as an untimed block of its own.
    Nothing up to now is to be recorded again."""
    state.last_stall_end = max(state.last_stall_end, time.perf_counter())


def _end_of_step_stack(step: Any) -> tuple[CodeLine, ...]:
    """Fallback when no sample was taken: where the task waits *next* (not the blocking line)."""
    coro = step
    callback = getattr(step, "_callback", None)
    if callback is not None:
        task = getattr(callback, "__self__", None)
        if not isinstance(task, asyncio.Task):
            code = getattr(callback, "__code__", None)
            if code is None:
                return ()
            return (stacks.code_line(code.co_filename, code.co_firstlineno, code.co_name),)
        coro = task.get_coro()
    chain = _await_chain(coro)
    return stacks.capture(chain[-1] if chain else None)


def _step_user_line(step: Any) -> CodeLine | None:
    """Where a step's own code stopped: the innermost user frame of its task's await chain.

    A suspended coroutine's frame has no `f_back`, so the chain is walked, not the stack.
    """
    coro = step  # uvloop: the task's coroutine itself
    callback = getattr(step, "_callback", None)
    if callback is not None:
        task = getattr(callback, "__self__", None)
        if not isinstance(task, asyncio.Task):
            return stacks.user_line(_end_of_step_stack(step))  # a bare callback: its code
        coro = task.get_coro()
    for frame in reversed(_await_chain(coro)):
        code = frame.f_code
        if stacks.is_user_file(code.co_filename):
            return stacks.code_line(code.co_filename, frame.f_lineno or 0, code.co_name)
    return None


def _await_chain(coro: Any) -> list[FrameType]:
    """Frames of a suspended coroutine and of everything it awaits, outermost first."""
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames
