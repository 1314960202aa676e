"""Per-loop bookkeeping shared by the loop thread (writer) and the watchdog (reader).

The loop thread writes `step_start` at the start of every step and `step_end` at its end; the
watchdog only reads them. A step is running while `step_start > step_end`, and it is
identified by its start time (a perf_counter float, never repeated), so no counter has to be
maintained on the hot path. `step_end` doubles as the time the loop last did anything.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loopwatch import stacks
from loopwatch.context import RequestState
from loopwatch.records import CodeLine
from loopwatch.stacks import RawStack
from loopwatch.threadproc import ThreadProc

if TYPE_CHECKING:
    from loopwatch.steps import TaskBinding


@dataclass(slots=True)
class ThreadCpu:
    """CPU clock of one thread at one moment (for telling cpu from io from gil)."""

    ident: int
    name: str
    cpu: float
    native_id: int | None = None  # kernel thread id: how its CPU clock is read again


@dataclass(slots=True)
class Sample:
    """What the watchdog saw while a step was still blocking.

    Stacks are kept raw (no source text): reading source files would release the GIL in the
    middle of the sample. `stack` and `other_stack` turn them into readable lines later.
    """

    step_start: float  # identifies the step the sample belongs to
    wall: float  # when the first sample was taken
    raw_stack: RawStack
    loop_cpu: float | None  # loop thread's CPU clock at `wall`
    syscall: int | None  # system call the loop thread was in, if readable (-1: running)
    other_threads: list[ThreadCpu] = field(default_factory=list)
    other_raw_stacks: dict[int, RawStack] = field(default_factory=dict)
    request: RequestState | None = None  # the request the step belonged to, read mid-step
    # Set when the watchdog itself was kept off the GIL while the step ran, and this thread
    # burned the CPU meanwhile: the step waited for the GIL it held.
    gil_holder: ThreadCpu | None = None
    # The loop thread's CPU clock at the watchdog's previous poll, for when `wall` came too
    # late in the step to measure anything between it and the step's end.
    baseline_wall: float = 0.0
    baseline_loop_cpu: float | None = None
    # CPU plus run-queue seconds (schedstat), at `wall` and at the previous poll.
    loop_busy: float | None = None
    baseline_loop_busy: float | None = None
    looked_at: float = 0.0  # the latest look (stack and system call are from it)

    @property
    def stack(self) -> tuple[CodeLine, ...]:
        return stacks.trim_own_frames(stacks.from_raw(self.raw_stack))

    def other_stack(self, ident: int) -> tuple[CodeLine, ...]:
        return stacks.from_raw(self.other_raw_stacks.get(ident, ()))


@dataclass(slots=True)
class CpuSnapshot:
    """Every Python thread's CPU clock at one moment, taken by the watchdog at each poll."""

    wall: float
    threads: dict[int, ThreadCpu]
    # Loop threads only: CPU plus run-queue seconds (schedstat), by thread ident.
    busy: dict[int, float] = field(default_factory=dict)


class LoopState:
    """One watched event loop."""

    __slots__ = (
        "busy_since",
        "gil_lent",
        "last_idle_seen",
        "last_stall_end",
        "loop",
        "native_id",
        "probe",
        "proc",
        "sample",
        "step_binding",
        "step_context",
        "step_end",
        "step_start",
        "thread_id",
        "thread_name",
        "threshold",
        "times_callbacks",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, threshold: float, times_callbacks: bool
    ) -> None:
        self.loop = loop
        self.thread_id = threading.get_ident()
        self.native_id = threading.get_native_id()
        self.thread_name = threading.current_thread().name
        # Steps at or over this take the slow path: the monitor's threshold, or 0 while a
        # StepTally is open (set only by the monitor; the stall test itself is the monitor's).
        self.threshold = threshold
        # Stock asyncio times every callback (Handle._run); uvloop only task steps, so there
        # the lag probe and the watchdog have to catch blocking bare callbacks.
        self.times_callbacks = times_callbacks
        self.step_start = 0.0
        self.step_end = 0.0
        self.step_context: contextvars.Context | None = None  # stock asyncio: the step's
        self.step_binding: TaskBinding | None = None  # uvloop: the timed task's, see steps.py
        self.last_idle_seen = 0.0
        self.busy_since = 0.0  # uvloop: first poll that saw the thread busy outside a step
        self.last_stall_end = 0.0
        # Seconds the loop thread, in a step, waited for the GIL while the watchdog held it to
        # look: the step's own time, though schedstat counts it as neither running nor
        # runnable (a busy machine can preempt the watchdog while it holds the GIL).
        self.gil_lent = 0.0
        self.sample: Sample | None = None
        # Opened here, in the loop thread: opening a file releases the GIL, which the watchdog
        # must not do while it looks at a blocked step.
        self.proc = ThreadProc(self.native_id)
        self.probe: object | None = None

    def running_step(self) -> float:
        """Start of the step running now, 0.0 when none (read by the watchdog thread)."""
        # End first: a step that starts between the two reads then counts as running. Read
        # the other way round, a step started (and the GIL handed over) in between could be
        # taken for no step at all, and its time for an untimed block.
        end = self.step_end
        start = self.step_start
        return start if start > end else 0.0

    def __repr__(self) -> str:
        return f"<LoopState {type(self.loop).__name__} thread={self.thread_name}>"
