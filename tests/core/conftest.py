"""Fixtures for the core tests: the same test on stock asyncio and on uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import uvloop
from blockers import PipePeer, SocketPeer

import loopwatch
from loopwatch import StallRecord

Main = Callable[[], Awaitable[Any]]


def run_watched(loop_kind: str, main: Main, threshold: float) -> list[StallRecord]:
    """Run `main()` with loopwatch on, as a user would on that loop; stalls, oldest first.

    Stock asyncio: `watching()` around `asyncio.run`. uvloop: `install()` inside the running
    loop (that sets the task factory), then `main()` in a task created afterwards.
    """
    if loop_kind == "asyncio":
        with loopwatch.watching(threshold=threshold):
            asyncio.run(main())
            records = loopwatch.recent_stalls()
    else:

        async def in_uvloop() -> list[loopwatch.Record]:
            loopwatch.install(threshold=threshold)
            try:
                await asyncio.get_running_loop().create_task(main())
                return loopwatch.recent_stalls()
            finally:
                loopwatch.uninstall()

        records = uvloop.run(in_uvloop())
    return [r for r in reversed(records) if isinstance(r, StallRecord)]


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    """Which event loop the test runs on."""
    return str(request.param)


@pytest.fixture
def run(loop_kind: str) -> Callable[[Main, float], list[StallRecord]]:
    """`run(main, threshold)` runs `main()` watched on this test's loop and returns its stalls."""
    return lambda main, threshold: run_watched(loop_kind, main, threshold)


@pytest.fixture
def socket_peer() -> Iterator[SocketPeer]:
    """A connected 127.0.0.1 peer that answers each request after the asked delay."""
    peer = SocketPeer()
    yield peer
    peer.close()


@pytest.fixture
def pipe_peer() -> Iterator[PipePeer]:
    """A pipe whose writer thread writes a byte after the asked delay."""
    peer = PipePeer()
    yield peer
    peer.close()
