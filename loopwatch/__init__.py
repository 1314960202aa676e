"""loopwatch: finds the code that blocks your asyncio event loop, and says which line.

    >>> import loopwatch
    >>> with loopwatch.watching(threshold=0.05):
    ...     asyncio.run(main())
    >>> loopwatch.recent_stalls()[0].blocking_line

Importing loopwatch has no side effects: nothing is patched and no thread starts until
`install()`, `watching()`, the Django middleware's first event, or the pytest plugin.
"""

from loopwatch.api import (
    current_monitor,
    install,
    is_installed,
    recent_stalls,
    stall_groups,
    subscribe,
    uninstall,
    watching,
)
from loopwatch.records import (
    CodeLine,
    HeldBy,
    LostExceptionRecord,
    Record,
    StallRecord,
    SyncOrmRecord,
    UnawaitedRecord,
)
from loopwatch.sinks import Sink

__all__ = [
    "CodeLine",
    "HeldBy",
    "LostExceptionRecord",
    "Record",
    "Sink",
    "StallRecord",
    "SyncOrmRecord",
    "UnawaitedRecord",
    "current_monitor",
    "install",
    "is_installed",
    "recent_stalls",
    "stall_groups",
    "subscribe",
    "uninstall",
    "watching",
]

__version__ = "0.1.0"
