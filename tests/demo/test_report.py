"""The load driver's terminal report, built from a sample stalls.json document."""

from collections import Counter

from demo_site.driver.loopwatch_client import counter_by_view
from demo_site.driver.report import (
    ViewTraffic,
    format_duration,
    format_report,
    group_records,
)
from demo_site.driver.traffic import progress_bar

SLEEP = "demo_site.shop.views.mistakes.TimeSleepView"
ORM = "demo_site.shop.views.mistakes.SyncOrmView"
AWAIT = "demo_site.shop.views.mistakes.ForgottenAwaitView"
TASK = "demo_site.shop.views.mistakes.LostExceptionView"
GOOD = "demo_site.shop.views.correct.AsyncGetView"


def line(lineno: int, code: str, function: str = "get") -> dict[str, object]:
    return {"file": "demo_site/shop/views/mistakes.py", "line": lineno, "function": function,
            "code": code}  # fmt: skip


def stall(duration: float, cause: str) -> dict[str, object]:
    return {
        "kind": "stall",
        "view": SLEEP,
        "method": "GET",
        "path": "/mistakes/time-sleep/",
        "duration": duration,
        "at": "2026-11-24T10:00:00Z",
        "cause": cause,
        "delayed_requests": 3,
        "blocking_line": line(33, "time.sleep(0.2)"),
        "stack": [],
    }


DOCUMENT = {
    "threshold": 0.05,
    "stalls": [
        stall(0.2013, "io"),
        stall(0.2481, "io"),
        stall(0.2102, "io"),
        {"kind": "sync_orm", "outcome": "raised", "view": ORM,
         "sql": 'SELECT "shop_book"."id" FROM "shop_book"',
         "blocking_line": line(24, "books = list(Book.objects.all())"), "stack": []},
        {"kind": "sync_orm", "outcome": "raised", "view": ORM,
         "sql": 'SELECT "shop_book"."id" FROM "shop_book"',
         "blocking_line": line(24, "books = list(Book.objects.all())"), "stack": []},
        {"kind": "unawaited", "view": AWAIT, "coroutine": "_count_visit",
         "blocking_line": line(72, "_count_visit(request.path)"), "stack": []},
        {"kind": "lost_exception", "view": TASK, "exception": "ConnectionError",
         "blocking_line": line(79, 'raise ConnectionError(f"refused order {order}")',
                               "_send_receipt"), "stack": []},
    ],
}  # fmt: skip


def test_records_grouped_by_view_and_line() -> None:
    """Records of one kind from one view at one line form one group with count and worst."""
    groups = group_records(DOCUMENT["stalls"])
    assert [(g.kind, g.view, g.count) for g in groups] == [
        ("stall", SLEEP, 3),
        ("sync_orm", ORM, 2),
        ("unawaited", AWAIT, 1),
        ("lost_exception", TASK, 1),
    ]
    assert groups[0].worst == 0.2481
    assert groups[0].location == "demo_site/shop/views/mistakes.py:33"


def test_records_without_a_line_come_last_and_say_so() -> None:
    """A stall with no frame of the project's code is listed after those with a line."""
    lineless = {"kind": "stall", "view": GOOD, "duration": 0.09, "cause": "gc",
                "blocking_line": None, "stack": []}  # fmt: skip
    document = {"threshold": 0.05, "stalls": [lineless, lineless, *DOCUMENT["stalls"]]}
    stalls = [g for g in group_records(document["stalls"]) if g.kind == "stall"]
    assert [(g.view, g.count) for g in stalls] == [(SLEEP, 3), (GOOD, 2)]
    assert "(no line of the project's code on the stack)" in format_report(document)


def test_report_names_view_line_and_code_of_each_kind() -> None:
    """The report shows, for every kind, the view, its file:line and the line's code."""
    report = format_report(DOCUMENT)
    for view, where, code in [
        (SLEEP, ":33", "time.sleep(0.2)"),
        (ORM, ":24", "books = list(Book.objects.all())"),
        (AWAIT, ":72", "_count_visit(request.path)"),
        (TASK, ":79", 'raise ConnectionError(f"refused order {order}")'),
    ]:
        assert view in report
        assert f"at demo_site/shop/views/mistakes.py{where} in " in report
        assert code in report


