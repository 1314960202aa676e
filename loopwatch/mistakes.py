"""The Common Mistakes found at run time besides stalls, applied and undone with the core.

- a coroutine never awaited (`unawaited.py`);
- a task exception nobody retrieved (`lost.py`);
- the `sync_to_async` hops each request makes, and who made them (`hops.py`).

Registered as an integration by the Django app's `ready()`; nothing is patched until
detection starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopwatch.hops import hop_patches
from loopwatch.lost import lost_exception_patches
from loopwatch.unawaited import unawaited_patches

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor
    from loopwatch.patches import Reversible


def mistake_patches(monitor: Monitor) -> list[Reversible]:
    from django.conf import settings

    track_origin = False
    if settings.configured:
        from loopwatch.conf import get_config

        track_origin = get_config().track_unawaited
    return [
        *unawaited_patches(monitor, track_origin),
        *lost_exception_patches(monitor),
        *hop_patches(monitor),
    ]
