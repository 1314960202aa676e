"""Timing every step the loop runs: the hot path. Every instruction here is paid per step.

Stock asyncio runs every callback through `Handle._run`, so one wrapper there times task steps
and bare callbacks alike. uvloop never calls it; there a task factory wraps each task's
coroutine so that each `send`/`throw` (one task step) is timed.

The fast path does: two clock reads, two attribute stores (`step_start`, `step_end`: a step
is running while the first is the later), one dict lookup for the loop's
state, one ContextVar read (to charge the step to its request), one comparison. Anything
more happens only for steps at or over the threshold.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import time
from asyncio import format_helpers
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from loopwatch.context import current_request

if TYPE_CHECKING:
    from loopwatch.loopstate import LoopState
    from loopwatch.monitor import Monitor


# Only compared by identity, to know when the `_run` being wrapped is the standard library's
# own (then its body is inlined below, saving a Python call per step).
_STDLIB_HANDLE_RUN = asyncio.events.Handle._run


def make_timed_run(monitor: Monitor) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Build the `Handle._run` wrapper around whatever `_run` is when the patch is applied."""

    def wrap(original_run: Callable[[Any], None]) -> Callable[[Any], None]:
        if original_run is _STDLIB_HANDLE_RUN:
            return _timed_stdlib_run(monitor)
        return _timed_chained_run(monitor, original_run)

    return wrap


def _timed_stdlib_run(monitor: Monitor) -> Callable[[Any], None]:
    clock = time.perf_counter
    loops = monitor.loops
    request_var = current_request

    def _run(handle: Any) -> None:
        state = loops.get(handle._loop)
        if state is None:
            state = monitor.adopt_loop(handle._loop)
            if state is None:  # not active: behave exactly like the original
                _run_stdlib_body(handle)
                return
        context = handle._context
        start = clock()
        state.step_context = context  # the watchdog reads the request from it mid-step
        state.step_start = start
        # The body of asyncio.events.Handle._run, inlined.
        try:
            context.run(handle._callback, *handle._args)
        except (SystemExit, KeyboardInterrupt):
            state.step_end = clock()
            raise
        except BaseException as exc:
            _report_callback_exception(handle, exc)
        end = clock()
        state.step_end = end
        elapsed = end - start
        request = context.get(request_var)
        if request is not None:
            request.loop_time += elapsed
        if elapsed >= state.threshold:
            monitor.on_slow_step(state, handle, start, end, request)

    _run.__loopwatch__ = True  # type: ignore[attr-defined]
    return _run


def _run_stdlib_body(handle: Any) -> None:
    try:
        handle._context.run(handle._callback, *handle._args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        _report_callback_exception(handle, exc)


def _report_callback_exception(handle: Any, exc: BaseException) -> None:
    """What asyncio.events.Handle._run does with an exception escaping a callback."""
    source = format_helpers._format_callback_source(handle._callback, handle._args)
    context = {"message": f"Exception in callback {source}", "exception": exc, "handle": handle}
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)


def _timed_chained_run(
    monitor: Monitor, original_run: Callable[[Any], None]
) -> Callable[[Any], None]:
    """Wraps someone else's `_run` (aiodebug's, say), so both keep working."""
    clock = time.perf_counter
    loops = monitor.loops
    request_var = current_request

    def _run(handle: Any) -> None:
        state = loops.get(handle._loop)
        if state is None:
            state = monitor.adopt_loop(handle._loop)
            if state is None:
                original_run(handle)
                return
        start = clock()
        state.step_start = start
        try:
            original_run(handle)
        finally:
            end = clock()
            state.step_end = end
            elapsed = end - start
            request = handle._context.get(request_var)
            if request is not None:
                request.loop_time += elapsed
            if elapsed >= state.threshold:
                monitor.on_slow_step(state, handle, start, end, request)

    _run.__loopwatch__ = True  # type: ignore[attr-defined]
    _run.__wrapped__ = original_run  # type: ignore[attr-defined]
    return _run


