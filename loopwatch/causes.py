"""Why a step stalled: the loop thread's own CPU, a system call, a GC pause, or the GIL.

Decided only for steps that already crossed the threshold, from readings the watchdog took
while the step was blocking; normal steps pay nothing for it.

    >>> classify(sample, end, loop_cpu_end, gc_pauses.overlap(start, end), cpu_now)
    ("gil", ThreadCpu(...))
"""

from __future__ import annotations

import gc
import platform
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from loopwatch.loopstate import Sample, ThreadCpu
from loopwatch.records import Cause

# Thresholds on the share of the stall window. A loop thread that burned most of the window
# itself is `cpu`; one that burned almost none was waiting: in a system call (`io`), or for the
# GIL that another thread held (`gil`), which we tell apart by that thread's CPU.
CPU_SHARE = 0.6
IDLE_SHARE = 0.3
OTHER_THREAD_SHARE = 0.5
GC_SHARE = 0.5
MAX_THREADS = 32

_LINUX = sys.platform.startswith("linux")
_FUTEX = {"x86_64": 202, "aarch64": 98}.get(platform.machine())
# epoll_wait / epoll_pwait / epoll_pwait2: where an idle loop thread sits.
_EPOLL = {"x86_64": {232, 281, 441}, "aarch64": {22, 441}}.get(platform.machine(), set())


def is_polling(syscall: int | None) -> bool | None:
    """True when the thread waits for I/O events (an idle loop); None when unknowable."""
    if syscall is None or not _EPOLL:
        return None
    return syscall in _EPOLL


def thread_cpu(ident: int) -> float | None:
    """CPU seconds used so far by the thread with `threading.get_ident()` value `ident`.

    Never `time.pthread_getcpuclockid(ident)`: for a thread that has exited since its ident
    was read (a ThreadingHTTPServer request thread, say), glibc reads freed memory and the
    process dies of SIGSEGV. The clock is built from the kernel thread id instead, which for
    a dead thread only makes `clock_gettime` fail with EINVAL.
    """
    native_id = next((t.native_id for t in threading.enumerate() if t.ident == ident), None)
    return _native_thread_cpu(native_id)


def _native_thread_cpu(native_id: int | None) -> float | None:
    if native_id is None or not _LINUX:
        return None
    try:
        # Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), as glibc computes it.
        return time.clock_gettime((~native_id << 3) | 6)
    except (OSError, OverflowError):
        return None


def current_syscall(native_id: int) -> int | None:
    """System call number the thread is blocked in, -1 if running, None if unreadable."""
    try:
        with open(f"/proc/self/task/{native_id}/syscall", "rb") as f:
            first = f.read(32).split(maxsplit=1)
    except OSError:
        return None
    if not first:
        return None
    if first[0] == b"running":
        return -1
    try:
        return int(first[0])
    except ValueError:
        return None


def other_threads_cpu(loop_ident: int) -> list[ThreadCpu]:
    """CPU clocks of every other Python thread (bounded), for naming a GIL holder."""
    readings: list[ThreadCpu] = []
    me = threading.get_ident()
    for thread in threading.enumerate()[:MAX_THREADS]:
        ident = thread.ident
        if ident is None or ident in (loop_ident, me):
            continue
        cpu = _native_thread_cpu(thread.native_id)
        if cpu is not None:
            readings.append(ThreadCpu(ident, thread.name, cpu))
    return readings


class GcPauses:
    """Recent garbage-collection pauses, recorded through `gc.callbacks`."""

    def __init__(self, maxlen: int = 64) -> None:
        self._pauses: deque[tuple[float, float]] = deque(maxlen=maxlen)
        self._started = 0.0
        self.callback: Callable[[str, dict[str, Any]], None] = self._on_gc

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self._pauses.append((self._started, time.perf_counter()))
            self._started = 0.0

    def overlap(self, start: float, end: float) -> float:
        """Seconds of GC pause inside [start, end] (a pause still running counts too)."""
        total = 0.0
        pauses = list(self._pauses)
        if self._started:
            pauses.append((self._started, end))
        for begin, finish in pauses:
            total += max(0.0, min(end, finish) - max(start, begin))
        return total

    def install_target(self) -> list[Any]:
        return gc.callbacks


def classify(
    sample: Sample | None,
    start: float,
    end: float,
    loop_cpu_end: float | None,
    gc_overlap: float,
    others_end: dict[int, float],
) -> tuple[Cause, ThreadCpu | None]:
    """The cause of a stall and, for `gil`, the thread that burned the CPU meanwhile."""
    duration = end - start
    if duration > 0 and gc_overlap >= GC_SHARE * duration:
        return "gc", None
    if sample is None or sample.loop_cpu is None or loop_cpu_end is None:
        return "unknown", None
    window = end - sample.wall
    if window < 0.002:
        return "unknown", None
    share = (loop_cpu_end - sample.loop_cpu) / window
    busiest, busiest_share = _busiest_other(sample, others_end, window)
    waiting_on_futex = _FUTEX is not None and sample.syscall == _FUTEX
    # Off the CPU while another Python thread ran: a GIL wait when the loop thread sits on a
    # futex (the GIL's condition variable) rather than in an I/O call such as sleep or recv.
    other_ran = busiest is not None and busiest_share >= OTHER_THREAD_SHARE
    not_in_io = waiting_on_futex or (share < IDLE_SHARE and sample.syscall in (None, -1))
    if other_ran and share < CPU_SHARE and not_in_io:
        return "gil", busiest
    if share >= CPU_SHARE:
        return "cpu", None
    if share < IDLE_SHARE:
        return "io", None
    return "unknown", None


def _busiest_other(
    sample: Sample, others_end: dict[int, float], window: float
) -> tuple[ThreadCpu | None, float]:
    best: ThreadCpu | None = None
    best_share = 0.0
    for reading in sample.other_threads:
        now = others_end.get(reading.ident)
        if now is None:
            continue
        share = (now - reading.cpu) / window
        if share > best_share:
            best, best_share = reading, share
    return best, best_share
