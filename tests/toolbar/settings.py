"""The test project with django-debug-toolbar and loopwatch's panel (served by uvicorn)."""

from __future__ import annotations

from debug_toolbar.settings import PANELS_DEFAULTS

from tests.testproject.settings import *  # noqa: F403
from tests.testproject.settings import INSTALLED_APPS

# The toolbar shows only with DEBUG on and for addresses in INTERNAL_IPS.
DEBUG = True
INTERNAL_IPS = ["127.0.0.1"]
INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.staticfiles", "debug_toolbar"]
STATIC_URL = "/static/"
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware"]
ROOT_URLCONF = "tests.toolbar.urls"
DEBUG_TOOLBAR_PANELS = [*PANELS_DEFAULTS, "loopwatch.toolbar.LoopwatchPanel"]
DEBUG_TOOLBAR_CONFIG = {
    # The toolbar refuses to run under a test runner unless told this is on purpose.
    "IS_RUNNING_TESTS": False,
}
