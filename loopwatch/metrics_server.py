"""A separate metrics port, served by a thread: scrapes answer even while the loop is blocked.

    # settings.py
    LOOPWATCH = {"METRICS_PORT": 9108}        # METRICS_ADDRESS defaults to 127.0.0.1

    >>> server = start_metrics_server(get_config())    # the middleware does this at start-up
    >>> server.url                                     # http://127.0.0.1:9108/metrics
    >>> server.stop()

The endpoint at `loopwatch/metrics` is served by the event loop it reports on: a long stall
delays the scrape too, and Prometheus records a gap exactly when the numbers matter. This
server runs in its own thread (`http.server`), so it answers during a stall. Its gate: a
loopback client, a client address in `INTERNAL_IPS`, or `Authorization: Bearer <TOKEN>`;
anything else, and any other path, gets 404.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from loopwatch.access import address_listed, is_loopback, token_matches
from loopwatch.conf import Config
from loopwatch.metrics import exposition, get_exporter, multiprocess_dir

logger = logging.getLogger("loopwatch")


def scrape_allowed(client: str, authorization: str | None, token: str | None) -> bool:
    """Loopback, INTERNAL_IPS or the bearer token (DEBUG does not open a separate port)."""
    if is_loopback(client) or address_listed(client, settings.INTERNAL_IPS):
        return True
    return token_matches(authorization, token)


class _Handler(BaseHTTPRequestHandler):
    server: _MetricsHTTPServer
    server_version = "loopwatch"
    sys_version = ""

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/metrics" or not self._allowed():
            self._answer(404, b"Not found\n", "text/plain; charset=utf-8")
            return
        try:
            body, content_type = exposition(get_exporter(), self.headers.get("Accept"))
        except Exception:
            self._answer(500, b"loopwatch: could not encode metrics\n", "text/plain")
            raise
        self._answer(200, body, content_type)

    def _allowed(self) -> bool:
        return scrape_allowed(
            self.client_address[0], self.headers.get("Authorization"), self.server.token
        )

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # One line per scrape on stderr would drown the site's own logs.
        pass


class _MetricsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str | None) -> None:
        if ipaddress.ip_address(address[0]).version == 6:
            self.address_family = socket.AF_INET6
        self.token = token
        super().__init__(address, _Handler)


class MetricsServer:
    """A running metrics server; `stop()` closes the socket and joins the thread."""

    def __init__(self, address: str, port: int, token: str | None) -> None:
        self._httpd = _MetricsHTTPServer((address, port), token)
        self.address = address
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="loopwatch-metrics",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        """Close the socket and join the thread; a second call does nothing."""
        if not self._thread.is_alive():
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __repr__(self) -> str:
        return f"<MetricsServer {self.url}>"


def start_metrics_server(config: Config) -> MetricsServer | None:
    """Serve `/metrics` on `config.metrics_address`:`config.metrics_port` (0 picks a free port).

    With `PROMETHEUS_MULTIPROC_DIR` set, every worker process tries the same port and any one
    of them serves the sum over all: the workers that find it taken return None.
    """
    if config.metrics_port is None:
        raise ValueError("loopwatch: LOOPWATCH['METRICS_PORT'] is not set")
    try:
        return MetricsServer(config.metrics_address, config.metrics_port, config.token)
    except OSError as error:
        if error.errno == errno.EADDRINUSE and multiprocess_dir() is not None:
            logger.info(
                "loopwatch: metrics port %s is served by another worker", config.metrics_port
            )
            return None
        raise
