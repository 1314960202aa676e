"""Hidden serialization: every `sync_to_async` hop made while serving a request, and who made it.

    >>> for view in loopwatch.hops.summary():
    ...     print(view.view, view.per_request, [m.name for m in view.makers])
    shop.views.Cart 3.0 ['shop.middleware.Audit', 'QuerySet.get() on shop.Cart']

Under ASGI Django runs each synchronous piece in a thread: each hook of a `MiddlewareMixin`
middleware, a sync view, every ORM `a`-method (`aget()` is `sync_to_async(get)`), template
rendering. The thread-sensitive ones of a request all run one after the other in that request's
single thread, so each hop costs a thread switch and waits for the hops before it (the guide's
"Mixing Sync + Async Code").

One reversible patch, on asgiref's `SyncToAsync.__call__`: when it is called while a request
is served, it names who made the hop and hands asgiref a copy of the converter whose sync
function first notes, in the worker thread, when it started, so the time a thread-sensitive
call waited in the queue is known. A request keeps its hops; when it ends they go to the sinks
(`Sink.on_hop`, under the request's final view, because middleware hops happen before the URL
is resolved) and to this summary.

Django's ASGI handler makes two hops of its own in every request whatever the project does
(`request_started` receivers, `response.close()`); they are left out, so a fully async stack
counts zero.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, NamedTuple

from loopwatch import stacks
from loopwatch.context import RequestState, current_request
from loopwatch.patches import Patch, Reversible

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor
    from loopwatch.sinks import Sinks

# Per request: distinct hop makers kept, and hop waits kept for the metrics (the rest of the
# hops still count, with their wait unknown).
MAX_MAKERS_PER_REQUEST = 16
MAX_WAITS_PER_REQUEST = 256
# Per view in the summary.
MAX_MAKERS_PER_VIEW = 20
MAX_VIEWS = 1000

OVERFLOW = "(other)"

# Frames that only pass the hop along: the hop is made by the first frame above them.
_RELAY_MODULES = ("asgiref.", "django.dispatch.")
_DJANGO_HANDLER = "django.core.handlers.asgi"

_lock = threading.Lock()


class Maker(NamedTuple):
    """Who made a hop: `kind` is middleware, view, orm or other.

    A tuple, not a dataclass: makers are dict keys on every hop, and a tuple hashes and
    compares in C where a dataclass runs its generated `__hash__` and `__eq__` in Python.
    """

    kind: str
    name: str
    where: str | None = None  # file:line of the user's code that asked for it, when known


def hop_patches(monitor: Monitor) -> list[Reversible]:
    """The `SyncToAsync.__call__` patch; none when asgiref is not installed."""
    try:
        from asgiref.sync import SyncToAsync
    except ImportError:
        return []
    return [Patch(SyncToAsync, "__call__", wrap=lambda original: _asking(monitor, original))]


def _asking(monitor: Monitor, original: Callable[..., Any]) -> Callable[..., Any]:
    # Stays an `async def`: Django and asgiref tell sync from async by the code flag (a
    # `@sync_to_async` handler on a view must still look async).
    async def __call__(converter: Any, *args: Any, **kwargs: Any) -> Any:
        state = current_request.get()
        if state is None or state.finished or not monitor.active:
            return await original(converter, *args, **kwargs)
        func = converter.func
        target = func.func if isinstance(func, functools.partial) else func
        owner = getattr(target, "__self__", None)
        # Django's own two hops come in every request: told apart before any frame is read.
        if _is_handlers_own(target, owner):
            return await original(converter, *args, **kwargs)
        maker = hop_maker(target, owner, state.view, sys._getframe(1))
        if maker is None:
            return await original(converter, *args, **kwargs)
        # The same converter, calling the sync function through _Started: asgiref runs that
        # in the worker thread, so the moment the hop starts is known there.
        sensitive = bool(getattr(converter, "_thread_sensitive", False))
        timed = object.__new__(type(converter))
        timed.__dict__.update(converter.__dict__)
        timed.func = _Started(func, state, maker, sensitive)
        return await original(timed, *args, **kwargs)

    return __call__


class _Started:
    """Calls the sync function in its thread, first counting the hop and its queue wait."""

    __slots__ = ("asked", "func", "maker", "state", "thread_sensitive")

    def __init__(
        self, func: Callable[..., Any], state: RequestState, maker: Maker, thread_sensitive: bool
    ) -> None:
        self.func = func
        self.state = state
        self.maker = maker
        self.thread_sensitive = thread_sensitive
        self.asked = time.perf_counter()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        wait = time.perf_counter() - self.asked if self.thread_sensitive else None
        _count(self.state, self.maker, wait)
        return self.func(*args, **kwargs)


def _count(state: RequestState, maker: Maker, wait: float | None) -> None:
    with _lock:
        if state.finished:
            return
        state.hops += 1
        # Made on the first hop: most requests never hop, and pay nothing for these.
        makers = state.hop_makers if state.hop_makers is not None else {}
        waits = state.hop_waits if state.hop_waits is not None else []
        state.hop_makers, state.hop_waits = makers, waits
        if maker not in makers and len(makers) >= MAX_MAKERS_PER_REQUEST:
            maker = Maker("other", OVERFLOW)
        makers[maker] = makers.get(maker, 0) + 1
        if wait is not None and len(waits) < MAX_WAITS_PER_REQUEST:
            waits.append(wait)


# -- who made it -------------------------------------------------------------------------------


def hop_maker(target: Any, owner: Any, view: str, frame: FrameType | None) -> Maker | None:
    """Name the maker of a hop to `target` (bound to `owner`, if a method), asked for by `frame`.

    None for a hop Django's handler makes itself that `_is_handlers_own` did not know.
    """
    caller = _caller(frame)
    if caller is not None and caller.f_globals.get("__name__") == _DJANGO_HANDLER:
        return None
    if owner is not None and callable(getattr(owner, "get_response", None)):
        return Maker("middleware", _dotted(type(owner)))
    wrapped = getattr(target, "__wrapped__", None)
    if wrapped is not None and _is_exception_wrapper(target):
        # A sync-only middleware adapted as a whole: Django wraps it in
        # convert_exception_to_response() and hops once for it and everything below it.
        return Maker("middleware", _middleware_name(wrapped))
    orm = _orm_name(owner, target)  # first: the common hop, and never a view
    if orm is None and _is_view(target, view):
        return Maker("view", view)
    where = _user_where(caller)
    if orm is not None:
        return Maker("orm", orm, where)
    return Maker("other", _dotted(target), where)


def _is_handlers_own(target: Any, owner: Any) -> bool:
    """`response.close()` and the request_started/finished receivers: in every request.

    Told apart by what the hop runs, not by the frame that asked for it: that needs no frame
    object, and sees the receivers also when `Signal.asend` reaches asgiref through
    `asyncio.gather`.
    """
    django = _django_objects()
    if django is None:
        return False
    if isinstance(owner, django.response_class):
        return getattr(target, "__name__", "") == "close"
    if owner is django.request_started or owner is django.request_finished:
        return True  # `sync_to_async(request_started.send)`, as Django 4.2's handler does
    if getattr(target, "__module__", "") != "django.dispatch.dispatcher":
        return False
    for cell in getattr(target, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if value is django.request_started or value is django.request_finished:
            return True
    return False


class _Django:
    """The Django classes and signals hop naming compares against (looked up once)."""

    def __init__(self) -> None:
        from django.core.signals import request_finished, request_started
        from django.db.models import Manager, Model, QuerySet
        from django.http import HttpResponseBase

        self.request_started = request_started
        self.request_finished = request_finished
        self.response_class = HttpResponseBase
        self.queryset_classes = (QuerySet, Manager)
        self.model_class = Model
        # convert_exception_to_response()'s sync wrapper copies the name and module of what it
        # wraps (functools.wraps): only its code object tells it apart.
        from django.core.handlers.exception import convert_exception_to_response

        self.exception_wrapper_code = convert_exception_to_response(_sync_handler).__code__


def _sync_handler(request: Any) -> Any:
    return None


def _is_exception_wrapper(target: Any) -> bool:
    django = _django_objects()
    code = getattr(target, "__code__", None)
    return django is not None and code is not None and code is django.exception_wrapper_code


_django: _Django | None = None


def _django_objects() -> _Django | None:
    """Django's objects once Django is loaded; None before (hops are then never Django's)."""
    global _django
    if _django is None and "django.db.models" in sys.modules:
        _django = _Django()
    return _django


def _caller(frame: FrameType | None) -> FrameType | None:
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(_RELAY_MODULES):
        frame = frame.f_back
    return frame


def _user_where(frame: FrameType | None) -> str | None:
    depth = 0
    while frame is not None and depth < stacks.MAX_DEPTH:
        code = frame.f_code
        if stacks.is_user_file(code.co_filename):
            return f"{stacks.display_path(code.co_filename)}:{frame.f_lineno}"
        frame = frame.f_back
        depth += 1
    return None


def _is_view(target: Any, view: str) -> bool:
    for _ in range(8):  # a few decorators deep (ATOMIC_REQUESTS' atomic(), say), no further
        if target is None:
            return False
        if getattr(target, "view_class", None) is not None or _dotted(target) == view:
            return True
        target = getattr(target, "__wrapped__", None)
    return False


def _orm_name(owner: Any, target: Any) -> str | None:
    django = _django_objects()
    if owner is None or django is None:
        return None
    method = getattr(target, "__name__", "?")
    if isinstance(owner, django.queryset_classes):
        model = owner.model
        label = model._meta.label if model is not None else "?"
        return f"QuerySet.{method}() on {label}"
    if isinstance(owner, django.model_class):
        return f"{owner._meta.label}.{method}()"
    return None


def _middleware_name(middleware: Any) -> str:
    if callable(getattr(middleware, "get_response", None)) or not hasattr(
        middleware, "__qualname__"
    ):
        return _dotted(type(middleware))
    # A function middleware is a closure made by its factory: name the factory.
    return _dotted(middleware).split(".<locals>", 1)[0]


def _dotted(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if name is None:
        return repr(obj)[:80]
    if not module or module == "builtins":
        return str(name)
    return f"{module}.{name}"


# -- per view ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MakerShare:
    """One maker's part in a view's hops."""

    maker: Maker
    per_request: float
    advice: str

    @property
    def kind(self) -> str:
        return self.maker.kind

    @property
    def name(self) -> str:
        return self.maker.name

    @property
    def where(self) -> str | None:
        return self.maker.where


@dataclass(frozen=True, slots=True)
class ViewHops:
    """A view's hops since detection started: `per_request` over `requests` served."""

    view: str
    requests: int
    hops: int
    per_request: float
    makers: tuple[MakerShare, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "requests": self.requests,
            "hops": self.hops,
            "hops_per_request": round(self.per_request, 3),
            "makers": [
                {
                    "kind": share.kind,
                    "name": share.name,
                    "where": share.where,
                    "per_request": round(share.per_request, 3),
                    "advice": share.advice,
                }
                for share in self.makers
            ],
        }


