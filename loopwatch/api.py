"""The public functions: start and stop detection, read what it found, listen to it.

>>> import loopwatch
>>> loopwatch.install(threshold=0.05)
>>> ...                                      # run your asyncio program
>>> for stall in loopwatch.recent_stalls(): print(stall.view, stall.duration)
>>> loopwatch.uninstall()                    # every patch undone, every thread stopped
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from loopwatch.buffer import Group
from loopwatch.config import DEFAULT_BUFFER_SIZE, DEFAULT_THRESHOLD, validate_threshold
from loopwatch.logsink import LogSink
from loopwatch.monitor import Monitor
from loopwatch.records import Record
from loopwatch.sinks import CallbackSink, Sink

_lock = threading.RLock()
_monitor: Monitor | None = None


def install(
    threshold: float = DEFAULT_THRESHOLD,
    *,
    buffer_size: int = DEFAULT_BUFFER_SIZE,
    log: bool = True,
) -> Monitor:
    """Start detection; a second call only updates the threshold (nothing is patched twice)."""
    global _monitor
    seconds = validate_threshold(threshold)
    with _lock:
        if _monitor is not None:
            _monitor.set_threshold(seconds)
            _monitor.watch_running_loop()
            return _monitor
        monitor = Monitor(seconds, buffer_size=buffer_size)
        if log:
            monitor.sinks.add(LogSink())
        monitor.start()
        _monitor = monitor
        return monitor


def uninstall() -> None:
    """Stop detection: restore every patched object and stop every thread loopwatch started."""
    global _monitor
    with _lock:
        monitor, _monitor = _monitor, None
        if monitor is not None:
            monitor.stop()


def is_installed() -> bool:
    return _monitor is not None


def current_monitor() -> Monitor | None:
    return _monitor


@contextmanager
def watching(threshold: float = DEFAULT_THRESHOLD) -> Iterator[Monitor]:
    """Detection inside the block; nested blocks restore the previous threshold on exit.

    >>> with loopwatch.watching(threshold=0.05):
    ...     asyncio.run(main())
    """
    seconds = validate_threshold(threshold)
    with _lock:
        owner = _monitor is None
        previous = None if owner else _monitor.threshold  # type: ignore[union-attr]
        monitor = install(seconds)
    try:
        yield monitor
    finally:
        with _lock:
            if owner:
                uninstall()
            elif previous is not None and _monitor is monitor:
                monitor.set_threshold(previous)


def recent_stalls() -> list[Record]:
    """Newest first: stalls, sync ORM flags, unawaited coroutines, lost exceptions."""
    monitor = _monitor
    return monitor.buffer.recent() if monitor is not None else []


def stall_groups() -> list[Group]:
    """Recent records grouped by kind, view and blocking line (count, worst), worst first."""
    monitor = _monitor
    return monitor.buffer.groups() if monitor is not None else []


def subscribe(callback: Callable[[Record], object] | Sink) -> Callable[[], None]:
    """Call `callback(record)` for every new record; returns a function that unsubscribes.

    Subscriptions belong to the current installation: they end with `uninstall()`.
    """
    monitor = _monitor
    if monitor is None:
        raise RuntimeError("loopwatch: install() before subscribe()")
    sink = callback if isinstance(callback, Sink) else CallbackSink(callback)
    monitor.sinks.add(sink)
    return lambda: monitor.sinks.remove(sink)
