"""Settings for `python -m django check --tag loopwatch` on one of the mistakes URLconfs."""

import os

from tests.testproject.settings import *  # noqa: F403

ROOT_URLCONF = os.environ["LOOPWATCH_CHECK_URLCONF"]
