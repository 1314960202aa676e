"""Timing every step the loop runs: the hot path. Every instruction here is paid per step.

Stock asyncio runs every callback through `Handle._run`, so one wrapper there times task steps
and bare callbacks alike. uvloop never calls it; there a task factory wraps each task's
coroutine in a generator that times each `send`/`throw` (one task step).

The fast path does: two clock reads, two attribute stores (`step_start`, `step_end`: a step
is running while the first is the later), one read of the step's request (the ContextVar on
asyncio, the task's binding on uvloop), one comparison. Anything more happens only for steps
at or over the threshold.
"""

from __future__ import annotations

import asyncio
import time
import types
from asyncio import format_helpers
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from loopwatch.context import RequestState, current_request

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
        # A subscript, not `loops.get()`: no method call on the path every step takes; a
        # loop's first step (and every step once uninstalled while another patch still
        # wraps this one) takes the exception instead.
        state: LoopState | None
        try:
            state = loops[handle._loop]
        except KeyError:
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


class TaskBinding:
    """What one timed task's steps are charged to (uvloop): its request, if any.

    Set when the task is created (the request current then) and rebound when a request scope
    opens inside the task (`context.enter_request`), so no step has to read the ContextVar.
    """

    __slots__ = ("request",)

    def __init__(self, request: RequestState | None) -> None:
        self.request = request


@types.coroutine
def timed_steps(
    coro: Any, binding: TaskBinding, state: LoopState, monitor: Monitor
) -> Generator[Any, Any, Any]:
    """Run `coro` as a task's coroutine, timing each step (`send`/`throw`) the task takes.

    A generator, not an object with a `send` method: the task resumes it in C, with its
    locals in place, where a Python-level `send` would cost a new frame and four attribute
    reads per step. Every task step of every task comes through the loop below.
    """
    clock = _clock
    send = coro.send
    value = None
    thrown: BaseException | None = None
    while True:
        start = clock()
        state.step_start = start
        state.step_binding = binding  # the watchdog and `enter_request` read it mid-step
        try:
            if thrown is None:
                yielded = send(value)
            else:
                yielded, thrown = coro.throw(thrown), None
        except BaseException as exc:
            _finish_step(state, monitor, coro, binding, start)
            if isinstance(exc, StopIteration):
                return exc.value
            raise
        end = clock()
        state.step_end = end
        request = binding.request
        if request is not None:
            request.loop_time += end - start
        if end - start >= state.threshold:
            monitor.on_slow_step(state, coro, start, end, request)
        try:
            value = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # thrown in by the task (a cancellation): pass it on
            thrown = exc


def _finish_step(
    state: LoopState, monitor: Monitor, coro: Any, binding: TaskBinding, start: float
) -> None:
    """The end of a step that raised (the task's last): the timing `timed_steps` inlines."""
    end = _clock()
    state.step_end = end
    request = binding.request
    if request is not None:
        request.loop_time += end - start
    if end - start >= state.threshold:
        monitor.on_slow_step(state, coro, start, end, request)


_clock = time.perf_counter

TaskFactory = Callable[..., "asyncio.Future[Any]"]


def make_task_factory(
    state: LoopState, monitor: Monitor, previous: TaskFactory | None
) -> TaskFactory:
    """A task factory that times each step of each task, chaining any factory already set."""

    task_class = asyncio.Task

    def loopwatch_task_factory(
        loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
    ) -> asyncio.Future[Any]:
        # Runs for every task created: the common case (no keyword arguments, a native
        # coroutine) takes the shortest way.
        if monitor.active:
            context = kwargs.get("context") if kwargs else None  # else the task copies ours
            request = current_request.get() if context is None else context.get(current_request)
            timed: Any = timed_steps(coro, TaskBinding(request), state, monitor)
            # What Task.__repr__ and asyncio's debug messages name the task by.
            try:
                timed.__name__, timed.__qualname__ = coro.__name__, coro.__qualname__
            except AttributeError:  # an awaitable object without a name of its own
                timed.__name__ = timed.__qualname__ = type(coro).__name__
            coro = timed
        if previous is not None:
            return previous(loop, coro, **kwargs)
        if kwargs:
            return task_class(coro, loop=loop, **kwargs)
        return task_class(coro, loop=loop)

    loopwatch_task_factory.__loopwatch_previous__ = previous  # type: ignore[attr-defined]
    return loopwatch_task_factory
