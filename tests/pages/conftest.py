"""Fixtures for the page, stalls.json and metrics tests: a running monitor and an open gate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django import Settings

import loopwatch
from loopwatch.monitor import Monitor

# The address Django's test client sends as REMOTE_ADDR unless told otherwise.
TEST_CLIENT_ADDRESS = "127.0.0.1"
OUTSIDER = "203.0.113.7"  # TEST-NET-3: never one of ours


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    """loopwatch installed (no log output) for one test, uninstalled after it."""
    if loopwatch.is_installed():
        pytest.fail("loopwatch was left installed by an earlier test")
    installed = loopwatch.install(threshold=0.05, log=False)
    try:
        yield installed
    finally:
        loopwatch.uninstall()


@pytest.fixture
def open_gate(settings: Settings) -> Settings:
    """The test client's address listed in INTERNAL_IPS, so the endpoints answer."""
    settings.INTERNAL_IPS = [TEST_CLIENT_ADDRESS]
    return settings
