"""System checks on the views the URLconf reaches (`manage.py check --tag loopwatch`).

- `loopwatch.W002`: an async handler awaits `super().get(...)` of a sync parent (it fails on
  every request: TypeError, or SynchronousOnlyOperation when the parent queries);
- `loopwatch.W003`: a known blocking call inside an async function of a view;
- `loopwatch.W004`: an async view the project can only serve through WSGI (no ASGI
  application): each request runs it in a new event loop of its own.

Each message starts with the `file:line` of the finding; the hint says what to do. All are
warnings: Django runs these checks before `runserver` and `migrate` too, and a reading of the
source, however careful, must not stop those (nor a demo that shows the mistakes on purpose).
"""

from __future__ import annotations

import inspect
from typing import Any

from django.conf import settings
from django.core import checks

from loopwatch import codecheck, stacks, urlwalk


def check_view_code(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    seen: set[tuple[str, str, int]] = set()
    checked: set[int] = set()
    for route, callback in _routed_views():
        target = urlwalk.view_target(callback)
        if id(target) in checked:
            continue
        checked.add(id(target))
        for finding in codecheck.view_findings(target):
            key = (finding.check, finding.file, finding.line)
            if key in seen:
                continue  # a base class shared by several views: once is enough
            seen.add(key)
            text = f"{finding.where}: {finding.message} (in {finding.function}, route '{route}')"
            check_id = "loopwatch.W002" if finding.check == "super_await" else "loopwatch.W003"
            messages.append(
                checks.Warning(text, hint=finding.hint, id=check_id, obj=urlwalk.dotted(target))
            )
    return messages


def check_wsgi_only(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from loopwatch.checks import asgi_application

    wsgi = getattr(settings, "WSGI_APPLICATION", None)
    if not wsgi or asgi_application() is not None:
        return []
    messages: list[checks.CheckMessage] = []
    seen: set[int] = set()
    for route, callback in _routed_views():
        target = urlwalk.view_target(callback)
        if id(target) in seen or not urlwalk.is_async_view(callback):
            continue
        seen.add(id(target))
        name = urlwalk.dotted(target)
        messages.append(
            checks.Warning(
                f"{_where(target)}: {name} (route '{route}') is an async view, but this "
                f"project is served only through WSGI ({wsgi}, no ASGI application): every "
                "request runs it in a new event loop of its own, one request at a time.",
                hint=(
                    "Add asgi.py (application = LoopwatchMiddleware(get_asgi_application())) "
                    "and serve it with an ASGI server: uvicorn project.asgi:application"
                ),
                id="loopwatch.W004",
                obj=name,
            )
        )
    return messages


def _routed_views() -> list[tuple[str, Any]]:
    try:
        return list(urlwalk.routed_views())
    except Exception:
        return []  # a broken URLconf is reported by Django's own checks


def _where(target: Any) -> str:
    try:
        filename = inspect.getsourcefile(target) or "?"
        line = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        return "?"
    return f"{stacks.display_path(filename)}:{line}"
