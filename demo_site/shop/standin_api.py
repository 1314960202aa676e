"""A local stand-in for the guide's external API: a small ratings service.

The guide calls ``https://api.github.com``; this machine has no internet, so the demo serves its
own "external" API from a thread of the same process. It runs on that thread, not on the event
loop, on purpose: the blocking-library mistake view calls it with ``requests.get`` *on* the loop,
and an endpoint served by that same loop could never answer while the loop waits for it.
"""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# Each answer takes about as long as a round trip to a real API.
LATENCY = 0.1


def rating_for(isbn: str) -> dict[str, object]:
    """The ratings the service reports for ``isbn``: made up, but stable across runs."""
    digest = hashlib.sha256(isbn.encode()).digest()
    return {"isbn": isbn, "stars": round(3 + digest[0] / 128, 1), "reviews": 10 + digest[1]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when a view calls it 12 times at once.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    server_version = "ratings-standin/1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/status":
            payload: dict[str, object] = {"service": "ratings", "status": "ok"}
        elif url.path == "/ratings":
            payload = rating_for(parse_qs(url.query).get("isbn", [""])[0])
        else:
            self.send_error(404)
            return
        time.sleep(LATENCY)  # on this server's own thread, never on the event loop
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The site's own log is about the site; the stand-in stays quiet.
        pass


_lock = threading.Lock()
_server: _Server | None = None


def base_url() -> str:
    """The stand-in's address, starting it on first use (127.0.0.1, a free port)."""
    global _server
    with _lock:
        if _server is None:
            server = _Server(("127.0.0.1", 0), _Handler)
            threading.Thread(
                target=server.serve_forever, name="ratings-standin", daemon=True
            ).start()
            _server = server
        host, port = _server.server_address[:2]
    return f"http://{host}:{port}"
