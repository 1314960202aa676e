"""A real headless Chromium reads the page of a real server: escaped text, working anchors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium_command, dump_dom, keep_for_docs, screenshot
from tests.servers import Server

from .htmltree import Element, parse
from .realserver import SLEEP_VIEW, serving, wait_for_record

pytestmark = [pytest.mark.real_server, pytest.mark.needs_chromium]

HOSTILE = "<script>alert(1)</script>"
HOSTILE_URL = "/anypath/%3Cscript%3Ealert(1)%3C/script%3E"
WINDOW = (1280, 900)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """DEBUG on (the page opens to the browser), a few kinds of stall already recorded."""
    db = tmp_path_factory.mktemp("browser-db") / "db.sqlite3"
    with serving("asyncio", db, LOOPWATCH_TEST_DEBUG="1") as (running, _):
        for path in ["/sleep/?s=0.12", "/sleep/?s=0.3", "/cpu/?s=0.15", "/cpu/?s=0.08"]:
            running.get(path)
        running.get("/orm/sync/")
        running.get("/stream/")
        running.get(HOSTILE_URL)
        yield running


@pytest.fixture
def chromium(tmp_path: Path) -> list[str]:
    """Chromium's headless command line with a fresh profile."""
    return chromium_command(tmp_path)


def hostile_record(server: Server) -> dict[str, Any]:
    return wait_for_record(server, lambda r: r["path"] == f"/anypath/{HOSTILE}")


def test_hostile_path_is_shown_as_text(server: Server, chromium: list[str]) -> None:
    """A request path holding a script tag appears as text: no element was injected."""
    record = hostile_record(server)

    doc = parse(dump_dom(chromium, server.url + "/loopwatch/"))

    scripts = doc.find_all("script")
    assert len(scripts) == 1
    assert "alert(1)" not in scripts[0].text()
    row = doc.by_id(f"stall-{record['id']}")
    assert row is not None
    assert f"GET /anypath/{HOSTILE}" in row.text()
    assert row.find_all("script") == []


def test_record_anchor_opens_the_record_and_its_stack(server: Server, chromium: list[str]) -> None:
    """Opening `loopwatch/#stall-<id>` (an exemplar link) expands that record and its stack."""
    record = wait_for_record(server, lambda r: r["view"] == SLEEP_VIEW)

    doc = parse(dump_dom(chromium, f"{server.url}/loopwatch/#stall-{record['id']}"))

    row = doc.by_id(f"stall-{record['id']}")
    assert row is not None
    assert "open" in _enclosing_details(doc, row).attrs
    stack = doc.by_id(row.attrs["data-stack"])
    assert stack is not None
    assert "open" in stack.attrs
    blocking = stack.find_all("li", cls="blocking")
    line = record["blocking_line"]
    expected = f"{line['file']}:{line['line']} {line['function']} {line['code']}"
    assert [li.text() for li in blocking] == [" ".join(expected.split())]


def test_page_screenshot(server: Server, chromium: list[str], tmp_path: Path) -> None:
    """The page renders in a 1280x900 window (LOOPWATCH_SCREENSHOTS=1 updates docs/)."""
    hostile_record(server)  # every request of the fixture has been recorded

    data = screenshot(chromium, f"{server.url}/loopwatch/", tmp_path / "page.png", WINDOW)

    keep_for_docs(data, "screenshot-page.png")


def _enclosing_details(doc: Element, target: Element) -> Element:
    for details in doc.find_all("details"):
        if target in details.iter():
            return details
    raise AssertionError("the record is not inside a <details>")
