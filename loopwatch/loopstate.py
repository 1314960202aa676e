"""Per-loop bookkeeping shared by the loop thread (writer) and the watchdog (reader).

The loop thread writes `step_start` at the start of every step and zeroes it at the end; the
watchdog only reads it. A step is identified by its start time (a perf_counter float, never
repeated), so no counter has to be maintained on the hot path.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from dataclasses import dataclass, field

from loopwatch.context import RequestState
from loopwatch.records import CodeLine


@dataclass(slots=True)
class ThreadCpu:
    """CPU clock of one thread at one moment (for telling cpu from io from gil)."""

    ident: int
    name: str
    cpu: float


@dataclass(slots=True)
class Sample:
    """What the watchdog saw while a step was still blocking."""

    step_start: float  # identifies the step the sample belongs to
    wall: float  # when the first sample was taken
    stack: tuple[CodeLine, ...]
    loop_cpu: float | None  # loop thread's CPU clock at `wall`
    syscall: int | None  # system call the loop thread was in, if readable (-1: running)
    other_threads: list[ThreadCpu] = field(default_factory=list)
    other_stacks: dict[int, tuple[CodeLine, ...]] = field(default_factory=dict)
    request: RequestState | None = None  # the request the step belonged to, read mid-step


class LoopState:
    """One watched event loop."""

    __slots__ = (
        "busy_since",
        "last_activity",
        "last_idle_seen",
        "last_stall_end",
        "loop",
        "native_id",
        "probe",
        "sample",
        "step_context",
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
        self.step_context: contextvars.Context | None = None
        self.last_activity = 0.0
        self.last_idle_seen = 0.0
        self.busy_since = 0.0  # uvloop: first poll that saw the thread busy outside a step
        self.last_stall_end = 0.0
        self.sample: Sample | None = None
        self.probe: object | None = None

    def __repr__(self) -> str:
        return f"<LoopState {type(self.loop).__name__} thread={self.thread_name}>"
