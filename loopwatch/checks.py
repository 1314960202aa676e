"""Django system checks (`manage.py check --tag loopwatch`): what is wrong without running.

- `loopwatch.E001`: a `LOOPWATCH` key that is unknown or of the wrong type.
- `loopwatch.W001`: the ASGI application is not wrapped in `LoopwatchMiddleware`.
- `loopwatch.W002`, `W003`, `W004`: mistakes in the views' code (see `view_checks.py`).
"""

from __future__ import annotations

import importlib
from typing import Any

from django.conf import settings
from django.core import checks

from loopwatch import conf

TAG = "loopwatch"


def register_checks() -> None:
    from loopwatch.view_checks import check_view_code, check_wsgi_only

    checks.register(check_settings, TAG)
    checks.register(check_asgi_application, TAG)
    checks.register(check_view_code, TAG)
    checks.register(check_wsgi_only, TAG)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(message, hint=_hint(key), id="loopwatch.E001", obj="settings.LOOPWATCH")
        for key, message in conf.problems(getattr(settings, "LOOPWATCH", None))
    ]


def _hint(key: str) -> str:
    setting = conf.SETTINGS.get(key)
    if setting is None:
        return "Remove the key, or fix its spelling."
    return f"Use {setting.expected}; the default is {setting.default!r}."


def check_asgi_application(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    path = _asgi_application_path()
    application = asgi_application()
    if path is None or application is None or _wraps_loopwatch(application):
        return []  # nothing to say: no importable ASGI application, or it is wrapped
    return [
        checks.Warning(
            f"The ASGI application {path} is not wrapped in LoopwatchMiddleware: loopwatch "
            "will not start under your ASGI server.",
            hint="In asgi.py: application = LoopwatchMiddleware(get_asgi_application())",
            id="loopwatch.W001",
            obj=path,
        )
    ]


def asgi_application() -> Any:
    """The project's ASGI application (ASGI_APPLICATION, or asgi.py next to wsgi.py), or None."""
    path = _asgi_application_path()
    if path is None:
        return None
    try:
        module_name, _, attribute = path.rpartition(".")
        return getattr(importlib.import_module(module_name), attribute)
    except Exception:
        return None


def _asgi_application_path() -> str | None:
    path = getattr(settings, "ASGI_APPLICATION", None)
    if path:
        return str(path)
    wsgi = getattr(settings, "WSGI_APPLICATION", None)
    if wsgi and str(wsgi).endswith(".wsgi.application"):
        return str(wsgi)[: -len(".wsgi.application")] + ".asgi.application"
    return None


def _wraps_loopwatch(application: Any, depth: int = 10) -> bool:
    from loopwatch.asgi import LoopwatchMiddleware

    for _ in range(depth):
        if isinstance(application, LoopwatchMiddleware):
            return True
        application = getattr(application, "app", None)
        if application is None:
            return False
    return False
