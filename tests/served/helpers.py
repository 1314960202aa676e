"""Reading what a served site recorded: stalls.json and the metrics text."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.served.conftest import AUTH
from tests.servers import Server

VIEWS = "tests.testproject.views"


def records(server: Server, **params: str) -> list[dict[str, Any]]:
    response = server.get("/loopwatch/stalls.json", headers=AUTH, params=params)
    response.raise_for_status()
    stalls: list[dict[str, Any]] = response.json()["stalls"]
    return stalls


def wait_for_records(server: Server, count: int, **params: str) -> list[dict[str, Any]]:
    """Poll stalls.json until it holds `count` matching records (deadline 10 s)."""
    deadline = time.monotonic() + 10
    found = records(server, **params)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.05)  # polling interval
        found = records(server, **params)
    return found


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text; 0.0 when the series does not exist."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def metrics(server: Server) -> str:
    response = server.get("/loopwatch/metrics", headers=AUTH)
    response.raise_for_status()
    return response.text


def source_line(marker: str) -> int:
    """Line number of the test project's line carrying `# marker`."""
    from tests.testproject import views

    with open(views.__file__) as source:
        for number, line in enumerate(source, 1):
            if f"# {marker}" in line:
                return number
    raise LookupError(marker)