def test_report_stall_row_has_count_worst_and_cause() -> None:
    """A stall group's row reads: count, worst duration, cause, requests delayed, view."""
    row = next(r for r in format_report(DOCUMENT).splitlines() if r.endswith(SLEEP))
    assert row.split() == ["3", "248", "ms", "io", "9", SLEEP]


def test_report_gives_the_pages_advice() -> None:
    """Each group carries the advice loopwatch's page shows, without the page's markup."""
    report = format_report(DOCUMENT)
    assert "-> time.sleep() blocks the whole loop: use await asyncio.sleep(...)." in report


def test_report_orm_section_shows_outcome_and_sql() -> None:
    """ORM calls on the loop show their outcome and the SQL without parameter values."""
    report = format_report(DOCUMENT)
    row = next(r for r in report.splitlines() if r.endswith(ORM))
    assert row.split() == ["2", "raised", ORM]
    assert 'sql: SELECT "shop_book"."id" FROM "shop_book"' in report


def test_report_shows_what_was_lost() -> None:
    """Never-awaited coroutines and never-retrieved exceptions are named in the report."""
    report = format_report(DOCUMENT)
    assert "Coroutines that were never awaited" in report
    assert "_count_visit" in report
    assert "Task exceptions that were never retrieved" in report
    assert "ConnectionError" in report


def test_views_table_joins_traffic_records_and_hops() -> None:
    """Each driven view gets one row: requests, statuses, its records, hops per request."""
    traffic = {
        GOOD: ViewTraffic("/good/async-get/", statuses=Counter({200: 10})),
        SLEEP: ViewTraffic("/mistakes/time-sleep/", mistake=True, statuses=Counter({200: 4})),
        ORM: ViewTraffic("/mistakes/sync-orm/", mistake=True, statuses=Counter({500: 5, 0: 1})),
    }
    report = format_report(DOCUMENT, traffic=traffic, hops={GOOD: 0, ORM: 12})
    rows = {r.split()[0]: r.split()[1:] for r in report.splitlines() if r.startswith("demo_site")}
    assert rows[GOOD] == ["correct", "10", "200x10", "0", "0", "0", "0.0"]
    assert rows[SLEEP] == ["mistake", "4", "200x4", "3", "0", "0", "0.0"]
    assert rows[ORM] == ["mistake", "6", "failedx1", "500x5", "0", "2", "0", "2.0"]


def test_empty_document_says_nothing_was_found() -> None:
    """A clean run says so instead of printing empty tables."""
    report = format_report({"threshold": 0.05, "stalls": []})
    assert "No stalls, no ORM calls on the loop" in report
    assert "threshold 50 ms" in report


def test_unreadable_document_is_not_reported_as_clean() -> None:
    """When stalls.json could not be read, the report says so and claims nothing was found."""
    traffic = {GOOD: ViewTraffic("/good/async-get/", statuses=Counter({200: 1}))}
    report = format_report(None, traffic=traffic)
    assert "stalls.json could not be read" in report
    assert "No stalls" not in report
    assert GOOD in report


def test_static_check_findings_are_listed() -> None:
    """Findings of manage.py check --tag loopwatch appear in their own section."""
    finding = "demo_site/shop/views/mistakes.py:99: (loopwatch.W001) awaits a sync get()"
    assert finding in format_report(DOCUMENT, checks=[finding])


def test_format_duration() -> None:
    """Durations read in milliseconds, with a decimal only below 10 ms."""
    assert format_duration(0.2013) == "201 ms"
    assert format_duration(0.0042) == "4.2 ms"
    assert format_duration(None) == "-"


def test_progress_bar() -> None:
    """The progress bar fills with elapsed time and never overflows."""
    assert progress_bar(5, 20, 100, width=20) == "[#####...............]   5.0/20 s  100 requests"
    assert progress_bar(25, 20, 7, width=4) == "[####]  20.0/20 s  7 requests"


def test_counter_by_view_reads_prometheus_text() -> None:
    """Counter samples are read per view from the metrics exposition."""
    text = (
        "# HELP loopwatch_thread_hops_total Hops.\n"
        "# TYPE loopwatch_thread_hops_total counter\n"
        'loopwatch_thread_hops_total{view="a.B"} 4.0\n'
        'loopwatch_thread_hops_total{view="c.D"} 2.0\n'
    )
    assert counter_by_view(text, "loopwatch_thread_hops_total") == {"a.B": 4.0, "c.D": 2.0}
