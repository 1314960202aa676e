"""Starting detection for a Django site from its settings (called by the ASGI middleware)."""

from __future__ import annotations

from typing import Any

from loopwatch import api
from loopwatch.conf import get_config
from loopwatch.logsink import LogSink
from loopwatch.metrics import get_exporter


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

    return start_metrics_server(config)
