"""Starting detection for a Django site from its settings (called by the ASGI middleware)."""

from __future__ import annotations

import logging
from typing import Any

from loopwatch import api
from loopwatch.conf import get_config
from loopwatch.logsink import LogSink
from loopwatch.metrics import get_exporter

logger = logging.getLogger("loopwatch")


def start_detection() -> Any:
    """Install with the `LOOPWATCH` settings; returns the metrics server, if one was started."""
    config = get_config()
    if not config.enabled:
        return None
    monitor = api.install(config.threshold, buffer_size=config.buffer_size, log=False)
    if config.log and not any(isinstance(s, LogSink) for s in monitor.sinks):
        monitor.sinks.add(LogSink(interval=config.log_interval))
    monitor.sinks.add(get_exporter())
    if config.metrics_port is None:
        return None
    from loopwatch.metrics_server import start_metrics_server

    try:
        return start_metrics_server(config)
    except OSError as error:
        # Detection is running; only the separate port is missing. /loopwatch/metrics works.
        logger.error(
            "loopwatch: could not serve metrics on %s:%s (%s); detection runs, and "
            "/loopwatch/metrics still answers",
            config.metrics_address,
            config.metrics_port,
            error,
        )
        return None
