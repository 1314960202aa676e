"""Coroutines created and never awaited (the guide's "Forgetting await"): view and line of each.

    async def get(self, request):
        self.notify(request.user)          # no await: notify() never runs
        return HttpResponse("ok")

When a coroutine that never started is finalized, CPython calls
`warnings._warn_unawaited_coroutine(coro)`. loopwatch replaces that function while it is active:
the replacement records an `UnawaitedRecord`, then calls the original, so Python's own
`RuntimeWarning` is unchanged.

Which line: an unawaited coroutine is usually dropped by the very statement that created it,
so the frame running when it is finalized is at the creating line. That costs nothing until a
coroutine goes unawaited. `LOOPWATCH["TRACK_UNAWAITED"]` switches on CPython's coroutine origin
tracking as well, which names the creating line even when the coroutine was kept in a variable
and dropped later, at the price of a little work on *every* coroutine creation (see
docs/mistakes.md for the measured cost; that is why it is opt-in).
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from loopwatch import stacks
from loopwatch.context import NO_REQUEST, current_request
from loopwatch.patches import CoroutineOriginTracking, Patch, Reversible
from loopwatch.records import CodeLine, UnawaitedRecord

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor

logger = logging.getLogger("loopwatch")

# Frames kept per coroutine when origin tracking is on: the creating frame only, since each
# frame more costs on every coroutine creation. When that frame is not the user's (Django's
# `Item.objects.aget()` is `manager_method()` calling `QuerySet.aget()`), the finalizing
# frame names the line, as without tracking.
ORIGIN_DEPTH = 1


def unawaited_patches(monitor: Monitor, track_origin: bool) -> list[Reversible]:
    """The hook on CPython's unawaited-coroutine warning; origin tracking when asked for."""
    patches: list[Reversible] = [
        Patch(
            warnings,
            "_warn_unawaited_coroutine",
            wrap=lambda original: _recording(monitor, original),
        )
    ]
    if track_origin:
        patches.append(CoroutineOriginTracking(ORIGIN_DEPTH))
    return patches


def _recording(monitor: Monitor, original: Callable[[Any], None]) -> Callable[[Any], None]:
    def _warn_unawaited_coroutine(coro: Any) -> None:
        if monitor.active:
            try:
                monitor.publish(unawaited_record(coro, sys._getframe(1)))
            except Exception:
                logger.exception("loopwatch: failed to record an unawaited coroutine")
        original(coro)

    return _warn_unawaited_coroutine


def unawaited_record(coro: Any, finalizing: FrameType | None) -> UnawaitedRecord:
    """The record for `coro`, finalized while `finalizing` ran (no local values are read)."""
    stack = _origin_stack(coro)
    line = stacks.user_line(stack)
    if line is None:
        stack = stacks.capture(finalizing)
        line = stacks.user_line(stack)
    state = current_request.get()
    return UnawaitedRecord(
        view=state.view if state is not None else NO_REQUEST,
        method=state.method if state is not None else None,
        path=state.path if state is not None else None,
        blocking_line=line,
        stack=stack,
        coroutine=_coroutine_name(coro),
    )


def _origin_stack(coro: Any) -> tuple[CodeLine, ...]:
    """Where the coroutine was created, outermost first (empty without origin tracking)."""
    origin = getattr(coro, "cr_origin", None) or ()
    return tuple(stacks.code_line(file, line, name) for file, line, name in reversed(origin))


def _coroutine_name(coro: Any) -> str:
    code = getattr(coro, "cr_code", None)
    if code is None:
        return str(getattr(coro, "__qualname__", type(coro).__name__))
    return str(code.co_qualname)
