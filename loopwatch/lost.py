"""Task exceptions nobody retrieved ("Task exception was never retrieved"): view and line of each.

    async def get(self, request):
        asyncio.create_task(self.charge(order))    # charge() raises: nobody ever knows
        return HttpResponse("ok")

When a task or future that ended with an exception is destroyed unread, asyncio (and uvloop,
which uses asyncio's tasks) passes `{"message": "Task exception was never retrieved",
"exception": ..., "future": task}` to `loop.call_exception_handler`. loopwatch wraps that
method on the loop classes while it is active, records a `LostExceptionRecord`, and calls the
original, so the loop's own handler (the log line, a custom handler) runs as before.

The record carries the exception's type and the line it was raised at, never its message
(messages often carry user data). The view is the one the task was created in: a task keeps
the context it was created in, and its request is read from there.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import sys
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from loopwatch import stacks
from loopwatch.context import NO_REQUEST, RequestState, current_request
from loopwatch.patches import Patch, Reversible
from loopwatch.records import CodeLine, LostExceptionRecord

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor

logger = logging.getLogger("loopwatch")

_NEVER_RETRIEVED = "exception was never retrieved"

Handler = Callable[[Any, dict[str, Any]], None]


def lost_exception_patches(monitor: Monitor) -> list[Reversible]:
    """`call_exception_handler` of stock asyncio loops, and of uvloop's when it is loaded."""
    owners: list[Any] = [asyncio.base_events.BaseEventLoop]
    uvloop = sys.modules.get("uvloop")
    if uvloop is not None:
        # uvloop.Loop is a Python subclass of the compiled loop: its attribute can be set.
        owners.append(uvloop.Loop)
    return [
        Patch(owner, "call_exception_handler", wrap=lambda original: _recording(monitor, original))
        for owner in owners
    ]


def _recording(monitor: Monitor, original: Handler) -> Handler:
    def call_exception_handler(loop: Any, context: dict[str, Any]) -> None:
        if monitor.active:
            try:
                record = lost_exception_record(context)
                if record is not None:
                    monitor.publish(record)
            except Exception:
                logger.exception("loopwatch: failed to record a lost task exception")
        original(loop, context)

    return call_exception_handler


def lost_exception_record(context: dict[str, Any]) -> LostExceptionRecord | None:
    """The record for an exception handler call, if it reports an unretrieved exception."""
    message = context.get("message")
    exception = context.get("exception")
    if not isinstance(message, str) or not message.endswith(_NEVER_RETRIEVED):
        return None
    if not isinstance(exception, BaseException):
        return None
    state = _request_of(context.get("future"))
    stack = _raised_at(exception.__traceback__)
    return LostExceptionRecord(
        view=state.view if state is not None else NO_REQUEST,
        method=state.method if state is not None else None,
        path=state.path if state is not None else None,
        blocking_line=stacks.user_line(stack),
        stack=stack,
        exception=_type_name(exception),
    )


def _request_of(future: Any) -> RequestState | None:
    """The request a task was created in, read from the context the task keeps."""
    context = getattr(future, "_context", None)  # the pure-Python Task
    if not isinstance(context, contextvars.Context):
        # The C Task does not expose its context, but hands it to the garbage collector.
        found = [r for r in gc.get_referents(future) if isinstance(r, contextvars.Context)]
        context = found[0] if found else None
    if context is None:
        return None
    return context.get(current_request)


def _raised_at(traceback: TracebackType | None) -> tuple[CodeLine, ...]:
    """The traceback as a stack, outermost first: file, line, function, source line only."""
    raw = []
    while traceback is not None:
        code = traceback.tb_frame.f_code
        raw.append((code.co_filename, traceback.tb_lineno, code.co_name))
        traceback = traceback.tb_next
    return tuple(stacks.code_line(*entry) for entry in raw[-stacks.MAX_DEPTH :])


def _type_name(exception: BaseException) -> str:
    kind = type(exception)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"
