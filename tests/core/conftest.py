"""Fixtures for the core tests: the same test on stock asyncio and on uvloop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from blockers import PipePeer, SocketPeer
from watched import LOOP_KINDS, Main, run_plain, run_watched

from loopwatch import StallRecord


@pytest.fixture(params=LOOP_KINDS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    """Which event loop the test runs on."""
    return str(request.param)


@pytest.fixture
def run(loop_kind: str) -> Callable[[Main, float], list[StallRecord]]:
    """`run(main, threshold)` runs `main()` watched on this test's loop and returns its stalls."""
    return lambda main, threshold: run_watched(loop_kind, main, threshold)


@pytest.fixture
def run_loop(loop_kind: str) -> Callable[[Main], Any]:
    """`run_loop(main)` runs `main()` on this test's loop, without turning loopwatch on."""
    return lambda main: run_plain(loop_kind, main)


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
