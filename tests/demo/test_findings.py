"""What loopwatch finds in the demo site: nothing in the correct views, each mistake at its line.

These talk to the real demo site (uvicorn, real HTTP) and read loopwatch's own endpoints.
"""

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ROOT, DemoServer, demo_env
from .expected import (
    CORRECT,
    CORRECT_PATHS,
    GUIDE_TEMPLATE_VIEW,
    MISTAKE_LINES,
    MISTAKES,
    MISTAKES_FILE,
    MistakeLine,
)

pytestmark = pytest.mark.real_server


def stalls_document(server: DemoServer) -> dict[str, Any]:
    response = server.get("/loopwatch/stalls.json")
    assert response.status_code == 200, response.text[:500]
    document: dict[str, Any] = response.json()
    return document


def poll_records(
    server: DemoServer, wanted: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The records ``wanted`` accepts, polling stalls.json until there is one (or the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in stalls_document(server)["stalls"] if wanted(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)  # polling interval


def request_all(server: DemoServer, paths: list[str], rounds: int) -> None:
    """Request every path ``rounds`` times, one after another, and expect 200 each time.

    One at a time on purpose: a client hammering from this process would compete with the
    server for the machine's two cores, and a loop thread that loses its core mid-step is a
    stall loopwatch rightly reports, but not one the view's code caused.
    """
    statuses = [server.get(path).status_code for _ in range(rounds) for path in paths]
    assert set(statuses) == {200}


def test_correct_views_cause_no_stalls_and_no_orm_flags(demo_server: DemoServer) -> None:
    """The correct views' own code never holds the loop and never touches the ORM on it.

    A stall is held against the view when its blocking line is in the demo's code and it was
    not a garbage collection: steps that only Django, asgiref or the collector made slow are
    charged to the view they ran in, but they are not the view's code blocking.
    """
    request_all(demo_server, CORRECT_PATHS, rounds=3)
    demo_server.request("POST", "/good/form/")
    records = [r for r in stalls_document(demo_server)["stalls"] if r["view"].startswith(CORRECT)]
    assert [r for r in records if r["kind"] != "stall"] == []
    own = [
        (r["view"], r["duration"], r["cause"], r["blocking_line"])
        for r in records
        if r["cause"] != "gc"
        and (r.get("blocking_line") or {}).get("file", "").startswith("demo_site/")
    ]
    assert own == []


@pytest.mark.parametrize("mistake", MISTAKE_LINES, ids=[m.view for m in MISTAKE_LINES])
def test_mistake_recorded_at_its_line(demo_server: DemoServer, mistake: MistakeLine) -> None:
    """Each mistake view shows up in stalls.json with its kind and its exact blocking line."""
    for _ in range(2):
        demo_server.get(mistake.path)
    records = poll_records(demo_server, lambda r: r["view"] == mistake.dotted)
    assert records, f"no record for {mistake.dotted} in stalls.json"
    named = {(r["kind"], r["blocking_line"]["file"], r["blocking_line"]["line"],
              r["blocking_line"]["code"]) for r in records if r.get("blocking_line")}  # fmt: skip
    assert (mistake.kind, MISTAKES_FILE, mistake.line, mistake.code) in named


def test_time_sleep_stall_lasts_the_sleep(demo_server: DemoServer) -> None:
    """The time.sleep(0.2) stall is measured at its full length, not cut at the threshold."""
    demo_server.get("/mistakes/time-sleep/")
    records = poll_records(
        demo_server, lambda r: r["view"] == MISTAKES + "TimeSleepView" and r["kind"] == "stall"
    )
    assert max(r["duration"] for r in records) >= 0.2


def hops_by_view(server: DemoServer) -> dict[str, float]:
    response = server.get("/loopwatch/metrics")
    assert response.status_code == 200
    hops: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "loopwatch_thread_hops_total":
                hops[sample.labels["view"]] = sample.value
    return hops


def test_sync_middleware_view_hops_threads(demo_server: DemoServer) -> None:
    """The view behind sync middleware makes thread hops on every request; a plain async view
    makes none."""
    before = hops_by_view(demo_server)
    for _ in range(3):
        demo_server.get("/mistakes/sync-middleware/")
        demo_server.get("/good/async-get/")
    after = hops_by_view(demo_server)
    behind = MISTAKES + "SyncMiddlewareView"
    plain = CORRECT + "AsyncGetView"
    assert after[behind] - before.get(behind, 0) >= 2 * 3
    assert after.get(plain, 0) - before.get(plain, 0) == 0


def test_static_check_names_the_guide_examples(tmp_path: Path) -> None:
    """manage.py check --tag loopwatch points at both of the guide's await-super() lines."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "demo_site" / "manage.py"), "check", "--tag", "loopwatch"],
        cwd=ROOT,
        env=demo_env(tmp_path / "db.sqlite3"),
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    detail_view = next(m for m in MISTAKE_LINES if m.view == "GuideDetailView")
    for mistake in (GUIDE_TEMPLATE_VIEW, detail_view):
        assert re.search(rf"{re.escape(MISTAKES_FILE)}:{mistake.line}\b", output), output
