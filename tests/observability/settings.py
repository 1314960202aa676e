"""The test project with loopwatch's log on, formatted as JSON by the one-line LOGGING of
docs/reading-a-stall.md (python-json-logger's formatter, to standard error)."""

from __future__ import annotations

from tests.testproject.settings import *  # noqa: F403
from tests.testproject.settings import LOOPWATCH

LOOPWATCH = {**LOOPWATCH, "LOG": True}

# fmt: off
LOGGING = {"version": 1, "disable_existing_loggers": False, "formatters": {"json": {"()": "pythonjsonlogger.json.JsonFormatter"}}, "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json"}}, "loggers": {"loopwatch": {"handlers": ["json"], "level": "WARNING", "propagate": False}}}  # noqa: E501
# fmt: on
