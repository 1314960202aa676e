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


def _request_scoped(monitor: Monitor, original: AsgiCall) -> AsgiCall:
    async def __call__(handler: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or current_request.get() is not None:
            await original(handler, scope, receive, send)
            return
        async with requests.serving(monitor, scope):
            await original(handler, scope, receive, send)

    return __call__


def _response_scoped(
    monitor: Monitor, original: Callable[[Any, Any], Awaitable[Any]]
) -> Callable[[Any, Any], Awaitable[Any]]:
    async def get_response_async(handler: Any, request: Any) -> Any:
        if current_request.get() is not None:
            return await original(handler, request)
        scope = {"method": request.method, "path": request.path}
        async with requests.serving(monitor, scope):
            return await original(handler, request)

    return get_response_async


def _naming_the_view(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def resolve_request(handler: Any, request: Any) -> Any:
        match = original(handler, request)
        state = current_request.get()
        if state is not None:
            state.view = view_name(match)
        return match

    return resolve_request


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
