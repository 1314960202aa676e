"""A flood of records cannot grow loopwatch's memory."""

from __future__ import annotations

import tracemalloc

import loopwatch
from loopwatch import CodeLine, StallRecord

FLOOD = 100_000


def stall_at(number: int) -> StallRecord:
    # Every record at its own line of its own view: the worst case for grouping.
    line = CodeLine(file=f"app/views_{number % 997}.py", line=number, function="get", code="x()")
    return StallRecord(
        view=f"app.views.View{number % 1013}", blocking_line=line, duration=0.06, cause="io"
    )


def test_a_flood_of_records_leaves_buffer_and_groups_at_their_caps() -> None:
    """100k published records leave the ring at its cap and the groups bounded."""
    monitor = loopwatch.install(threshold=0.05, buffer_size=500, log=False)
    try:
        for number in range(FLOOD):
            monitor.publish(stall_at(number))
        assert len(loopwatch.recent_stalls()) == 500
        assert len(monitor.buffer) == monitor.buffer.maxlen == 500
        assert 0 < len(loopwatch.stall_groups()) <= monitor.buffer.max_groups
        newest = loopwatch.recent_stalls()[0]
        assert newest.blocking_line is not None
        assert newest.blocking_line.line == FLOOD - 1
    finally:
        loopwatch.uninstall()


def test_memory_does_not_grow_after_the_caps_are_reached() -> None:
    """Once full, publishing 4x more records allocates (almost) nothing that stays."""
    monitor = loopwatch.install(threshold=0.05, log=False)
    try:
        for number in range(20_000):
            monitor.publish(stall_at(number))
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            for number in range(20_000, FLOOD):
                monitor.publish(stall_at(number))
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # 80k records of ~1 KB each would be ~80 MB; bounded storage keeps it near zero.
        assert after - before < 1_000_000
    finally:
        loopwatch.uninstall()
