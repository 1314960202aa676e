"""The test project as the real-server page tests serve it: one extra route, optional port.

    DJANGO_SETTINGS_MODULE=tests.pages.server_settings uvicorn tests.testproject.asgi:application

`LOOPWATCH_TEST_METRICS_PORT` turns on the separate metrics port.
"""

from __future__ import annotations

import os

from tests.testproject.settings import *  # noqa: F403
from tests.testproject.settings import LOOPWATCH

ROOT_URLCONF = "tests.pages.server_urls"

if os.environ.get("LOOPWATCH_TEST_METRICS_PORT"):
    LOOPWATCH = {**LOOPWATCH, "METRICS_PORT": int(os.environ["LOOPWATCH_TEST_METRICS_PORT"])}
