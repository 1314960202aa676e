"""Fixtures for the dashboard tests: the generated dashboard and a real Prometheus."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dashboard_model import DASHBOARDS
from promserver import PrometheusServer

from tests.servers import require_binary

# The generator lives next to what it generates, outside the loopwatch package.
if str(DASHBOARDS) not in sys.path:
    sys.path.insert(0, str(DASHBOARDS))


@pytest.fixture(scope="session")
def dashboard() -> dict[str, Any]:
    """The committed dashboard JSON."""
    model: dict[str, Any] = json.loads((DASHBOARDS / "loopwatch.json").read_text("utf-8"))
    return model


@pytest.fixture
def promtool() -> str:
    """Path of Debian's promtool (skips, or fails under LOOPWATCH_REQUIRE_REAL=1, without it)."""
    return require_binary("promtool")


@pytest.fixture(scope="module")
def start_prometheus(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], PrometheusServer]]:
    """Start a real Prometheus with the given config text; stopped after the module's tests."""
    binary = require_binary("prometheus")
    servers: list[PrometheusServer] = []

    def start(config_text: str) -> PrometheusServer:
        workdir = tmp_path_factory.mktemp("prometheus")
        server = PrometheusServer(binary, workdir, config_text)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
