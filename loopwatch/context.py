"""Which request a loop step belongs to.

    >>> with request_scope(RequestState(method="GET", path="/books/")) as state:
    ...     state.view = "shop.views.BookList"   # once the URL is resolved

The state lives in a ContextVar. Every task copies the context it was created in, so steps of
the request's own task *and* of every task it spawns (Django's per-request tasks, gather)
see the same mutable `RequestState`. Loop steps read it from the step's own context
(`handle._context`), never from whatever happens to be current in the loop thread.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopwatch.hops import Maker
    from loopwatch.loopstate import LoopState
    from loopwatch.steps import TaskBinding

NO_REQUEST = "<none>"
UNRESOLVED = "<unresolved>"

_request_ids = itertools.count(1)


class RequestState:
    """One in-flight request, as loopwatch accounts for it."""

    __slots__ = (
        "finished",
        "hop_makers",
        "hop_waits",
        "hops",
        "id",
        "loop_time",
        "method",
        "path",
        "started",
        "view",
        "wait_time",
    )

    def __init__(self, method: str | None, path: str | None, view: str = UNRESOLVED) -> None:
        self.id = next(_request_ids)
        self.method = method
        self.path = path
        self.view = view
        self.started = time.perf_counter()
        self.loop_time = 0.0  # time this request's own steps held the loop
        self.wait_time = 0.0  # time it waited while other requests' steps held the loop
        self.hops = 0  # sync_to_async hops made while serving it
        # Who made them, and each thread-sensitive hop's queue wait (bounded, see hops.py);
        # None until the first hop.
        self.hop_makers: dict[Maker, int] | None = None
        self.hop_waits: list[float] | None = None
        self.finished = False

    def __repr__(self) -> str:
        return f"<RequestState #{self.id} {self.method} {self.path} view={self.view}>"


current_request: ContextVar[RequestState | None] = ContextVar(
    "loopwatch_current_request", default=None
)


class InFlight:
    """The requests currently being served, so a stall can count (and charge) its victims."""

    def __init__(self) -> None:
        # Written directly by `enter_request`/`exit_request` (once per request: no method
        # call there); read here.
        self.requests: dict[int, RequestState] = {}

    def others(self, culprit: RequestState | None) -> list[RequestState]:
        culprit_id = culprit.id if culprit is not None else None
        # list() first: the dict may change size from another thread (sync views).
        return [r for r in list(self.requests.values()) if r.id != culprit_id]

    def __len__(self) -> int:
        return len(self.requests)


in_flight = InFlight()


Entered = tuple[Token["RequestState | None"], Any]

# Loops whose task steps are timed by `steps.timed_steps` (uvloop, see monitor.py), each with
# its LoopState. Those steps read their request from the task's binding instead of the
# ContextVar, so entering a request must rebind it there; on stock asyncio there is nothing
# to bind and requests pay nothing for it.
timed_task_loops: dict[Any, LoopState] = {}


def enter_request(state: RequestState) -> Entered:
    """Make `state` the current request and count it in flight; undo with `exit_request`."""
    token = current_request.set(state)
    bound = _bind_to_task(state) if timed_task_loops else None
    in_flight.requests[state.id] = state
    return token, bound


def exit_request(state: RequestState, entered: Entered) -> None:
    token, bound = entered
    state.finished = True
    in_flight.requests.pop(state.id, None)
    if bound is not None:
        binding, previous = bound
        binding.request = previous
    current_request.reset(token)


def _bind_to_task(state: RequestState) -> tuple[TaskBinding, RequestState | None] | None:
    """Charge the running task's timed steps to `state`; returns what undoes it."""
    loop_state = timed_task_loops.get(asyncio._get_running_loop())
    if loop_state is None:
        return None
    binding = loop_state.step_binding
    # Steps never nest, so the timed step running now is the one that set the binding; a
    # step the factory did not wrap (a task created before loopwatch) leaves none running.
    if binding is None or not loop_state.running_step():
        return None
    previous = binding.request
    binding.request = state
    return binding, previous


@contextmanager
def request_scope(state: RequestState) -> Iterator[RequestState]:
    """Make `state` the current request; undone with its token, so scopes nest."""
    entered = enter_request(state)
    try:
        yield state
    finally:
        exit_request(state, entered)
