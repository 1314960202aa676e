"""Where loopwatch's observations go: the buffer, the log, metrics, the pytest plugin.

    >>> unsubscribe = loopwatch.subscribe(lambda record: print(record.view, record.duration))

A sink that raises must never break the user's request nor stop the others from hearing
about the event: each failure is caught, and logged once per sink and method.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from loopwatch.records import Record

if TYPE_CHECKING:
    from loopwatch.context import RequestState

logger = logging.getLogger("loopwatch")


class Sink:
    """Receives what loopwatch sees; override the methods you need."""

    def on_record(self, record: Record) -> None:
        """A stall, a flagged ORM call, an unawaited coroutine, a lost exception."""

    def on_lag(self, seconds: float) -> None:
        """One heartbeat's lateness (interval already subtracted)."""

    def on_request_end(self, state: RequestState) -> None:
        """A request finished; its loop time, wait time and hops are final."""

    def on_hop(self, view: str, wait: float | None) -> None:
        """A sync_to_async hop was made while serving `view` (wait: queue time, if known)."""


class CallbackSink(Sink):
    """Adapts a plain `callback(record)` to a sink."""

    def __init__(self, callback: Callable[[Record], object]) -> None:
        self.callback = callback

    def on_record(self, record: Record) -> None:
        self.callback(record)

    def __repr__(self) -> str:
        return f"<CallbackSink {self.callback!r}>"


class Sinks:
    """An immutable-snapshot list of sinks: adding one never races with a dispatch."""

    def __init__(self) -> None:
        self._sinks: tuple[Sink, ...] = ()
        self._reported: set[tuple[int, str]] = set()

    def add(self, sink: Sink) -> None:
        if sink not in self._sinks:
            self._sinks = (*self._sinks, sink)

    def remove(self, sink: Sink) -> None:
        self._sinks = tuple(s for s in self._sinks if s is not sink)

    def __contains__(self, sink: Sink) -> bool:
        return sink in self._sinks

    def __len__(self) -> int:
        return len(self._sinks)

    def __iter__(self) -> Iterator[Sink]:
        return iter(self._sinks)

    def record(self, record: Record) -> None:
        for sink in self._sinks:
            try:
                sink.on_record(record)
            except Exception:
                self._report(sink, "on_record")

    def lag(self, seconds: float) -> None:
        for sink in self._sinks:
            try:
                sink.on_lag(seconds)
            except Exception:
                self._report(sink, "on_lag")

    def request_end(self, state: RequestState) -> None:
        for sink in self._sinks:
            try:
                sink.on_request_end(state)
            except Exception:
                self._report(sink, "on_request_end")

    def hop(self, view: str, wait: float | None) -> None:
        for sink in self._sinks:
            try:
                sink.on_hop(view, wait)
            except Exception:
                self._report(sink, "on_hop")

    def _report(self, sink: Sink, method: str) -> None:
        key = (id(sink), method)
        if key in self._reported:
            return
        self._reported.add(key)
        logger.exception(
            "loopwatch: %r failed in %s; the event is kept and the request is unaffected "
            "(further failures of this sink are not logged)",
            sink,
            method,
        )
