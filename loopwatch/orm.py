"""Flagging ORM calls made on the event-loop thread, whether Django raises or allows them.

Django's `async_unsafe` raises `SynchronousOnlyOperation` when a database call is made with a
loop running in the thread — from `cursor()`, after the compiler built the SQL and before any
execute wrapper sees it. With `DJANGO_ALLOW_ASYNC_UNSAFE` set it lets the call run and block
the loop. So: a wrapper on `SynchronousOnlyOperation.__init__` records the `raised` case
(behaviour unchanged: the exception is still raised), an execute wrapper the `allowed` one.

SQL is recorded as Django passes it to the driver: placeholders, never parameter values.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from loopwatch import stacks
from loopwatch.context import NO_REQUEST, current_request
from loopwatch.records import SyncOrmRecord

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor

logger = logging.getLogger("loopwatch")

MAX_SQL = 2000
_COMPILER_MODULE = "django.db.models.sql.compiler"


def _on_loop_thread() -> bool:
    return asyncio._get_running_loop() is not None


def _sql_text(sql: Any) -> str | None:
    if sql is None:
        return None
    text = sql.decode("utf-8", "replace") if isinstance(sql, bytes) else str(sql)
    return text if len(text) <= MAX_SQL else text[:MAX_SQL] + "…"


def _record(
    monitor: Monitor,
    frame: FrameType | None,
    outcome: str,
    sql: Any,
    duration: float | None,
) -> None:
    state = current_request.get()
    stack = stacks.trim_own_frames(stacks.capture(frame))
    monitor.publish(
        SyncOrmRecord(
            view=state.view if state is not None else NO_REQUEST,
            method=state.method if state is not None else None,
            path=state.path if state is not None else None,
            request_id=state.id if state is not None else None,
            blocking_line=stacks.user_line(stack),
            stack=stack,
            outcome="raised" if outcome == "raised" else "allowed",
            sql=_sql_text(sql),
            duration=duration,
        )
    )


def make_execute_wrapper(monitor: Monitor) -> Callable[..., Any]:
    """`connection.execute_wrappers` entry: times and records calls made on the loop thread."""

    def loopwatch_execute(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        if not monitor.active or not _on_loop_thread():
            return execute(sql, params, many, context)
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            duration = time.perf_counter() - start
            try:
                _record(monitor, sys._getframe(1), "allowed", sql, duration)
            except Exception:
                logger.exception("loopwatch: failed to record a sync ORM call")

    return loopwatch_execute


def flagging_init(monitor: Monitor, original: Callable[..., None]) -> Callable[..., None]:
    """`SynchronousOnlyOperation.__init__` that also records the call it is raised for."""

    def __init__(self: BaseException, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if not monitor.active or not _on_loop_thread():
            return
        try:
            frame = sys._getframe(1)
            _record(monitor, frame, "raised", _pending_sql(frame), None)
        except Exception:
            logger.exception("loopwatch: failed to record a sync ORM call")

    return __init__


def _pending_sql(frame: FrameType | None) -> Any:
    """The statement the compiler was about to run, when the call came from one."""
    while frame is not None:
        if frame.f_code.co_name == "execute_sql" and frame.f_globals.get("__name__") == (
            _COMPILER_MODULE
        ):
            # Only the SQL text (placeholders) is read; parameter values stay where they are.
            return frame.f_locals.get("sql")
        frame = frame.f_back
    return None
