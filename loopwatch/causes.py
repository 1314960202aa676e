"""Why a step stalled: the loop thread's own CPU, a system call, a GC pause, or the GIL.

Decided only for steps that already crossed the threshold, from readings the watchdog took
while the step was blocking; normal steps pay nothing for it.

    >>> classify(sample, start, end, loop_cpu_end, gc_pauses.overlap(start, end), others_end,
    ...          loop_busy_end)
    ("gil", ThreadCpu(...))
    >>> gil_holder(snapshot_before, snapshot_after, loop_ident, threshold)   # watchdog starved

A thread stuck in one long C call never lets the GIL go, so the watchdog cannot look while it
lasts; `gil_holder` names it afterwards from the CPU clocks of every thread before and after.
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

from loopwatch import threadproc
from loopwatch.loopstate import CpuSnapshot, Sample, ThreadCpu
from loopwatch.records import Cause

# Thresholds on the share of the stall window. A loop thread that burned most of the window
# itself is `cpu`; one that burned almost none was waiting: in a system call (`io`), or for the
# GIL that another thread held (`gil`), which we tell apart by that thread's CPU.
CPU_SHARE = 0.6
IDLE_SHARE = 0.3
OTHER_THREAD_SHARE = 0.5
GC_SHARE = 0.5
MAX_THREADS = 32
MIN_WINDOW = 0.002  # shorter CPU-clock windows are too coarse to tell anything

_LINUX = sys.platform.startswith("linux")
_FUTEX = {"x86_64": 202, "aarch64": 98}.get(platform.machine())
FUTEX = _FUTEX  # where a thread waiting for the GIL sits
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
    return native_thread_cpu(native_id)


def native_thread_cpu(native_id: int | None) -> float | None:
    if native_id is None or not _LINUX:
        return None
    try:
        # Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), as glibc computes it.
        return time.clock_gettime((~native_id << 3) | 6)
    except (OSError, OverflowError):
        return None


def current_syscall(native_id: int) -> int | None:
    """System call number the thread is blocked in, -1 if running, None if unreadable."""
    text = threadproc.read_once(f"/proc/self/task/{native_id}/syscall")
    return threadproc.parse_syscall(text) if text is not None else None


def other_threads_cpu(loop_ident: int) -> list[ThreadCpu]:
    """CPU clocks of every other Python thread (bounded), for naming a GIL holder."""
    readings: list[ThreadCpu] = []
    me = threading.get_ident()
    for thread in threading.enumerate()[:MAX_THREADS]:
        ident = thread.ident
        if ident is None or ident in (loop_ident, me):
            continue
        cpu = native_thread_cpu(thread.native_id)
        if cpu is not None:
            readings.append(ThreadCpu(ident, thread.name, cpu, thread.native_id))
    return readings


def snapshot_threads(wall: float, must_include: dict[int, int] | None = None) -> CpuSnapshot:
    """Every other Python thread's CPU clock (bounded), without releasing the GIL.

    `must_include` (the loop threads, ident to kernel thread id) are read even past the bound.
    """
    me = threading.get_ident()
    threads: dict[int, ThreadCpu] = {}
    for thread in threading.enumerate()[:MAX_THREADS]:
        ident = thread.ident
        if ident is None or ident == me:
            continue
        cpu = native_thread_cpu(thread.native_id)
        if cpu is not None:
            threads[ident] = ThreadCpu(ident, thread.name, cpu, thread.native_id)
    for ident, native_id in (must_include or {}).items():
        if ident not in threads:
            cpu = native_thread_cpu(native_id)
            if cpu is not None:
                threads[ident] = ThreadCpu(ident, str(ident), cpu, native_id)
    return CpuSnapshot(wall, threads)


def gil_holder(
    before: CpuSnapshot, after: CpuSnapshot, loop_ident: int, threshold: float
) -> ThreadCpu | None:
    """The thread that ran while the loop thread did not, between two snapshots, if any.

    Used when the watchdog thread was itself kept off the GIL: over that window, a loop thread
    that burned (almost) no CPU while another thread burned at least a threshold's worth (and
    far more than the loop thread) was waiting for the GIL that thread held; one long C call,
    for instance, never lets the GIL go. CPU time, not its share of the window: on a busy
    machine the holder is descheduled now and then, which stretches the window.
    """
    window = after.wall - before.wall
    if window <= 0:
        return None
    loop_used = cpu_used(before, after, loop_ident)
    if loop_ident not in before.threads or loop_used >= IDLE_SHARE * window:
        return None
    best: ThreadCpu | None = None
    most = max(threshold, 3 * loop_used)
    for ident, earlier in before.threads.items():
        if ident == loop_ident:
            continue
        used = cpu_used(before, after, ident)
        if used >= most:
            best, most = earlier, used
    return best


def cpu_used(before: CpuSnapshot, after: CpuSnapshot, ident: int) -> float:
    """CPU seconds thread `ident` used between two snapshots (0.0 when not in both)."""
    first = before.threads.get(ident)
    last = after.threads.get(ident)
    return last.cpu - first.cpu if first is not None and last is not None else 0.0


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
    loop_busy_end: float | None = None,
) -> tuple[Cause, ThreadCpu | None]:
    """The cause of a stall and, for `gil`, the thread that burned the CPU meanwhile.

    `loop_busy_end` is the loop thread's CPU plus run-queue time (schedstat) at the end: on
    a busy machine a CPU-bound thread spends much of its time runnable but not running, and
    only the sum tells it apart from a thread that waits on I/O or on the GIL.
    """
    duration = end - start
    if duration > 0 and gc_overlap >= GC_SHARE * duration:
        return "gc", None
    if sample is not None and sample.gil_holder is not None:
        return "gil", sample.gil_holder
    if sample is None or sample.loop_cpu is None or loop_cpu_end is None:
        return "unknown", None
    window = end - sample.wall
    cpu_from, busy_from = sample.loop_cpu, sample.loop_busy
    busiest, busiest_share = _busiest_other(sample, others_end, window)
    if window < MIN_WINDOW:
        # The sample came late in the step (a CPU-bound loop thread lets the watchdog have
        # the GIL only after a switch interval, later still on a busy machine).
        in_io_call = sample.syscall is not None and sample.syscall >= 0
        if in_io_call and sample.syscall != _FUTEX:
            return "io", None  # seen inside sleep, recv, read, poll...: waiting on the system
        if sample.baseline_loop_cpu is None or end - sample.baseline_wall < MIN_WINDOW:
            # No earlier clock: schedstat (ns-precise, counting the GIL it lent the watchdog)
            # still tells a thread that ran or wanted to all along from one that waited.
            if sample.loop_busy is None or loop_busy_end is None or window <= 0:
                return "unknown", None
            busy = (loop_busy_end - sample.loop_busy) / window
            return ("cpu" if busy >= CPU_SHARE else "unknown"), None
        # Measure from the poll before instead, which was around the step's start.
        window = end - sample.baseline_wall
        cpu_from, busy_from = sample.baseline_loop_cpu, sample.baseline_loop_busy
        busiest, busiest_share = None, 0.0
    share = (loop_cpu_end - cpu_from) / window
    if busy_from is not None and loop_busy_end is not None:
        share = max(share, (loop_busy_end - busy_from) / window)
        descheduled_cpu = False
    else:
        # Without schedstat: a thread in no system call (or only waiting for the GIL the
        # watchdog held while it looked) that got some CPU was probably only descheduled.
        descheduled_cpu = share >= IDLE_SHARE and sample.syscall in (_FUTEX, -1)
    waiting_on_futex = _FUTEX is not None and sample.syscall == _FUTEX
    # Off the CPU while another Python thread ran: a GIL wait when the loop thread sits on a
    # futex (the GIL's condition variable) rather than in an I/O call such as sleep or recv.
    other_ran = busiest is not None and busiest_share >= OTHER_THREAD_SHARE
    not_in_io = waiting_on_futex or (share < IDLE_SHARE and sample.syscall in (None, -1))
    if other_ran and share < CPU_SHARE and not_in_io:
        return "gil", busiest
    if share >= CPU_SHARE or descheduled_cpu:
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
