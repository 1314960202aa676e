"""The HTML page: groups by view and blocking line, causes, hints, anchors, filters, escaping."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from pytest_django import Settings

from loopwatch.monitor import Monitor
from loopwatch.records import CodeLine

from .factories import ORM_LINE, SLEEP_LINE, VIEW, gil_stall, lost_exception, stall, sync_orm
from .factories import unawaited as unawaited_record
from .htmltree import Element, parse

pytestmark = pytest.mark.usefixtures("open_gate")

HOSTILE = "<script>alert(1)</script>"


def get_page(client: Client, query: str = "") -> Element:
    response = client.get("/loopwatch/" + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return parse(response.content.decode())


def groups(doc: Element) -> list[Element]:
    return doc.find_all("section", cls="group")


def test_stalls_grouped_by_view_and_line(client: Client, monitor: Monitor) -> None:
    """Stalls at the same line of the same view form one group with their count and worst."""
    other_line = CodeLine("shop/views.py", 88, "get", "data = requests.get(url)")
    for seconds in (0.12, 0.31, 0.2):
        monitor.publish(stall(duration=seconds))
    monitor.publish(stall(blocking_line=other_line, duration=0.07))

    found = groups(get_page(client))

    assert len(found) == 2
    first, second = (section.text() for section in found)
    assert VIEW in first
    assert "3\N{MULTIPLICATION SIGN}" in first
    assert "worst 310 ms" in first
    assert "shop/views.py:42 get: time.sleep(0.1)" in first
    assert "1\N{MULTIPLICATION SIGN}" in second
    assert "worst 70 ms" in second
    assert "shop/views.py:88 get: data = requests.get(url)" in second


def test_group_shows_cause_delays_and_threshold(client: Client, monitor: Monitor) -> None:
    """A group says what kind of blocking it was and how many requests waited on it."""
    monitor.publish(stall(cause="io", delayed_requests=2))
    monitor.publish(stall(cause="io", delayed_requests=3))

    doc = get_page(client)

    assert "at least 50 ms" in doc.text()
    text = groups(doc)[0].text()
    assert "io" in [span.text() for span in groups(doc)[0].find_all("span", cls="cause")]
    assert "delayed 5 requests" in text


def test_gil_stall_names_the_holder(client: Client, monitor: Monitor) -> None:
    """A GIL stall names the thread that held the GIL and the line it was running."""
    holder = CodeLine("shop/reports.py", 19, "crunch", "total += row.price * row.qty")
    monitor.publish(gil_stall("report-worker", holder, duration=0.4))

    text = groups(get_page(client))[0].text()

    assert "GIL held by report-worker at shop/reports.py:19" in text
    assert "gil" in text


@pytest.mark.parametrize(
    ("publish", "advice"),
    [
        (lambda m: m.publish(stall()), "await asyncio.sleep(...)"),
        (
            lambda m: m.publish(
                stall(blocking_line=CodeLine("a.py", 3, "get", "r = requests.get(url)"))
            ),
            "httpx.AsyncClient",
        ),
        (
            lambda m: m.publish(
                stall(blocking_line=CodeLine("a.py", 3, "get", "total = fib(30)"), cause="cpu")
            ),
            "asyncio.to_thread",
        ),
        (lambda m: m.publish(sync_orm()), "aget(...)"),
        (lambda m: m.publish(sync_orm()), "sync_to_async"),
        (lambda m: m.publish(unawaited_record()), "await"),
        (lambda m: m.publish(lost_exception()), "asyncio.TaskGroup"),
    ],
)
def test_each_group_has_a_hint(client: Client, monitor: Monitor, publish, advice: str) -> None:  # type: ignore[no-untyped-def]
    """Each group tells the reader what to change, in terms of the call that blocked."""
    publish(monitor)

    hint = groups(get_page(client))[0].find_all("p", cls="hint")[0]

    assert advice in hint.text()


def test_sync_orm_group_shows_outcome_and_sql(client: Client, monitor: Monitor) -> None:
    """A flagged ORM call shows where it was made, whether Django raised, and its SQL."""
    monitor.publish(sync_orm(outcome="raised"))
    monitor.publish(sync_orm(outcome="allowed"))

    text = groups(get_page(client))[0].text()

    assert "sync ORM call" in text
    assert f"{ORM_LINE.file}:{ORM_LINE.line} get: {ORM_LINE.code}" in text
    assert "allowed \N{MULTIPLICATION SIGN}1" in text
    assert "raised \N{MULTIPLICATION SIGN}1" in text
    assert 'WHERE "shop_book"."id" = %s' in text


def test_unawaited_and_lost_exception_are_listed(client: Client, monitor: Monitor) -> None:
    """Never-awaited coroutines and lost task exceptions get their own groups."""
    monitor.publish(unawaited_record())
    monitor.publish(lost_exception())

    texts = [section.text() for section in groups(get_page(client))]

    assert any("never awaited" in t and "shop.mail.send_receipt" in t for t in texts)
    assert any("lost exception" in t and "ValueError: card declined" in t for t in texts)


def test_every_record_has_an_anchor_and_its_stack(client: Client, monitor: Monitor) -> None:
    """`#stall-<id>` finds each record, which points at its stack in expandable details."""
    records = [stall(duration=0.1 + i / 100) for i in range(3)]
    for record in records:
        monitor.publish(record)

    doc = get_page(client)

    for record in records:
        item = doc.by_id(f"stall-{record.id}")
        assert item is not None
        stack = doc.by_id(item.attrs["data-stack"])
        assert stack is not None
        assert stack.tag == "details"
        frames = stack.find_all("li")
        assert [f.text() for f in frames][-1] == "shop/views.py:42 get time.sleep(0.1)"
        assert frames[-1].attrs["class"] == "blocking"
        assert frames[0].attrs["class"] == "lib"
    assert len(doc.find_all("details", cls="group-records")) == 1


def test_shared_stacks_are_shown_once(client: Client, monitor: Monitor) -> None:
    """Records with the same stack share one stack listing, which says how many they are."""
    other_caller = CodeLine("shop/helpers.py", 5, "helper", "return view(request)")
    same = [stall() for _ in range(3)]
    different = stall(stack=(other_caller, SLEEP_LINE))
    for record in [*same, different]:
        monitor.publish(record)

    section = groups(get_page(client))[0]

    stacks = section.find_all("details", cls="stack")
    assert len(stacks) == 2
    summaries = [s.find_all("summary")[0].text() for s in stacks]
    assert summaries == ["stack 1 · 2 frames · 1 record", "stack 2 · 2 frames · 3 records"]


def test_view_filter(client: Client, monitor: Monitor) -> None:
    """`?view=` shows only that view, and the select offers every view with it selected."""
    monitor.publish(stall(view="shop.views.A"))
    monitor.publish(stall(view="shop.views.B"))

    doc = get_page(client, "?view=shop.views.B")

    assert [g.find_all("a", cls="view")[0].text() for g in groups(doc)] == ["shop.views.B"]
    select = next(s for s in doc.find_all("select") if s.attrs["name"] == "view")
    options = {o.attrs["value"]: "selected" in o.attrs for o in select.find_all("option")}
    assert options == {"": False, "shop.views.A": False, "shop.views.B": True}


def test_kind_filter(client: Client, monitor: Monitor) -> None:
    """`?kind=sync_orm` shows only flagged ORM calls."""
    monitor.publish(stall())
    monitor.publish(sync_orm())

    found = groups(get_page(client, "?kind=sync_orm"))

    assert len(found) == 1
    assert "kind-sync_orm" in found[0].attrs["class"]


def test_hostile_values_render_as_text(client: Client, monitor: Monitor) -> None:
    """Request paths, view names, SQL and code are shown as text, never as markup."""
    hostile_line = CodeLine(f"x{HOSTILE}.py", 1, f"f{HOSTILE}", f"print('{HOSTILE}')")
    record = stall(
        path=f"/{HOSTILE}", view="v<img src=x onerror=alert(2)>", blocking_line=hostile_line
    )
    monitor.publish(record)
    monitor.publish(sync_orm(sql=f"SELECT '{HOSTILE}'", view=f"w{HOSTILE}"))
    monitor.publish(gil_stall(f"t{HOSTILE}", hostile_line))

    response = client.get("/loopwatch/")
    html = response.content.decode()
    doc = parse(html)

    assert HOSTILE not in html
    assert "<img" not in html
    assert [s.attrs.get("nonce") for s in doc.find_all("script")] == [
        _nonce(response["Content-Security-Policy"])
    ]
    assert doc.find_all("img") == []
    item = doc.by_id(f"stall-{record.id}")
    assert item is not None
    assert f"/{HOSTILE}" in item.text()  # shown, as text
    assert "&lt;script&gt;" in html


def test_hostile_filter_value_is_escaped(client: Client, monitor: Monitor) -> None:
    """A `?view=` value is echoed only as text."""
    doc_html = client.get("/loopwatch/", {"view": '"><script>alert(3)</script>'}).content
    assert b"<script>alert(3)" not in doc_html


def _nonce(policy: str) -> str:
    match = re.search(r"script-src 'nonce-([^']+)'", policy)
    assert match is not None
    return match.group(1)


def test_policy_allows_only_the_page_own_script(client: Client, monitor: Monitor) -> None:
    """The Content-Security-Policy lets only the page's own nonce-tagged script and style run."""
    response = client.get("/loopwatch/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    doc = parse(response.content.decode())
    nonce = _nonce(policy)
    assert [s.attrs["nonce"] for s in doc.find_all("style")] == [nonce]
    assert client.get("/loopwatch/")["Content-Security-Policy"] != policy  # fresh per response


def test_empty_page_says_nothing_was_recorded(client: Client, monitor: Monitor) -> None:
    """With no records, the page says so and names the threshold."""
    doc = get_page(client)
    assert groups(doc) == []
    assert "Nothing recorded yet" in doc.text()


def test_page_says_when_detection_is_not_running(client: Client) -> None:
    """Without a running monitor the page explains that detection has not started."""
    assert "Detection is not running in this process" in get_page(client).text()


def test_page_works_without_a_templates_setting(
    client: Client, monitor: Monitor, settings: Settings
) -> None:
    """The page renders with its own engine, so projects without TEMPLATES still get it."""
    settings.TEMPLATES = []
    monitor.publish(stall())
    assert len(groups(get_page(client))) == 1
