"""The debug toolbar panel, against the real toolbar under uvicorn and in headless Chromium."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import httpx
import pytest

from tests.browser import dump_dom, keep_for_docs, screenshot
from tests.servers import ROOT, Server

from .conftest import serve

pytestmark = [pytest.mark.real_server]

VIEWS = Path(__file__).with_name("views.py")
PANEL = "LoopwatchPanel"


def source_line(marker: str) -> int:
    """The line number of the statement tagged `# <marker>` in the toolbar test views."""
    for number, text in enumerate(VIEWS.read_text().splitlines(), start=1):
        if text.rstrip().endswith(f"# {marker}"):
            return number
    raise AssertionError(f"no line tagged {marker} in {VIEWS}")


def panel_html(site: Server, path: str) -> str:
    """Load `path`, then fetch the panel the way the toolbar's script does (render_panel)."""
    page = site.get(path)
    assert page.status_code == 200, site.log()
    match = re.search(r'data-request-id="([0-9a-f]+)"', page.text)
    assert match, "the toolbar was not inserted into the page"
    rendered = site.get(
        "/__debug__/render_panel/", params={"request_id": match.group(1), "panel_id": PANEL}
    )
    assert rendered.status_code == 200, site.log()
    content: str = rendered.json()["content"]
    return content


def milliseconds(content: str, element_id: str) -> float:
    match = re.search(rf'id="{element_id}">([0-9.]+) ms<', content)
    assert match, f"no {element_id} in the panel"
    return float(match.group(1))


@pytest.mark.flaky(reruns=2)  # the stall must be sampled mid-step; see tests/core
def test_panel_shows_the_blocking_line_and_the_orm_call(toolbar_site: Server) -> None:
    """The panel of an async view that sleeps names the sleep's line, and flags its ORM call."""
    content = panel_html(toolbar_site, "/toolbar/blocking/?s=0.15")
    sleep_line = source_line("TOOLBAR_SLEEP_LINE")
    orm_line = source_line("TOOLBAR_ORM_LINE")
    # A first request to a fresh process may stall once more while Django loads templates:
    # that is a real stall too, so only the sleep's own row is pinned down.
    where = f"tests/toolbar/views.py:{sleep_line} in get"
    (stall,) = [row for row in stall_rows(content) if where in row]
    assert "time.sleep(" in html.unescape(stall)
    # The row links to the same record on the loopwatch page.
    link = re.search(r'href="/loopwatch/#stall-(\d+)"[^>]*>stall #(\d+)<', stall)
    assert link, stall
    assert link.group(1) == link.group(2)
    duration = float(re.search(r"<td>([0-9.]+) ms</td>", stall).group(1))  # type: ignore[union-attr]
    assert 150 <= duration < 1000
    orm = re.findall(r'<tr class="loopwatch-orm-call">.*?</tr>', content, re.S)
    assert len(orm) == 1, content
    assert f"tests/toolbar/views.py:{orm_line}" in orm[0]
    assert "raised SynchronousOnlyOperation" in orm[0]
    assert "testproject_item" in html.unescape(orm[0])
    loop = milliseconds(content, "loopwatch-loop-time")
    wall = milliseconds(content, "loopwatch-wall-time")
    assert loop >= duration - 0.1
    assert wall >= loop


def stall_rows(content: str) -> list[str]:
    return re.findall(r'<tr class="loopwatch-stall".*?</tr>', content, re.S)


def test_panel_of_a_calm_view_lists_no_stall(toolbar_site: Server) -> None:
    """A view that only awaits shows no stall of its own, no ORM call, and little loop time."""
    content = panel_html(toolbar_site, "/toolbar/calm/")
    # Only the test views' lines are pinned: a loaded machine may stall anywhere, for real.
    assert not [row for row in stall_rows(content) if "tests/toolbar/views.py" in row]
    assert "No ORM call ran on the event-loop thread" in content
    assert milliseconds(content, "loopwatch-loop-time") < 100


def hop_rows(content: str) -> list[str]:
    return re.findall(r'<tr class="loopwatch-hop-maker">.*?</tr>', content, re.S)


