"""Code that blocks the event loop on purpose, each blocking line tagged so tests can find it.

Every helper blocks the calling thread for about `seconds` in one specific way; the tag
comment `# blocks: NAME` marks the line loopwatch must name as the blocking line.
"""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__)


def tagged_line(name: str) -> int:
    """Line number of the line tagged `# blocks: name` in this file."""
    tag = f"# blocks: {name}"
    for number, text in enumerate(HERE.read_text("utf-8").splitlines(), start=1):
        if text.rstrip().endswith(tag):
            return number
    raise LookupError(tag)


def sleep_for(seconds: float) -> None:
    time.sleep(seconds)  # blocks: sleep


def spin_for(seconds: float) -> None:
    """Pure-Python CPU work until `seconds` have passed."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:  # blocks: cpu
        pass


def timed(block: Callable[[float], object], seconds: float) -> float:
    """Run `block(seconds)`; how long it really blocked (a busy machine may stretch it)."""
    start = time.perf_counter()
    block(seconds)
    return time.perf_counter() - start


def collect_garbage() -> None:
    gc.collect()  # blocks: gc


def hold_gil(number: int) -> int:
    """One long C call that never releases the GIL (sum over a range never checks for a switch)."""
    return sum(range(number))  # blocks: gil


def gil_holding_size(seconds: float) -> int:
    """How many numbers `hold_gil` must add up to take about `seconds` on this machine."""
    number = 1_000_000
    while True:
        start = time.perf_counter()
        hold_gil(number)
        took = time.perf_counter() - start
        if took >= 0.02:
            return int(number * seconds / took)
        number *= 4


class Peer:
    """A thread at the other end of a channel that answers each request after its delay.

    The request is the delay in milliseconds, as text ending in a newline; the answer is b"!".
    """

    def __init__(self, name: str, read: Callable[[], bytes], write: Callable[[bytes], object]):
        self._read = read
        self._write = write
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        buffered = b""
        while True:
            chunk = self._read()
            if not chunk:
                return
            buffered += chunk
            while b"\n" in buffered:
                request, buffered = buffered.split(b"\n", 1)
                time.sleep(int(request) / 1000)
                self._write(b"!")

    def join(self) -> None:
        self._thread.join(timeout=5)


class SocketPeer:
    """A 127.0.0.1 TCP listener thread; `recv_after(seconds)` blocks in `socket.recv`."""

    def __init__(self) -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        self.client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        listener.close()
        self._server = server
        self._peer = Peer("socket-peer", lambda: server.recv(64), server.sendall)

    def recv_after(self, seconds: float) -> bytes:
        self.client.sendall(b"%d\n" % round(seconds * 1000))
        return self.client.recv(1)  # blocks: recv

    def close(self) -> None:
        self.client.close()
        self._peer.join()
        self._server.close()


class PipePeer:
    """A writer thread behind a pipe; `read_after(seconds)` blocks in a file object's read."""

    def __init__(self) -> None:
        request_r, self._request_w = os.pipe()
        data_r, data_w = os.pipe()
        self.data = open(data_r, "rb", buffering=0)  # noqa: SIM115 (closed in close())
        self._request_r = request_r
        self._data_w = data_w
        self._peer = Peer(
            "pipe-peer", lambda: os.read(request_r, 64), lambda data: os.write(data_w, data)
        )

    def read_after(self, seconds: float) -> bytes | None:
        os.write(self._request_w, b"%d\n" % round(seconds * 1000))
        return self.data.read(1)  # blocks: read

    def close(self) -> None:
        os.close(self._request_w)
        self._peer.join()
        os.close(self._request_r)
        os.close(self._data_w)
        self.data.close()
