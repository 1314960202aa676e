"""Settings for `python -m django check --tag loopwatch` on one of the mistakes URLconfs."""

import os

from tests.testproject.settings import *  # noqa: F403

ROOT_URLCONF = os.environ["LOOPWATCH_CHECK_URLCONF"]
if os.environ.get("LOOPWATCH_CHECK_BAD_SETTING"):
    # A settings error (loopwatch.E001): the one kind of finding that fails the command.
    LOOPWATCH = {**LOOPWATCH, "THRESHOLD": -1}  # noqa: F405