class _ViewTally:
    __slots__ = ("hops", "makers", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.hops = 0
        self.makers: Counter[Maker] = Counter()


class HopLedger:
    """Hops per view, from every finished request; feeds the sinks' `on_hop` as well."""

    def __init__(self) -> None:
        self._views: dict[str, _ViewTally] = {}
        self._lock = threading.Lock()

    def request_finished(self, state: RequestState, sinks: Sinks) -> None:
        view = state.view
        with _lock:  # hops may still be counted from a worker thread
            hops = state.hops
            # Copied only when there is something to copy: most requests make no hop.
            waits = list(state.hop_waits) if hops and state.hop_waits else []
            makers = dict(state.hop_makers) if hops and state.hop_makers else {}
        if hops:
            for wait in waits:
                sinks.hop(view, wait)
            for _ in range(hops - len(waits)):
                sinks.hop(view, None)
        with self._lock:
            tally = self._views.get(view)
            if tally is None:
                if len(self._views) >= MAX_VIEWS:
                    return
                tally = self._views[view] = _ViewTally()
            tally.requests += 1
            if not hops:
                return
            tally.hops += hops
            for maker, count in makers.items():
                if maker not in tally.makers and len(tally.makers) >= MAX_MAKERS_PER_VIEW:
                    maker = Maker("other", OVERFLOW)
                tally.makers[maker] += count

    def summary(self) -> list[ViewHops]:
        """Views that made any hop, most hops per request first."""
        with self._lock:
            rows = [
                (view, t.requests, t.hops, t.makers.most_common())
                for view, t in self._views.items()
                if t.hops
            ]
        found = [
            ViewHops(
                view=view,
                requests=requests,
                hops=hops,
                per_request=hops / requests,
                makers=tuple(
                    MakerShare(maker, count / requests, advice(maker)) for maker, count in makers
                ),
            )
            for view, requests, hops, makers in rows
        ]
        return sorted(found, key=lambda v: v.per_request, reverse=True)

    def clear(self) -> None:
        with self._lock:
            self._views.clear()


def advice(maker: Maker) -> str:
    """What to do about a maker's hops, in one sentence."""
    at = f" at {maker.where}" if maker.where else ""
    if maker.kind == "middleware":
        return (
            f"{maker.name} is a synchronous middleware: every request hops to a thread for "
            "it. Make it async-capable (async_capable = True with an async __acall__) or "
            "remove it from MIDDLEWARE."
        )
    if maker.kind == "view":
        return (
            "The view is synchronous, so Django runs it in a thread: write its handlers "
            "as async def."
        )
    if maker.kind == "orm":
        return (
            f"{maker.name}{at}: each ORM a-method is one hop to the request's database "
            "thread; fetch what the view needs in fewer queries (select_related, values(), "
            "one query instead of several)."
        )
    return (
        f"sync_to_async({maker.name}){at}: each call waits for the request's one sync "
        "thread; do the sync work in one call, or use an async library."
    )


def summary() -> list[ViewHops]:
    """Per view: requests, hops per request and who made them (empty when not installed)."""
    from loopwatch import api

    monitor = api.current_monitor()
    return monitor.hops.summary() if monitor is not None else []