def test_panel_counts_the_thread_hops_and_names_who_made_them(toolbar_site: Server) -> None:
    """Two sync_to_async calls in the view are two hops, credited to the view's line."""
    where = f"tests/toolbar/views.py:{source_line('TOOLBAR_HOP_LINE')}"
    content = panel_html(toolbar_site, "/toolbar/hopping/")
    (row,) = [row for row in hop_rows(content) if where in row]
    assert "<td>2</td>" in row
    assert "time.monotonic" in row
    # The toolbar hops too (its show_toolbar callback, its SQL panel): those are counted,
    # and named, as they would be in any request it instruments.
    total = re.search(r'id="loopwatch-hops">(\d+)<', content)
    assert total
    counts = [int(re.search(r"<td>(\d+)</td>", r).group(1)) for r in hop_rows(content)]  # type: ignore[union-attr]
    assert int(total.group(1)) == sum(counts) >= 2
    calm = panel_html(toolbar_site, "/toolbar/calm/")
    assert not [row for row in hop_rows(calm) if where in row]


def test_each_request_shows_only_its_own_stalls(toolbar_site: Server) -> None:
    """A calm request made after a blocking one does not inherit the blocking one's stall."""
    sleep_line = f"tests/toolbar/views.py:{source_line('TOOLBAR_SLEEP_LINE')}"
    blocking = panel_html(toolbar_site, "/toolbar/blocking/?s=0.1")
    calm = panel_html(toolbar_site, "/toolbar/calm/")
    assert [row for row in stall_rows(blocking) if sleep_line in row]
    assert not [row for row in stall_rows(calm) if sleep_line in row]


def test_chromium_renders_the_panel_with_the_blocking_line(
    browser_site: Server, chromium: list[str]
) -> None:
    """In a real browser, opening the panel shows the stall's duration and blocking line."""
    url = f"{browser_site.url}/toolbar/blocking/?s=0.15&open={PANEL}"
    dom = dump_dom(chromium, url)
    match = re.search(r'<pre id="panel-text" hidden="">(.*?)</pre>', dom, re.S)
    assert match, dom[-2000:]
    text = html.unescape(match.group(1))
    assert re.search(r"Steps that held the loop \(\d+\)", text), text
    assert f"tests/toolbar/views.py:{source_line('TOOLBAR_SLEEP_LINE')} in get" in text
    assert "raised SynchronousOnlyOperation" in text


def test_chromium_screenshot_of_the_open_panel(
    browser_site: Server, chromium: list[str], tmp_path: Path
) -> None:
    """The open panel makes a real screenshot (kept in docs/ with LOOPWATCH_SCREENSHOTS=1)."""
    url = f"{browser_site.url}/toolbar/blocking/?s=0.15&open={PANEL}"
    keep_for_docs(screenshot(chromium, url, tmp_path / "shot.png"), "toolbar-panel.png")


def test_site_works_without_the_toolbar_installed(tmp_path: Path) -> None:
    """With debug_toolbar not importable, the plain test project serves and records as before."""
    # A package that fails to import, first on the path: as if the toolbar were not installed.
    shadow = tmp_path / "no-toolbar"
    (shadow / "debug_toolbar").mkdir(parents=True)
    (shadow / "debug_toolbar" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'debug_toolbar'\", name='debug_toolbar')\n"
    )
    path = os.pathsep.join(filter(None, [str(shadow), str(ROOT), os.environ.get("PYTHONPATH")]))
    with serve(tmp_path, "tests.testproject.settings", PYTHONPATH=path) as site:
        response = site.get("/sleep/?s=0.08")
        assert response.status_code == 200
        assert response.text.startswith("slept")
        records = httpx.get(
            site.url + "/loopwatch/stalls.json",
            headers={"Authorization": "Bearer test-token-0123456789abcdef"},
            timeout=30,
        ).json()["stalls"]
        assert any(
            r["kind"] == "stall" and r["view"] == "tests.testproject.views.SleepView"
            for r in records
        )
        assert "debug_toolbar" not in site.log()
