"""One readable warning per stall on the `loopwatch` logger, rate-limited per call site.

    loopwatch: GET /slow/ (shop.views.SlowView) held the loop 0.120s [io] at
    demo_site/shop/views.py:42 in get: time.sleep(0.12)

Each record also carries the stall's fields as `extra` (`view`, `duration`, `cause`, `file`,
`line`, `kind`, `stall_id`), so a JSON formatter emits them as fields.
"""

from __future__ import annotations

import logging
import time

from loopwatch.records import (
    LostExceptionRecord,
    Record,
    StallRecord,
    SyncOrmRecord,
    UnawaitedRecord,
)
from loopwatch.sinks import Sink

logger = logging.getLogger("loopwatch")

DEFAULT_INTERVAL = 60.0


class LogSink(Sink):
    """Logs each record, at most once per call site per `interval` seconds."""

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[tuple[str, str, str, int], tuple[float, int]] = {}

    def on_record(self, record: Record) -> None:
        if not logger.isEnabledFor(logging.WARNING):
            return
        key = record.group_key()
        now = time.monotonic()
        last, suppressed = self._last.get(key, (0.0, 0))
        if last and now - last < self.interval:
            self._last[key] = (last, suppressed + 1)
            return
        if len(self._last) > 2000:
            self._last.clear()
        self._last[key] = (now, 0)
        message = describe(record)
        if suppressed:
            message += f" ({suppressed} more like this in the last {self.interval:.0f}s)"
        logger.warning("%s", message, extra=log_fields(record))


def describe(record: Record) -> str:
    """The one-line, human description used in logs and in pytest failures."""
    where = record.blocking_line
    request = f"{record.method} {record.path} " if record.method and record.path else ""
    line = f" at {where.where()} in {where.function}: {where.code}" if where else ""
    if isinstance(record, StallRecord):
        held = ""
        if record.held_by is not None:
            culprit = record.held_by.blocking_line
            held_at = f" at {culprit.where()}: {culprit.code}" if culprit else ""
            held = f"; GIL held by thread {record.held_by.thread}{held_at}"
        delayed = ""
        if record.delayed_requests:
            delayed = f", delayed {record.delayed_requests} other requests"
        return (
            f"loopwatch: {request}({record.view}) held the loop {record.duration:.3f}s "
            f"[{record.cause}{delayed}]{line}{held}"
        )
    if isinstance(record, SyncOrmRecord):
        sql = f" SQL: {record.sql}" if record.sql else ""
        return (
            f"loopwatch: {request}({record.view}) sync ORM call on the event loop "
            f"[{record.outcome}]{line}{sql}"
        )
    if isinstance(record, UnawaitedRecord):
        return f"loopwatch: {request}({record.view}) {record.coroutine}() never awaited{line}"
    if isinstance(record, LostExceptionRecord):
        return (
            f"loopwatch: {request}({record.view}) task exception {record.exception} never "
            f"retrieved{line}"
        )
    return f"loopwatch: {request}({record.view}) {record.kind.replace('_', ' ')}{line}"


def log_fields(record: Record) -> dict[str, object]:
    where = record.blocking_line
    return {
        "kind": record.kind,
        "stall_id": record.id,
        "view": record.view,
        "duration": getattr(record, "duration", None),
        "cause": getattr(record, "cause", None),
        "file": where.file if where else None,
        "line": where.line if where else None,
        # What was never awaited, or the type of the exception nobody retrieved.
        **({"coroutine": record.coroutine} if isinstance(record, UnawaitedRecord) else {}),
        **({"exception": record.exception} if isinstance(record, LostExceptionRecord) else {}),
    }