class TimedCoroutine(collections.abc.Coroutine[Any, Any, Any]):
    """Wraps a task's coroutine so that each step (`send`/`throw`) is timed (uvloop)."""

    # What `context.enter_request` looks for to bind a request to the running task.
    _loopwatch_binds = True

    # No __getattr__ forwarding: a class with one routes *every* attribute read through a
    # Python-level hook (~1,500 instructions per step here, the C Task's own `send` lookup
    # included). What Task.__repr__, get_stack() and debuggers read is spelled out instead.
    __slots__ = (
        "__name__",
        "__qualname__",
        "_coro",
        "_monitor",
        "_request",
        "_state",
    )

    def __init__(
        self, coro: Any, state: LoopState, monitor: Monitor, context: contextvars.Context
    ) -> None:
        self._coro = coro
        self._state = state
        self._monitor = monitor
        # The request this task works for: the one current when the task was created, or the
        # one a request scope opened inside it (`context.enter_request`). Kept here so that no
        # step has to read the ContextVar.
        self._request: Any = context.get(current_request)
        self.__name__ = getattr(coro, "__name__", type(coro).__name__)
        self.__qualname__ = getattr(coro, "__qualname__", self.__name__)

    def send(self, value: Any) -> Any:
        # Every task step of every task comes through here: `_finish_step` is inlined and the
        # clock and the ContextVar are read through module-level bindings.
        state = self._state
        start = _clock()
        state.step_start = start
        try:
            return self._coro.send(value)
        finally:
            end = _clock()
            state.step_end = end
            elapsed = end - start
            request = self._request
            if request is not None:
                request.loop_time += elapsed
            if elapsed >= state.threshold:
                self._monitor.on_slow_step(state, self._coro, start, end, request)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        state = self._state
        start = time.perf_counter()
        state.step_start = start
        try:
            if val is None and tb is None:
                return self._coro.throw(typ)
            return self._coro.throw(typ, val, tb)
        finally:
            self._finish_step(state, start)

    def _finish_step(self, state: LoopState, start: float) -> None:
        end = time.perf_counter()
        state.step_end = end
        elapsed = end - start
        request = self._request
        if request is not None:
            request.loop_time += elapsed
        if elapsed >= state.threshold:
            self._monitor.on_slow_step(state, self._coro, start, end, request)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()  # type: ignore[no-any-return]

    @property
    def cr_frame(self) -> Any:
        return _inner(self._coro, "cr_frame", "gi_frame")

    @property
    def cr_await(self) -> Any:
        return _inner(self._coro, "cr_await", "gi_yieldfrom")

    @property
    def cr_running(self) -> bool:
        return bool(_inner(self._coro, "cr_running", "gi_running"))

    @property
    def cr_code(self) -> Any:
        return _inner(self._coro, "cr_code", "gi_code")

    @property
    def cr_origin(self) -> Any:
        return getattr(self._coro, "cr_origin", None)

    def __repr__(self) -> str:
        return repr(self._coro)


def _inner(coro: Any, name: str, generator_name: str) -> Any:
    """An attribute of the wrapped coroutine (or of a generator-based one, by its name)."""
    return getattr(coro, name, None) if hasattr(coro, name) else getattr(coro, generator_name, None)


_clock = time.perf_counter

TaskFactory = Callable[..., "asyncio.Future[Any]"]


def make_task_factory(
    state: LoopState, monitor: Monitor, previous: TaskFactory | None
) -> TaskFactory:
    """A task factory that times each step of each task, chaining any factory already set."""

    def loopwatch_task_factory(
        loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
    ) -> asyncio.Future[Any]:
        if monitor.active:
            # Pass the task's context explicitly so the wrapper can hold on to it.
            context = kwargs.get("context") or contextvars.copy_context()
            kwargs["context"] = context
            coro = TimedCoroutine(coro, state, monitor, context)
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loopwatch_task_factory.__loopwatch_previous__ = previous  # type: ignore[attr-defined]
    return loopwatch_task_factory
