"""The test project under a real uvicorn, with loopwatch's endpoints read over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import ROOT, Server, free_port, start_uvicorn

APP = "tests.testproject.asgi:application"
TOKEN = "test-token-0123456789abcdef"  # tests/testproject/settings.py
AUTH = {"Authorization": f"Bearer {TOKEN}"}
VIEWS_FILE = "tests/testproject/views.py"
SLEEP_VIEW = "tests.testproject.views.SleepView"


def marked_line(relative: str, marker: str) -> tuple[int, str]:
    """Line number and stripped text of the line carrying `# marker` in a file of the repo."""
    lines = (ROOT / relative).read_text().splitlines()
    for number, text in enumerate(lines, start=1):
        if text.rstrip().endswith(f"# {marker}"):
            return number, text.strip()
    raise AssertionError(f"no line marked {marker} in {relative}")


@contextmanager
def serving(loop: str, db: Path, **env: str) -> Iterator[tuple[Server, int]]:
    """The test project (plus a route for any path) and its separate metrics port."""
    metrics_port = free_port()
    environment = {
        "DJANGO_SETTINGS_MODULE": "tests.pages.server_settings",
        "LOOPWATCH_TEST_DB": str(db),
        "LOOPWATCH_TEST_DEBUG": "0",
        "LOOPWATCH_TEST_METRICS_PORT": str(metrics_port),
        **env,
    }
    with start_uvicorn(APP, loop=loop, env=environment, ready_path="/fast/") as server:
        yield server, metrics_port


def stalls(server: Server, **params: str) -> list[dict[str, Any]]:
    response = server.get("/loopwatch/stalls.json", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["stalls"]
    return found


def wait_for_record(
    server: Server, match: Callable[[dict[str, Any]], bool], deadline: float = 10.0
) -> dict[str, Any]:
    """Poll stalls.json until a record matches (records are published as a step ends)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for record in stalls(server):
            if match(record):
                return record
        time.sleep(0.05)  # polling interval
    pytest.fail(f"no matching record within {deadline} s: {stalls(server)}\n{server.log()}")


def sample_value(text: str, name: str, labels: dict[str, str]) -> float | None:
    """The value of one sample in a text exposition, or None when it is absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def get_metrics(url: str, **kwargs: Any) -> str:
    response = httpx.get(url, timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    return response.text
