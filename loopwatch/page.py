"""What the loopwatch page shows: recent records grouped by kind, view and blocking line.

    >>> groups = build_groups(stall_groups(), recent_stalls(), view="shop.views.Slow")
    >>> groups[0].count, groups[0].worst, groups[0].hint

Counts and worst durations come from the buffer's running totals (they outlive the ring);
causes, delayed requests and the rows with their stacks come from the records still in the
ring. Nothing here renders HTML: the template does that, with autoescaping on.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from loopwatch import stacks
from loopwatch.buffer import Group
from loopwatch.records import (
    CodeLine,
    HeldBy,
    LostExceptionRecord,
    Record,
    StallRecord,
    SyncOrmRecord,
    UnawaitedRecord,
)

KINDS: dict[str, str] = {
    "stall": "stall",
    "sync_orm": "sync ORM call",
    "unawaited": "never awaited",
    "lost_exception": "lost exception",
}
_PLURALS: dict[str, str] = {
    "stall": "stalls",
    "sync_orm": "sync ORM calls",
    "unawaited": "never awaited",
    "lost_exception": "lost exceptions",
}

# A hint is prose with `code` in backticks; `hint_parts` splits it for the template.
_ORM_HINT = (
    "The ORM ran on the event loop. Use the async API (`await Model.objects.aget(...)`, "
    "`acount()`, `async for obj in queryset`) or wrap the block in "
    "`await sync_to_async(func)()`."
)
_CODE_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\btime\.sleep\s*\(|^\s*sleep\s*\("),
        "`time.sleep()` blocks the whole loop: use `await asyncio.sleep(...)`.",
    ),
    (
        re.compile(r"\brequests\.|\burlopen\s*\(|\burllib\.|\bhttp\.client\b|\.getresponse\("),
        "A blocking HTTP call: use an async client (`async with httpx.AsyncClient() as c: "
        "await c.get(...)`) or `await sync_to_async(call)()`.",
    ),
    (
        re.compile(r"\.objects\.|\.save\(|\.delete\(|\bcursor\("),
        _ORM_HINT,
    ),
    (
        re.compile(r"\bopen\s*\(|\.read\w*\(|\.write\w*\(|\bsubprocess\.|\bos\.system\("),
        "Blocking file or process I/O: run it off the loop with "
        "`await asyncio.to_thread(func, ...)` or `await sync_to_async(func)(...)`.",
    ),
)
_CAUSE_HINTS: dict[str, str] = {
    "gil": (
        "The loop waited for the GIL while another thread ran Python code. Make that thread's "
        "work smaller or move it to a process (`ProcessPoolExecutor`)."
    ),
    "gc": (
        "A garbage collection held the loop. Create fewer short-lived objects per request, or "
        "call `gc.freeze()` after start-up so long-lived objects are not scanned again."
    ),
    "cpu": (
        "CPU-bound work on the loop. Move it off with `await asyncio.to_thread(func, ...)` "
        "(a process pool for long computations), or split it and `await asyncio.sleep(0)` "
        "between chunks."
    ),
    "io": (
        "The loop thread waited on blocking I/O. Use the async counterpart of the call, or "
        "`await sync_to_async(func)(...)`."
    ),
    "unknown": (
        "Something held the loop: the stack shows the call. Move it off the loop with "
        "`await sync_to_async(func)(...)` or `await asyncio.to_thread(func, ...)`."
    ),
}
_KIND_HINTS: dict[str, str] = {
    "sync_orm": _ORM_HINT,
    "unawaited": (
        "The coroutine was created but never run. Put `await` in front of the call, or hand "
        "it to `asyncio.create_task(...)` and keep the task."
    ),
    "lost_exception": (
        "A task failed and nobody retrieved its exception. Await the task, or run tasks in an "
        "`asyncio.TaskGroup` so their errors reach the request."
    ),
}


def hint_text(kind: str, cause: str | None, code: str) -> str:
    """What to do about a record: by kind, then by the blocking code, then by cause."""
    if kind in _KIND_HINTS:
        return _KIND_HINTS[kind]
    if cause not in ("gil", "gc"):
        for pattern, text in _CODE_HINTS:
            if pattern.search(code):
                return text
    return _CAUSE_HINTS.get(cause or "unknown", _CAUSE_HINTS["unknown"])


def hint_parts(text: str) -> list[tuple[str, bool]]:
    """(segment, is_code) pairs of a hint: backticked segments are code."""
    return [(part, index % 2 == 1) for index, part in enumerate(text.split("`")) if part]


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


@dataclass(frozen=True)
class Frame:
    line: CodeLine
    user: bool
    blocking: bool


def _absolute(display: str) -> str:
    return display if display.startswith("<") else os.path.abspath(display)


@dataclass(frozen=True)
class Row:
    """One record as the page lists it."""

    record: Record
    seconds: float | None
    duration: str
    at: str
    at_iso: str
    detail: str
    cause: str
    held_by: HeldBy | None
    delayed: int

    @property
    def anchor(self) -> str:
        return f"stall-{self.record.id}"

    @property
    def stack(self) -> list[Frame]:
        """Outermost first, as in a traceback; the user's frames and the blocking line marked."""
        blocking = self.record.blocking_line
        return [
            Frame(line, stacks.is_user_file(_absolute(line.file)), line == blocking)
            for line in self.record.stack
        ]


