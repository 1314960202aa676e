"""What loopwatch hooks into Django while detection runs (applied and undone with the core).

- `ASGIHandler.__call__`: gives each request its `RequestState` when no `LoopwatchMiddleware`
  did (so streaming and disconnect handling are charged too), and
  `BaseHandler.get_response_async` the same for Django's test `AsyncClient`, whose handler
  is not an `ASGIHandler` and bypasses any ASGI wrapper.
- `BaseHandler.resolve_request`: names the request's view (dotted path) once resolved.
- a database execute wrapper on every connection, and `SynchronousOnlyOperation.__init__`:
  every ORM call made on the event-loop thread, allowed or raised (see `orm.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from asgiref.sync import markcoroutinefunction

from loopwatch import orm, requests
from loopwatch.context import current_request
from loopwatch.patches import ExecuteWrappers, Patch, Reversible

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor

AsgiCall = Callable[[Any, Any, Any, Any], Awaitable[None]]


def django_patches(monitor: Monitor) -> Iterable[Reversible]:
    """The patches for a configured Django; none when Django's settings are not set up."""
    from django.conf import settings

    if not settings.configured:
        return []
    from django.core.exceptions import SynchronousOnlyOperation
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.base import BaseHandler
    from django.db import connections
    from django.db.backends.signals import connection_created

    from loopwatch.conf import get_config

    patches: list[Reversible] = [
        Patch(ASGIHandler, "__call__", wrap=lambda original: _request_scoped(monitor, original)),
        Patch(
            BaseHandler,
            "get_response_async",
            wrap=lambda original: _response_scoped(monitor, original),
        ),
        Patch(BaseHandler, "resolve_request", wrap=_naming_the_view),
    ]
    if get_config().report_orm:
        patches += [
            ExecuteWrappers(connections, connection_created, orm.make_execute_wrapper(monitor)),
            Patch(
                SynchronousOnlyOperation,
                "__init__",
                wrap=lambda original: orm.flagging_init(monitor, original),
            ),
        ]
    return patches


# Both wrappers below are plain functions returning an awaitable: when the request is already
# scoped (by `LoopwatchMiddleware`, or the ASGI patch for the response patch) they hand back
# Django's own coroutine, so a served request pays no extra coroutine layer for them. Marked
# as coroutine functions for servers that check (uvicorn picks the ASGI version that way).


def _request_scoped(monitor: Monitor, original: AsgiCall) -> AsgiCall:
    def __call__(handler: Any, scope: Any, receive: Any, send: Any) -> Awaitable[None]:
        # Under `LoopwatchMiddleware` every request is scoped already: that test first.
        if current_request.get() is not None or scope.get("type") != "http":
            return original(handler, scope, receive, send)
        return requests.serve(monitor, scope, original, handler, scope, receive, send)

    return markcoroutinefunction(__call__)


def _response_scoped(
    monitor: Monitor, original: Callable[[Any, Any], Awaitable[Any]]
) -> Callable[[Any, Any], Awaitable[Any]]:
    def get_response_async(handler: Any, request: Any) -> Awaitable[Any]:
        if current_request.get() is not None:
            return original(handler, request)
        scope = {"method": request.method, "path": request.path}
        return requests.serve(monitor, scope, original, handler, request)

    return markcoroutinefunction(get_response_async)


def _naming_the_view(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def resolve_request(handler: Any, request: Any) -> Any:
        match = original(handler, request)
        state = current_request.get()
        if state is not None:
            func = getattr(match, "func", None)
            try:
                name = _view_names[func]
            except KeyError:  # not named yet
                name = view_name(match)
                if func is not None:
                    if len(_view_names) >= MAX_CACHED_VIEWS:
                        _view_names.clear()
                    _view_names[func] = name
            except TypeError:  # a view object without a hash cannot be remembered
                name = view_name(match)
            state.view = name
        return match

    return resolve_request


# The dotted path of each view function resolved so far: the URLconf's views are few and live
# as long as the process, and the name is needed on every request. Bounded all the same, for
# views made per request (an unusual URLconf would only lose the cache's benefit).
_view_names: dict[Any, str] = {}
MAX_CACHED_VIEWS = 10_000


def view_name(match: Any) -> str:
    """Dotted path of the resolved view; the class for class-based views."""
    func = getattr(match, "func", None)
    view_class = getattr(func, "view_class", None)
    target = view_class if view_class is not None else func
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    if module and qualname:
        return f"{module}.{qualname}"
    return str(getattr(match, "_func_path", "<unknown>"))
