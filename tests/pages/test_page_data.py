"""Grouping and advice behind the page, independent of HTML."""

from __future__ import annotations

from loopwatch.buffer import RecordBuffer
from loopwatch.hints import hint_text
from loopwatch.page import MAX_CALL_PATHS, build_groups, format_seconds
from loopwatch.records import CodeLine

from .factories import SLEEP_LINE, stall


def test_counts_include_records_that_left_the_ring() -> None:
    """A group's count and worst cover every record seen, not only those still kept."""
    buffer = RecordBuffer(maxlen=2)
    worst = stall(duration=0.9)
    for record in [worst, stall(duration=0.1), stall(duration=0.2)]:
        buffer.append(record)

    (group,) = build_groups(buffer.groups(), buffer.recent())

    assert (group.count, group.worst, len(group.rows), group.more) == (3, 0.9, 2, 1)


def test_groups_evicted_from_the_totals_are_rebuilt_from_the_ring() -> None:
    """When more distinct lines stalled than the buffer tracks, kept records still show."""
    buffer = RecordBuffer(maxlen=10, max_groups=1)
    early = stall(blocking_line=CodeLine("a.py", 1, "f", "x()"), duration=0.3)
    buffer.append(early)
    buffer.append(stall(duration=0.1))

    shown = build_groups(buffer.groups(), buffer.recent())

    rebuilt = next(g for g in shown if g.blocking_line == early.blocking_line)
    assert (rebuilt.count, rebuilt.worst) == (1, 0.3)


def test_filters_apply_to_groups_and_rows() -> None:
    """Filtering by view keeps only that view's groups and records."""
    buffer = RecordBuffer()
    for view in ["a.A", "b.B", "a.A"]:
        buffer.append(stall(view=view))

    shown = build_groups(buffer.groups(), buffer.recent(), view="a.A")

    assert [(g.view, g.count, len(g.rows)) for g in shown] == [("a.A", 2, 2)]


def test_call_paths_are_bounded() -> None:
    """However many distinct stacks a group has, only the newest few are rendered."""
    buffer = RecordBuffer()
    for n in range(MAX_CALL_PATHS + 3):
        buffer.append(stall(stack=(CodeLine("caller.py", n, "c", "go()"), SLEEP_LINE)))

    (group,) = build_groups(buffer.groups(), buffer.recent())

    assert len(group.call_paths) == MAX_CALL_PATHS
    assert group.hidden_paths == 3
    assert group.call_paths[0].frames[0]["where"] == f"caller.py:{MAX_CALL_PATHS + 2}"
    assert sum(1 for row in group.rows if row.stack_anchor) == MAX_CALL_PATHS


def test_hints_follow_kind_then_code_then_cause() -> None:
    """The advice names the fix for the call that blocked, falling back to the cause."""
    assert "asyncio.sleep" in hint_text("stall", "io", "time.sleep(1)")
    assert "httpx" in hint_text("stall", "io", "urllib.request.urlopen(url)")
    assert "aget" in hint_text("stall", "io", "Book.objects.get(pk=1)")
    assert "to_thread" in hint_text("stall", "io", "data = open(path).read()")
    assert "ProcessPoolExecutor" in hint_text("stall", "gil", "time.sleep(1)")
    assert "gc.freeze" in hint_text("stall", "gc", "")
    assert "asyncio.sleep(0)" in hint_text("stall", "cpu", "total = crunch(rows)")
    assert "sync_to_async" in hint_text("sync_orm", None, "")


def test_durations_read_naturally() -> None:
    """Sub-second durations in milliseconds, longer ones in seconds."""
    assert [format_seconds(s) for s in (0.0504, 0.999, 1.5, None)] == [
        "50 ms",
        "999 ms",
        "1.50 s",
        "",
    ]
