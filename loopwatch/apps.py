"""The Django app: validates settings and registers checks; starts nothing.

Detection starts at `LoopwatchMiddleware`'s first ASGI event, `loopwatch.install()`, or the
pytest plugin — never in `ready()`, so management commands start no threads.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import request_started, setting_changed


class LoopwatchConfig(AppConfig):
    name = "loopwatch"
    verbose_name = "loopwatch"

    def ready(self) -> None:
        from loopwatch import conf, integrations
        from loopwatch.checks import register_checks
        from loopwatch.django_patches import django_patches
        from loopwatch.mistakes import mistake_patches
        from loopwatch.wsgi_warning import warn_if_wsgi

        register_checks()
        setting_changed.connect(conf.clear_cache, dispatch_uid="loopwatch.conf.clear_cache")
        integrations.register("django", django_patches)
        integrations.register("mistakes", mistake_patches)
        request_started.connect(warn_if_wsgi, dispatch_uid="loopwatch.warn_if_wsgi")
