"""Records as the detector would publish them, with only the fields a test cares about set."""

from __future__ import annotations

import asyncio.events
from typing import Any

from loopwatch.records import (
    CodeLine,
    HeldBy,
    LostExceptionRecord,
    StallRecord,
    SyncOrmRecord,
    UnawaitedRecord,
)

VIEW = "shop.views.SlowView"
SLEEP_LINE = CodeLine("shop/views.py", 42, "get", "time.sleep(0.1)")
ORM_LINE = CodeLine("shop/views.py", 57, "get", "book = Book.objects.get(pk=pk)")
# A frame of the standard library, wherever this interpreter keeps it.
LIBRARY_FRAME = CodeLine(
    asyncio.events.__file__, 80, "_run", "self._context.run(self._callback, *self._args)"
)


def stall(**fields: Any) -> StallRecord:
    line = fields.pop("blocking_line", SLEEP_LINE)
    values: dict[str, Any] = {
        "view": VIEW,
        "method": "GET",
        "path": "/slow/",
        "blocking_line": line,
        "stack": (LIBRARY_FRAME, line) if line else (LIBRARY_FRAME,),
        "duration": 0.1,
        "cause": "io",
    }
    values.update(fields)
    return StallRecord(**values)


def gil_stall(thread: str, holder: CodeLine, **fields: Any) -> StallRecord:
    return stall(blocking_line=None, cause="gil", held_by=HeldBy(thread, holder), **fields)


def sync_orm(**fields: Any) -> SyncOrmRecord:
    values: dict[str, Any] = {
        "view": VIEW,
        "method": "GET",
        "path": "/book/1/",
        "outcome": "allowed",
        "sql": 'SELECT "shop_book"."id" FROM "shop_book" WHERE "shop_book"."id" = %s',
        "blocking_line": ORM_LINE,
        "stack": (LIBRARY_FRAME, ORM_LINE),
        "duration": 0.002,
    }
    values.update(fields)
    return SyncOrmRecord(**values)


def unawaited(**fields: Any) -> UnawaitedRecord:
    line = CodeLine("shop/views.py", 70, "post", "send_receipt(order)")
    values: dict[str, Any] = {
        "view": "shop.views.CheckoutView",
        "coroutine": "shop.mail.send_receipt",
        "blocking_line": line,
        "stack": (line,),
    }
    values.update(fields)
    return UnawaitedRecord(**values)


def lost_exception(**fields: Any) -> LostExceptionRecord:
    values: dict[str, Any] = {
        "view": "shop.views.CheckoutView",
        "exception": "ValueError: card declined",
    }
    values.update(fields)
    return LostExceptionRecord(**values)