def _detail(record: Record) -> str:
    if isinstance(record, SyncOrmRecord):
        return record.sql or ""
    if isinstance(record, UnawaitedRecord):
        return record.coroutine
    if isinstance(record, LostExceptionRecord):
        return record.exception
    return ""


def make_row(record: Record) -> Row:
    at = record.at.astimezone(_dt.UTC)
    stall = record if isinstance(record, StallRecord) else None
    seconds = getattr(record, "duration", None)
    return Row(
        record=record,
        seconds=seconds,
        duration=format_seconds(seconds),
        at=at.strftime("%H:%M:%S"),
        at_iso=at.isoformat(timespec="milliseconds"),
        detail=_detail(record),
        cause=stall.cause if stall else "",
        held_by=stall.held_by if stall else None,
        delayed=stall.delayed_requests if stall else 0,
    )


@dataclass
class PageGroup:
    """One problem: every record of one kind, in one view, at one blocking line."""

    kind: str
    view: str
    blocking_line: CodeLine | None
    count: int
    worst: float
    latest: Record
    rows: list[Row] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def worst_text(self) -> str:
        return format_seconds(self.worst) if self.worst > 0 else ""

    @property
    def causes(self) -> list[tuple[str, int]]:
        """(cause, how many) over the retained records, most common first."""
        counted = Counter(row.cause for row in self.rows if row.cause)
        if not counted and isinstance(self.latest, StallRecord):
            counted[self.latest.cause] = 1
        return counted.most_common()

    @property
    def cause(self) -> str | None:
        causes = self.causes
        return causes[0][0] if causes else None

    @property
    def delayed(self) -> int:
        return sum(row.delayed for row in self.rows)

    @property
    def gil_holders(self) -> list[tuple[str, str]]:
        """Distinct (thread, file:line) that held the GIL during these stalls."""
        seen: dict[tuple[str, str], None] = {}
        for row in self.rows:
            if row.held_by is not None:
                line = row.held_by.blocking_line
                seen[(row.held_by.thread, line.where() if line else "an unknown line")] = None
        return list(seen)

    @property
    def outcomes(self) -> list[tuple[str, int]]:
        counted: Counter[str] = Counter(
            row.record.outcome for row in self.rows if isinstance(row.record, SyncOrmRecord)
        )
        return counted.most_common()

    @property
    def detail(self) -> str:
        """The latest SQL, coroutine or exception text of the group."""
        return _detail(self.latest)

    @property
    def hint(self) -> list[tuple[str, bool]]:
        code = self.blocking_line.code if self.blocking_line else ""
        return hint_parts(hint_text(self.kind, self.cause, code))

    @property
    def more(self) -> int:
        """Records counted in this group that have left the ring."""
        return max(self.count - len(self.rows), 0)


def build_groups(
    groups: Iterable[Group],
    records: Sequence[Record],
    *,
    view: str | None = None,
    kind: str | None = None,
) -> list[PageGroup]:
    """Groups in the buffer's order (worst first), each with its retained records, filtered."""

    def wanted(record_kind: str, record_view: str) -> bool:
        return (view is None or record_view == view) and (kind is None or record_kind == kind)

    page: dict[tuple[str, str, str, int], PageGroup] = {}
    for group in groups:
        if wanted(group.kind, group.view):
            latest = group.latest
            page[group.key] = PageGroup(
                group.kind, group.view, latest.blocking_line, group.count, group.worst, latest
            )
    for record in records:  # newest first, so rows are too
        if not wanted(record.kind, record.view):
            continue
        key = record.group_key()
        target = page.get(key)
        if target is None:
            # The buffer evicted this group's totals (too many distinct lines): the records
            # still in the ring rebuild them below.
            target = page[key] = PageGroup(
                record.kind, record.view, record.blocking_line, 0, 0.0, record
            )
        target.rows.append(make_row(record))
    for shown in page.values():
        shown.count = max(shown.count, len(shown.rows))
        shown.worst = max([shown.worst, *(row.seconds or 0.0 for row in shown.rows)])
    return list(page.values())


def views_of(groups: Iterable[Group]) -> list[str]:
    """Every view with at least one group, for the filter's select."""
    return sorted({group.view for group in groups})


def kind_totals(groups: Iterable[Group]) -> list[tuple[str, str, int]]:
    """(kind, label, count) for each kind, in a fixed order."""
    counted: Counter[str] = Counter()
    for group in groups:
        counted[group.kind] += group.count
    return [
        (kind, label if counted[kind] == 1 else _PLURALS[kind], counted[kind])
        for kind, label in KINDS.items()
    ]
